// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/clock.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <type_traits>

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

// Every field is exactly its digits: no sign, no space, no short field.
TEST(Timestamp, ParseRejectsSignsSpacesAndShortFields) {
  Clock::TimePoint t{};
  for (const char* text :
       {"+023-11-14T22:13:20Z", "-023-11-14T22:13:20Z", " 2023-11-14T22:13:20Z",
        "2023-+1-14T22:13:20Z", "2023-11- 4T22:13:20Z", "2023-11-14T-2:13:20Z",
        "2023-11-14T22:13: 0Z", "2023-11-14X22:13:20Z", "2023-11-14T22:13:20+0a:00",
        "2023-11-14T22:13:20+02-00", "2023-11-14T22:13:20ZZ", "2023-11-14T22:13", ""}) {
    EXPECT_FALSE(rpcforge::ParseTimestamp(text, &t)) << text;
  }
  ASSERT_TRUE(rpcforge::ParseTimestamp("2023-11-14t22:13:20-01:30", &t));
  Clock::TimePoint utc{};
  ASSERT_TRUE(rpcforge::ParseTimestamp("2023-11-14T23:43:20Z", &utc));
  EXPECT_EQ(t, utc);
}

// A day the month does not have is no date: 2023-02-30 read as 2 March.
TEST(Timestamp, ParseRejectsDaysTheMonthDoesNotHave) {
  Clock::TimePoint t{};
  for (const char* text : {"2023-02-29T00:00:00Z", "2023-02-30T00:00:00Z", "2023-04-31T00:00:00Z",
                           "2100-02-29T00:00:00Z"}) {
    EXPECT_FALSE(rpcforge::ParseTimestamp(text, &t)) << text;
  }
  for (const char* text : {"2024-02-29T00:00:00Z", "2000-02-29T00:00:00Z", "2023-12-31T00:00:00Z",
                           "2023-04-30T00:00:00Z"}) {
    ASSERT_TRUE(rpcforge::ParseTimestamp(text, &t)) << text;
    EXPECT_EQ(rpcforge::FormatTimestamp(t).substr(0, 10), std::string(text).substr(0, 10));
  }
}

// Years past 2262 overflowed the nanosecond cast (UBSan: signed integer overflow);
// found by tests/fuzz/filter_fuzzer and fixture_fuzzer (datetime values in filters and
// fixtures, corpus regress_datetime_*).
TEST(Timestamp, ParseRejectsTimesTimePointCannotHold) {
  Clock::TimePoint t{std::chrono::seconds(7)};
  const Clock::TimePoint before = t;
  for (const char* text :
       {"9999-12-31T23:59:59Z", "4048-01-01T00:00:00Z", "0001-01-01T00:00:00Z"}) {
    if (std::is_same_v<Clock::TimePoint::duration, std::chrono::nanoseconds>) {
      EXPECT_FALSE(rpcforge::ParseTimestamp(text, &t)) << text;
      EXPECT_EQ(t, before) << text;
    } else if (rpcforge::ParseTimestamp(text, &t)) {
      EXPECT_EQ(rpcforge::FormatTimestamp(t).substr(0, 19), std::string(text).substr(0, 19));
    }
  }
  // The first and last microsecond of the range parse and round-trip.
  const Clock::TimePoint lo{
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::TimePoint::duration::min())};
  const Clock::TimePoint hi{
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::TimePoint::duration::max())};
  for (const Clock::TimePoint edge : {lo, hi}) {
    const std::string text = rpcforge::FormatTimestamp(edge);
    ASSERT_TRUE(rpcforge::ParseTimestamp(text, &t)) << text;
    EXPECT_EQ(t, edge) << text;
  }
  if (std::is_same_v<Clock::TimePoint::duration, std::chrono::nanoseconds>) {
    EXPECT_EQ(rpcforge::FormatTimestamp(hi), "2262-04-11T23:47:16.854775Z");
    EXPECT_FALSE(rpcforge::ParseTimestamp("2262-04-11T23:47:16.854776Z", &t));
    EXPECT_FALSE(rpcforge::ParseTimestamp("1677-09-21T00:12:43.145224Z", &t));
  }
}
