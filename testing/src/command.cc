// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/testing/command.h"

#include <sstream>

namespace rpcforge::testing {

CommandResult RunCommand(App& app, const std::vector<std::string>& args) {
  std::ostringstream out, err;
  CommandResult result;
  result.exit_code = app.Run(args, out, err);
  result.out = out.str();
  result.err = err.str();
  return result;
}

}  // namespace rpcforge::testing
