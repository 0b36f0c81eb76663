// SPDX-License-Identifier: Apache-2.0
// rpcforge::Clock is how every part of the framework reads the time, so tests can
// replace it (rpcforge::testing::FakeClock) and move time at will.
//
//   rpcforge::Clock& clock = rpcforge::Clock::Real();
//   auto created = clock.Now();                  // UTC wall time
//   auto started = clock.SteadyNow();            // for durations
#ifndef RPCFORGE_CLOCK_H_
#define RPCFORGE_CLOCK_H_

#include <chrono>
#include <cstdint>
#include <string>

#include "rpcforge/export.h"

namespace rpcforge {

// Clock is the source of wall time (`Now`, UTC) and of monotonic time (`SteadyNow`).
// Implementations are thread-safe: any thread may read the time at any moment.
// Clocks are owned by whoever creates them (the `App`, a test) and must outlive every
// component they are handed to; `Real()` lives for the whole process.
class RPCFORGE_EXPORT Clock {
 public:
  using TimePoint = std::chrono::system_clock::time_point;
  using SteadyTimePoint = std::chrono::steady_clock::time_point;

  virtual ~Clock() = default;

  // Now returns the current UTC wall time.
  virtual TimePoint Now() const = 0;

  // SteadyNow returns a monotonic time for measuring durations and timeouts.
  virtual SteadyTimePoint SteadyNow() const = 0;

  // Real returns the process-wide clock backed by the system clocks.
  static Clock& Real();
};

// FormatTimestamp renders `t` as RFC 3339 UTC with microseconds,
// e.g. "2026-11-22T04:21:45.123456Z"; the database stores datetimes in this form.
RPCFORGE_EXPORT std::string FormatTimestamp(Clock::TimePoint t);

// ParseTimestamp parses the RFC 3339 forms FormatTimestamp writes (fraction optional,
// "Z" or "+00:00" offset). Returns false and leaves `*out` unchanged on bad input,
// including a time TimePoint cannot represent (with libstdc++'s 64-bit nanoseconds,
// before 1677-09-21T00:12:43.145225Z or after 2262-04-11T23:47:16.854775Z).
RPCFORGE_EXPORT bool ParseTimestamp(const std::string& text, Clock::TimePoint* out);

// IsCalendarDate says whether `day` exists in `month` (1-12) of `year` in the proleptic
// Gregorian calendar: 2024-02-29 does, 2023-02-29 and 2023-04-31 do not.
RPCFORGE_EXPORT bool IsCalendarDate(int year, int month, int day);

}  // namespace rpcforge

#endif  // RPCFORGE_CLOCK_H_
