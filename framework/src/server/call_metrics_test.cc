// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/server/call_metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "rpcforge/server/method.h"

namespace {

using namespace std::chrono_literals;

rpcforge::MethodInfo Method(const std::string& name) {
  rpcforge::MethodInfo m;
  m.full_name = name;
  return m;
}

TEST(CallMetrics, CountsPerMethodAndCodeWithALatencyHistogram) {
  rpcforge::CallMetrics metrics;
  const auto a = Method("/p.S/A");
  const auto b = Method("/p.S/B");
  metrics.Record(a, 0, 200us);  // <= 0.0005
  metrics.Record(a, 0, 3ms);    // <= 0.005
  metrics.Record(a, 5, 20s);    // +Inf
  metrics.Record(b, 99, 1ms);   // an unknown code counts as UNKNOWN
  const auto snap = metrics.Snapshot();
  ASSERT_EQ(snap.size(), 2u);
  EXPECT_EQ(snap[0].method, "/p.S/A");
  EXPECT_EQ(snap[0].by_code[0], 2u);
  EXPECT_EQ(snap[0].by_code[5], 1u);
  EXPECT_EQ(snap[0].total(), 3u);
  EXPECT_EQ(snap[0].bucket_counts[0], 1u);
  EXPECT_EQ(snap[0].bucket_counts[3], 1u);
  EXPECT_EQ(snap[0].bucket_counts.back(), 1u);
  EXPECT_NEAR(snap[0].seconds_total, 20.0032, 1e-6);
  EXPECT_EQ(snap[1].by_code[2], 1u);
  EXPECT_EQ(snap[1].bucket_counts[1], 1u);  // exactly 1 ms is <= 0.001
  metrics.Reset();
  EXPECT_EQ(metrics.Snapshot()[0].total(), 0u);
}

TEST(CallMetrics, ConcurrentRecordsAllCount) {
  rpcforge::CallMetrics metrics;
  std::vector<rpcforge::MethodInfo> methods = {Method("/p.S/A"), Method("/p.S/B")};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 1000; ++i) metrics.Record(methods[(t + i) % 2], 0, 1ms);
    });
  }
  for (auto& th : threads) th.join();
  uint64_t total = 0;
  for (const auto& m : metrics.Snapshot()) total += m.total();
  EXPECT_EQ(total, 4000u);
}

}  // namespace
