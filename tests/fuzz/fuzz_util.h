// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the libFuzzer targets in tests/fuzz (never installed).
//
//   RPCFORGE_FUZZ_INIT();                     // first thing in LLVMFuzzerTestOneInput
//   rpcforge::fuzz::Finding("filter", e);     // an outcome outside the allowed set
#ifndef RPCFORGE_TESTS_FUZZ_FUZZ_UTIL_H_
#define RPCFORGE_TESTS_FUZZ_FUZZ_UTIL_H_

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <typeinfo>

#include "rpcforge/errors.h"
#include "rpcforge/log.h"

namespace rpcforge::fuzz {

// Finding reports an outcome the target does not allow and aborts, so libFuzzer
// records the input as a crash. `e` is the exception that escaped.
[[noreturn]] inline void Finding(const char* target, const std::exception& e) {
  const auto* error = dynamic_cast<const rpcforge::Error*>(&e);
  std::fprintf(
      stderr, "\n%s: FINDING: %s escaped (%s): %s\n", target, typeid(e).name(),
      error != nullptr ? rpcforge::StatusCodeName(error->code()) : "not an rpcforge::Error",
      e.what());
  std::abort();
}

[[noreturn]] inline void Finding(const char* target, const std::string& what) {
  std::fprintf(stderr, "\n%s: FINDING: %s\n", target, what.c_str());
  std::abort();
}

// QuietLogs turns framework logging off once: libFuzzer runs millions of inputs, and
// a log line per input would dominate the run.
inline void QuietLogs() {
  static const bool done = [] {
    rpcforge::log::SetLevel(rpcforge::log::Level::kOff);
    return true;
  }();
  (void)done;
}

}  // namespace rpcforge::fuzz

#endif  // RPCFORGE_TESTS_FUZZ_FUZZ_UTIL_H_
