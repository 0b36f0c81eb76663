// SPDX-License-Identifier: Apache-2.0
// rpcforge::testing::IntegrationRunner: the `app integration-test` command. It proves
// a deployed build works end to end, step by step, against the application's own
// binary started as a child process on a temporary database (never the user's):
//
//   1. descriptors  every registered service's descriptors load; reflection lists
//                   exactly the registered services (plus health and reflection)
//   2. server       the binary serves on a free loopback port, ready by health check
//   3. keys         a test user and API keys (valid, revoked, expiring) are created
//   4. clients      every method answers a call with the key (its own business status
//                   at worst, never an auth status); no key / an invalid, revoked or
//                   expired key (the child's clock moved with libfaketime) /
//                   the secret key get UNAUTHENTICATED exactly where they must
//   5. logs         the request log holds exactly one row per call, with the right
//                   code, user and key, positive durations; the server-status row is
//                   running with a fresh heartbeat
//   6. cleanup      SIGTERM, exit 0, status stopped, temporary database removed
//
// Requests come from the reflection descriptors: `{}` for every method, or the JSON
// object given for "pkg.Service/Method" in the examples file. No gtest dependency.
#ifndef RPCFORGE_TESTING_INTEGRATION_RUNNER_H_
#define RPCFORGE_TESTING_INTEGRATION_RUNNER_H_

#include <chrono>
#include <iosfwd>
#include <string>
#include <vector>

namespace rpcforge {
class App;
namespace config::v1 {
class Config;
}  // namespace config::v1
}  // namespace rpcforge

namespace rpcforge::testing {

struct IntegrationOptions {
  std::string binary;                 // the application binary; empty = this process's binary
  std::string config_file;            // passed to the child with --config (may be empty)
  std::vector<std::string> services;  // full names to exercise; empty = all
  std::string examples_file;          // JSON {"pkg.Service/Method": {...}, ...}
  bool quiet = false;                 // print failures only
  std::string junit_file;             // write JUnit XML here when set
  bool keep = false;                  // keep the temporary directory
  std::chrono::milliseconds ready_timeout{30000};
  std::chrono::milliseconds call_timeout{10000};
};

struct StepResult {
  std::string name;
  bool ok = false;
  std::string summary;                // "4 method(s), 20 calls"
  std::vector<std::string> failures;  // each failing assertion, spelled out
  double seconds = 0;
};

// IntegrationRunner runs the steps once. Not thread-safe; one run per object.
class IntegrationRunner {
 public:
  IntegrationRunner(App& app, const config::v1::Config& config, IntegrationOptions options);
  ~IntegrationRunner();
  IntegrationRunner(const IntegrationRunner&) = delete;
  IntegrationRunner& operator=(const IntegrationRunner&) = delete;

  // Run prints one line per step (✓/✗ with counts; failures spelled out) and the total
  // time to `out`, writes JUnit XML when asked, and returns 0 only when every step
  // passed (1 otherwise). Cleanup runs even when an earlier step failed.
  int Run(std::ostream& out);

  const std::vector<StepResult>& results() const { return results_; }

 private:
  struct State;
  App& app_;
  const config::v1::Config& config_;
  IntegrationOptions options_;
  std::vector<StepResult> results_;
};

// WriteJUnit writes `results` as a JUnit XML test suite named `suite`.
void WriteJUnit(const std::string& path, const std::string& suite,
                const std::vector<StepResult>& results, double total_seconds);

}  // namespace rpcforge::testing

#endif  // RPCFORGE_TESTING_INTEGRATION_RUNNER_H_
