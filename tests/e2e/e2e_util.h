// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the end-to-end tests (real processes over loopback TCP).
#ifndef RPCFORGE_TESTS_E2E_E2E_UTIL_H_
#define RPCFORGE_TESTS_E2E_E2E_UTIL_H_

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <regex>
#include <string>
#include <vector>

namespace rpcforge::e2e {

// kListening matches the line `serve` prints once it accepts calls; group 1 is the
// address.
inline const std::regex kListening("listening on (\\S+)");

// Joined is a process's captured output lines, one per line, for failure messages.
inline std::string Joined(const std::vector<std::string>& lines) {
  std::string all;
  for (const auto& l : lines) all += l + "\n";
  return all;
}

// MigratedDatabase creates and migrates a database file `name` in the test's temporary
// folder with the binary `bin` (`serve` refuses a database with unapplied migrations)
// and returns its path; empty when migrate failed.
inline std::string MigratedDatabase(const std::string& bin, const std::string& name) {
  const std::string path =
      ::testing::TempDir() + "/rpcforge_e2e_" + std::to_string(::getpid()) + "_" + name;
  std::remove(path.c_str());
  const std::string command =
      "'" + bin + "' --log-level error --database '" + path + "' migrate >/dev/null";
  return std::system(command.c_str()) == 0 ? path : std::string();
}

}  // namespace rpcforge::e2e

#endif  // RPCFORGE_TESTS_E2E_E2E_UTIL_H_
