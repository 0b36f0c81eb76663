// SPDX-License-Identifier: Apache-2.0
// DatabaseRateLimitStorage on every backend (db/test_backends.h): the window rules of
// the in-memory storage, and exactly L calls per window in total from several
// "instances" (Databases of their own on one database), concurrently.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <sstream>
#include <thread>
#include <vector>

#include "db/test_backends.h"
#include "rpcforge/config/config.h"
#include "rpcforge/db/framework_models.h"
#include "rpcforge/db/migrate.h"
#include "rpcforge/errors.h"
#include "rpcforge/middleware/rate_limit.h"
#include "rpcforge/testing/fake_clock.h"

namespace {

namespace db = ::rpcforge::db;
namespace tmodels = ::rpcforge::db::testmodels;
using ::rpcforge::DatabaseRateLimitStorage;
using ::rpcforge::RateLimitDecision;
using ::rpcforge::testing::FakeClock;
using std::chrono::milliseconds;
using std::chrono::seconds;

class DatabaseRateLimitTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    scratch_ = std::make_unique<tmodels::ScratchDatabase>(GetParam());
    database_ = scratch_->Open();
    db::Registry registry;
    db::RegisterFrameworkApp(registry);
    std::ostringstream out;
    db::Migrate(*database_, registry, out);
  }
  std::unique_ptr<tmodels::ScratchDatabase> scratch_;
  std::unique_ptr<db::Database> database_;
  FakeClock clock_;
};

TEST_P(DatabaseRateLimitTest, AllowsMaxCallsThenTellsWhenToRetry) {
  DatabaseRateLimitStorage storage(*database_);
  std::vector<uint32_t> remaining;
  for (int i = 0; i < 3; ++i) {
    const RateLimitDecision d = storage.TryAcquire("k", 3, seconds(60), clock_);
    ASSERT_TRUE(d.allowed);
    remaining.push_back(d.remaining);
  }
  EXPECT_THAT(remaining, ::testing::ElementsAre(2u, 1u, 0u));
  clock_.Advance(milliseconds(10250));
  const RateLimitDecision d = storage.TryAcquire("k", 3, seconds(60), clock_);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after, milliseconds(49750));
  // Another key has its own window; a binary key is kept byte for byte.
  EXPECT_TRUE(storage.TryAcquire(std::string("k\0x", 3), 1, seconds(60), clock_).allowed);
  EXPECT_FALSE(storage.TryAcquire(std::string("k\0x", 3), 1, seconds(60), clock_).allowed);
  EXPECT_TRUE(storage.TryAcquire(std::string("k\0y", 3), 1, seconds(60), clock_).allowed);
}

TEST_P(DatabaseRateLimitTest, RefusedCallsDoNotMoveTheWindowWhichStartsAgainAtItsEnd) {
  DatabaseRateLimitStorage storage(*database_);
  ASSERT_TRUE(storage.TryAcquire("k", 2, seconds(10), clock_).allowed);
  ASSERT_TRUE(storage.TryAcquire("k", 2, seconds(10), clock_).allowed);
  for (int i = 0; i < 20; ++i) {
    const RateLimitDecision d = storage.TryAcquire("k", 2, seconds(10), clock_);
    ASSERT_FALSE(d.allowed) << i;
    ASSERT_EQ(d.retry_after, milliseconds(10000 - 450 * i)) << i;
    clock_.Advance(milliseconds(450));
  }
  clock_.Advance(milliseconds(1000));  // past the end, 10 s after the first call
  const RateLimitDecision d = storage.TryAcquire("k", 2, seconds(10), clock_);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 1u);
  EXPECT_TRUE(storage.TryAcquire("k", 2, seconds(10), clock_).allowed);
  EXPECT_FALSE(storage.TryAcquire("k", 2, seconds(10), clock_).allowed);
}

TEST_P(DatabaseRateLimitTest, ThreeInstancesTogetherAllowExactlyTheLimit) {
  constexpr int kInstances = 3;
  constexpr int kThreads = 4;
  constexpr int kCalls = 40;
  constexpr uint32_t kLimit = 137;
  std::vector<std::unique_ptr<db::Database>> databases;
  std::vector<std::unique_ptr<DatabaseRateLimitStorage>> storages;
  for (int i = 0; i < kInstances; ++i) {
    databases.push_back(scratch_->Open(4));
    storages.push_back(std::make_unique<DatabaseRateLimitStorage>(*databases.back()));
  }
  std::atomic<int> allowed{0};
  std::promise<void> go;
  std::shared_future<void> start = go.get_future().share();
  std::vector<std::thread> threads;
  for (int i = 0; i < kInstances; ++i) {
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, i] {
        start.wait();
        for (int c = 0; c < kCalls; ++c) {
          if (storages[i]->TryAcquire("shared", kLimit, seconds(60), clock_).allowed) ++allowed;
        }
      });
    }
  }
  go.set_value();
  for (auto& t : threads) t.join();
  EXPECT_EQ(allowed.load(), static_cast<int>(kLimit));  // of 480 attempts
}

TEST_P(DatabaseRateLimitTest, EndedWindowsAreDeletedSoTheTableStaysBounded) {
  DatabaseRateLimitStorage storage(*database_);
  for (int i = 0; i < 1024; ++i) {
    storage.TryAcquire("key" + std::to_string(i), 1, seconds(1), clock_);
    clock_.Advance(milliseconds(10));
  }
  // The 1024th call deleted every window that had ended (those of the first ~924).
  const int64_t rows =
      database_->Query("SELECT COUNT(*) AS n FROM rpcforge_ratelimit")[0]["n"].AsInt();
  EXPECT_LE(rows, 110);
  EXPECT_GE(rows, 90);
}

INSTANTIATE_TEST_SUITE_P(Backends, DatabaseRateLimitTest,
                         ::testing::ValuesIn(tmodels::TestBackends()),
                         [](const auto& info) { return info.param; });

TEST(DatabaseRateLimit, TheDatabaseStorageWithoutADatabaseIsAConfigError) {
  rpcforge::config::v1::Config config;
  config.set_rate_limit_storage(rpcforge::config::v1::RATE_LIMIT_STORAGE_DATABASE);
  try {
    rpcforge::RateLimitMiddleware m(std::make_shared<rpcforge::RateLimiter>(), &config, nullptr,
                                    nullptr);
    FAIL() << "built";
  } catch (const rpcforge::InvalidArgument& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("rate_limit_storage"));
  }
}

}  // namespace
