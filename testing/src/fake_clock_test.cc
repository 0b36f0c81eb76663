// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/testing/fake_clock.h"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

using rpcforge::testing::FakeClock;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(FakeClockTest, StartsAtDocumentedTime) {
  FakeClock clock;
  EXPECT_EQ(rpcforge::FormatTimestamp(clock.Now()), "2026-01-01T00:00:00.000000Z");
  EXPECT_EQ(clock.Now(), FakeClock::DefaultStart());
  EXPECT_EQ(clock.SteadyNow(), FakeClock::SteadyStart());
}

TEST(FakeClockTest, StartsAtGivenTime) {
  rpcforge::Clock::TimePoint t;
  ASSERT_TRUE(rpcforge::ParseTimestamp("2030-06-15T12:00:00Z", &t));
  FakeClock clock(t);
  EXPECT_EQ(clock.Now(), t);
}

TEST(FakeClockTest, StandsStillUntilMoved) {
  FakeClock clock;
  auto a = clock.Now();
  auto s = clock.SteadyNow();
  EXPECT_EQ(clock.Now(), a);
  EXPECT_EQ(clock.SteadyNow(), s);
}

TEST(FakeClockTest, AdvanceMovesWallAndSteady) {
  FakeClock clock;
  auto wall = clock.Now();
  auto steady = clock.SteadyNow();
  clock.Advance(seconds(90));
  clock.Advance(milliseconds(5));
  EXPECT_EQ(clock.Now() - wall, milliseconds(90005));
  EXPECT_EQ(clock.SteadyNow() - steady, milliseconds(90005));
  EXPECT_EQ(rpcforge::FormatTimestamp(clock.Now()), "2026-01-01T00:01:30.005000Z");
}

TEST(FakeClockTest, AdvanceRejectsNegative) {
  FakeClock clock;
  EXPECT_THROW(clock.Advance(seconds(-1)), std::invalid_argument);
  EXPECT_EQ(clock.Now(), FakeClock::DefaultStart());
}

TEST(FakeClockTest, SetMovesWallOnlyEitherWay) {
  FakeClock clock;
  auto steady = clock.SteadyNow();
  clock.Set(FakeClock::DefaultStart() + hours(48));
  EXPECT_EQ(clock.Now(), FakeClock::DefaultStart() + hours(48));
  clock.Set(FakeClock::DefaultStart() - hours(1));
  EXPECT_EQ(clock.Now(), FakeClock::DefaultStart() - hours(1));
  EXPECT_EQ(clock.SteadyNow(), steady);
}

TEST(FakeClockTest, UsableThroughClockInterface) {
  FakeClock fake;
  rpcforge::Clock& clock = fake;
  fake.Advance(hours(1));
  EXPECT_EQ(clock.Now(), FakeClock::DefaultStart() + hours(1));
}

TEST(FakeClockTest, ThreadSafeAdvance) {
  FakeClock clock;
  constexpr int kThreads = 4;
  constexpr int kSteps = 1000;
  std::vector<std::thread> threads;
  std::atomic<bool> went_back{false};
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      auto last = clock.SteadyNow();
      for (int j = 0; j < kSteps; ++j) {
        clock.Advance(milliseconds(1));
        auto now = clock.SteadyNow();
        if (now < last) went_back = true;
        last = now;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_FALSE(went_back);
  EXPECT_EQ(clock.Now() - FakeClock::DefaultStart(), milliseconds(kThreads * kSteps));
}
