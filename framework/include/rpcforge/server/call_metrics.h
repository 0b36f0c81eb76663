// SPDX-License-Identifier: Apache-2.0
// rpcforge::CallMetrics counts the calls a Dispatcher ran, per method and status code,
// with a latency histogram per method, for the admin port's Prometheus /metrics.
//
//   for (const auto& m : server.dispatcher().metrics().Snapshot()) {
//     m.method;                  // "/blog.v1.PostController/Create"
//     m.by_code[0];              // OK calls
//     m.bucket_counts[i];        // calls that took at most kLatencyBuckets[i] seconds
//   }
#ifndef RPCFORGE_SERVER_CALL_METRICS_H_
#define RPCFORGE_SERVER_CALL_METRICS_H_

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "rpcforge/export.h"

namespace rpcforge {

struct MethodInfo;

// CallMetrics is thread-safe; Record costs a shared lock and a few relaxed atomic adds.
class RPCFORGE_EXPORT CallMetrics {
 public:
  // kLatencyBuckets are the histogram's upper bounds in seconds (Prometheus' `le`);
  // a last, implicit bucket is +Inf.
  static constexpr std::array<double, 14> kLatencyBuckets = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  static constexpr int kCodes = 17;  // grpc::StatusCode OK (0) .. UNAUTHENTICATED (16)

  CallMetrics();
  ~CallMetrics();
  CallMetrics(const CallMetrics&) = delete;
  CallMetrics& operator=(const CallMetrics&) = delete;

  // Record counts one finished call of `method` with status `code` (0..16; others
  // count as UNKNOWN) that took `elapsed`.
  void Record(const MethodInfo& method, int code, std::chrono::nanoseconds elapsed);

  // MethodCounts is one method's counts at one moment.
  struct MethodCounts {
    std::string method;  // the full method, "/pkg.Service/Method"
    std::array<uint64_t, kCodes> by_code{};
    // bucket_counts[i]: calls that took <= kLatencyBuckets[i] (not cumulative); the
    // last element counts the rest (+Inf).
    std::array<uint64_t, kLatencyBuckets.size() + 1> bucket_counts{};
    double seconds_total = 0;
    uint64_t total() const;
  };
  // Snapshot returns every method that had a call (since the start; after Reset with
  // zero counts), sorted by method.
  std::vector<MethodCounts> Snapshot() const;

  // Reset forgets every count (tests that share a server).
  void Reset();

 private:
  struct Entry;
  Entry& EntryFor(const MethodInfo& method);

  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, std::unique_ptr<Entry>> entries_;  // by full method
};

}  // namespace rpcforge

#endif  // RPCFORGE_SERVER_CALL_METRICS_H_
