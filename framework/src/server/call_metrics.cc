// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/server/call_metrics.h"

#include <algorithm>
#include <mutex>

#include "rpcforge/server/method.h"

namespace rpcforge {

struct CallMetrics::Entry {
  std::array<std::atomic<uint64_t>, kCodes> by_code{};
  std::array<std::atomic<uint64_t>, kLatencyBuckets.size() + 1> buckets{};
  std::atomic<uint64_t> nanos{0};
};

CallMetrics::CallMetrics() = default;
CallMetrics::~CallMetrics() = default;

uint64_t CallMetrics::MethodCounts::total() const {
  uint64_t n = 0;
  for (uint64_t c : by_code) n += c;
  return n;
}

CallMetrics::Entry& CallMetrics::EntryFor(const MethodInfo& method) {
  {
    std::shared_lock<std::shared_mutex> lock(mu_);
    auto it = entries_.find(method.full_name);
    if (it != entries_.end()) return *it->second;
  }
  std::unique_lock<std::shared_mutex> lock(mu_);
  auto& slot = entries_[method.full_name];
  if (!slot) slot = std::make_unique<Entry>();
  return *slot;
}

void CallMetrics::Record(const MethodInfo& method, int code, std::chrono::nanoseconds elapsed) {
  Entry& e = EntryFor(method);
  if (code < 0 || code >= kCodes) code = 2;  // UNKNOWN
  e.by_code[static_cast<size_t>(code)].fetch_add(1, std::memory_order_relaxed);
  const double seconds = std::chrono::duration<double>(elapsed).count();
  const auto bucket = static_cast<size_t>(
      std::lower_bound(kLatencyBuckets.begin(), kLatencyBuckets.end(), seconds) -
      kLatencyBuckets.begin());
  e.buckets[bucket].fetch_add(1, std::memory_order_relaxed);
  e.nanos.fetch_add(static_cast<uint64_t>(std::max<int64_t>(0, elapsed.count())),
                    std::memory_order_relaxed);
}

std::vector<CallMetrics::MethodCounts> CallMetrics::Snapshot() const {
  std::vector<MethodCounts> out;
  std::shared_lock<std::shared_mutex> lock(mu_);
  for (const auto& [method, e] : entries_) {
    MethodCounts m;
    m.method = method;
    for (size_t i = 0; i < m.by_code.size(); ++i) m.by_code[i] = e->by_code[i].load();
    for (size_t i = 0; i < m.bucket_counts.size(); ++i) m.bucket_counts[i] = e->buckets[i].load();
    m.seconds_total = static_cast<double>(e->nanos.load()) / 1e9;
    out.push_back(std::move(m));
  }
  std::sort(out.begin(), out.end(),
            [](const MethodCounts& a, const MethodCounts& b) { return a.method < b.method; });
  return out;
}

void CallMetrics::Reset() {
  // Zeroed, not erased: a Record on another thread may hold its entry.
  std::unique_lock<std::shared_mutex> lock(mu_);
  for (auto& [method, e] : entries_) {
    for (auto& c : e->by_code) c.store(0);
    for (auto& b : e->buckets) b.store(0);
    e->nanos.store(0);
  }
}

}  // namespace rpcforge
