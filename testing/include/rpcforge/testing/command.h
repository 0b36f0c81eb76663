// SPDX-License-Identifier: Apache-2.0
// rpcforge::testing::RunCommand runs an application's command line in-process and
// captures what it prints, for tests of commands (yours or the framework's).
//
//   auto r = rpcforge::testing::RunCommand(app, {"--database", path, "migrate"});
//   EXPECT_EQ(r.exit_code, 0) << r.err;
//   EXPECT_THAT(r.out, HasSubstr("Applying"));
#ifndef RPCFORGE_TESTING_COMMAND_H_
#define RPCFORGE_TESTING_COMMAND_H_

#include <string>
#include <vector>

#include "rpcforge/app.h"

namespace rpcforge::testing {

// CommandResult is what one command printed and returned.
struct CommandResult {
  int exit_code = -1;
  std::string out;  // standard output
  std::string err;  // standard error
};

// RunCommand runs `args` (without the program name) with `app` and returns the exit
// code and output. Not thread-safe with respect to the process environment (the
// command reads RPCFORGE_* variables).
CommandResult RunCommand(App& app, const std::vector<std::string>& args);

}  // namespace rpcforge::testing

#endif  // RPCFORGE_TESTING_COMMAND_H_
