// SPDX-License-Identifier: Apache-2.0
// config_fuzzer feeds the input as YAML text to rpcforge::config::LoadString and, when
// it loads without errors, runs config::Validate and, on a valid config, the accessors
// that apply defaults. Checks that the reader never crashes, hangs or throws (it reports every
// problem in LoadResult) and that each error renders with ToString.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string_view>
#include <vector>

#include "fuzz_util.h"
#include "rpcforge/config/config.h"

namespace config = rpcforge::config;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  rpcforge::fuzz::QuietLogs();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    config::LoadResult r = config::LoadString(text, "fuzz.yaml");
    for (const config::ConfigError& e : r.errors) (void)e.ToString();
    if (!r.ok()) return 0;
    const std::vector<config::ConfigError> invalid = config::Validate(r.config, r.locations);
    for (const config::ConfigError& e : invalid) (void)e.ToString();
    // The accessors are specified for validated configs only (Load validates first).
    if (!invalid.empty()) return 0;
    const config::v1::Config& c = r.config;
    (void)config::ListenAddress(c);
    (void)config::MaxWorkers(c);
    (void)config::ShutdownGrace(c);
    (void)config::KeepaliveTime(c);
    (void)config::LoggingLevel(c);
    (void)config::DatabaseBusyTimeout(c);
    (void)config::Middlewares(c);
    (void)config::RequireAuth(c, "fuzz.v1.Service", "Method");
    (void)config::BruteForceWindow(c);
    (void)config::RequestLogRetention(c);
    (void)config::HeartbeatInterval(c);
    for (const auto& rule : c.rate_limits()) {
      config::RateLimitKey key;
      (void)config::ParseRateLimitKey(rule.key(), &key);
      (void)config::RateLimitPeriod(rule);
    }
  } catch (const std::exception& e) {
    rpcforge::fuzz::Finding("config_fuzzer", e);
  }
  return 0;
}
