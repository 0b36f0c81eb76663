// SPDX-License-Identifier: Apache-2.0
// FakeClock is an `rpcforge::Clock` that moves only when a test moves it, so code
// that reads time (key expiry, rate-limit windows, heartbeats, auto_now) can be tested
// without sleeping.
//
//   rpcforge::testing::FakeClock clock;          // 2026-01-01T00:00:00Z
//   auto key = keys.Create(clock, std::chrono::hours(1));
//   clock.Advance(std::chrono::minutes(61));
//   EXPECT_FALSE(keys.IsValid(key));
#ifndef RPCFORGE_TESTING_FAKE_CLOCK_H_
#define RPCFORGE_TESTING_FAKE_CLOCK_H_

#include <chrono>
#include <mutex>

#include "rpcforge/clock.h"

namespace rpcforge::testing {

// FakeClock holds a wall time (`Now`) and a monotonic time (`SteadyNow`) that stay
// still until `Advance` or `Set` moves them. Thread-safe: any thread may read or move
// it. Not copyable. Whoever creates it owns it; it must outlive every component it is
// handed to (the App, a TestServer, a service).
class FakeClock final : public Clock {
 public:
  // kDefaultStart is where a default-constructed FakeClock's wall time starts:
  // 2026-01-01T00:00:00Z (1767225600 seconds after the Unix epoch).
  static constexpr std::chrono::seconds kDefaultStartSinceEpoch{1767225600};
  static TimePoint DefaultStart() { return TimePoint(kDefaultStartSinceEpoch); }

  // SteadyStart is where the monotonic time starts: one day after the steady
  // clock's epoch, so that code treating a zero time point as "never" still works.
  static SteadyTimePoint SteadyStart() { return SteadyTimePoint(std::chrono::hours(24)); }

  // FakeClock starts the wall time at DefaultStart(), or at `start`.
  FakeClock();
  explicit FakeClock(TimePoint start);

  FakeClock(const FakeClock&) = delete;
  FakeClock& operator=(const FakeClock&) = delete;

  TimePoint Now() const override;
  SteadyTimePoint SteadyNow() const override;

  // Advance moves both the wall and the monotonic time forward by `d`.
  // Throws std::invalid_argument for a negative `d` (monotonic time never goes back;
  // use Set to move the wall time backwards).
  void Advance(std::chrono::nanoseconds d);

  // Set moves the wall time to `t`, forwards or backwards, as an NTP step would;
  // the monotonic time is unchanged.
  void Set(TimePoint t);

 private:
  mutable std::mutex mu_;
  TimePoint now_;
  SteadyTimePoint steady_now_;
};

}  // namespace rpcforge::testing

#endif  // RPCFORGE_TESTING_FAKE_CLOCK_H_
