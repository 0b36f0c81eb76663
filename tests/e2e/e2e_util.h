// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the end-to-end tests (real processes over loopback TCP).
#ifndef RPCFORGE_TESTS_E2E_E2E_UTIL_H_
#define RPCFORGE_TESTS_E2E_E2E_UTIL_H_

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

}  // namespace rpcforge::e2e

#endif  // RPCFORGE_TESTS_E2E_E2E_UTIL_H_
