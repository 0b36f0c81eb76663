// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/clock.h"

#include <gtest/gtest.h>

using rpcforge::Clock;

TEST(Clock, RealClockMovesForward) {
  auto a = Clock::Real().SteadyNow();
  auto b = Clock::Real().SteadyNow();
  EXPECT_LE(a, b);
}

TEST(Timestamp, FormatsUtcWithMicroseconds) {
  Clock::TimePoint t{std::chrono::microseconds(1700000000123456LL)};
  EXPECT_EQ(rpcforge::FormatTimestamp(t), "2023-11-14T22:13:20.123456Z");
  EXPECT_EQ(rpcforge::FormatTimestamp(Clock::TimePoint{}), "1970-01-01T00:00:00.000000Z");
}

TEST(Timestamp, FormatsTimesBeforeTheEpoch) {
  Clock::TimePoint t{std::chrono::microseconds(-1)};
  EXPECT_EQ(rpcforge::FormatTimestamp(t), "1969-12-31T23:59:59.999999Z");
}

TEST(Timestamp, ParseRoundTripsFormat) {
  Clock::TimePoint t{std::chrono::microseconds(1700000000123456LL)};
  Clock::TimePoint parsed;
  ASSERT_TRUE(rpcforge::ParseTimestamp(rpcforge::FormatTimestamp(t), &parsed));
  EXPECT_EQ(parsed, t);
}

TEST(Timestamp, ParseAcceptsOffsetsAndNoFraction) {
  Clock::TimePoint a, b;
  ASSERT_TRUE(rpcforge::ParseTimestamp("2023-11-14T22:13:20Z", &a));
  ASSERT_TRUE(rpcforge::ParseTimestamp("2023-11-15T00:13:20+02:00", &b));
  EXPECT_EQ(a, b);
  ASSERT_TRUE(rpcforge::ParseTimestamp("2023-11-14 22:13:20", &b));
  EXPECT_EQ(a, b);
}

TEST(Timestamp, ParseRejectsGarbage) {
  Clock::TimePoint t{};
  const Clock::TimePoint before = t;
  EXPECT_FALSE(rpcforge::ParseTimestamp("yesterday", &t));
  EXPECT_FALSE(rpcforge::ParseTimestamp("2023-13-01T00:00:00Z", &t));
  EXPECT_FALSE(rpcforge::ParseTimestamp("2023-11-14T22:13:20.Z", &t));
  EXPECT_FALSE(rpcforge::ParseTimestamp("2023-11-14T22:13:20+2", &t));
  EXPECT_EQ(t, before);
}
