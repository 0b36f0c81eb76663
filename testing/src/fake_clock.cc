// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/testing/fake_clock.h"

#include <stdexcept>

namespace rpcforge::testing {

FakeClock::FakeClock() : FakeClock(DefaultStart()) {}

FakeClock::FakeClock(TimePoint start) : now_(start), steady_now_(SteadyStart()) {}

Clock::TimePoint FakeClock::Now() const {
  std::lock_guard<std::mutex> lock(mu_);
  return now_;
}

Clock::SteadyTimePoint FakeClock::SteadyNow() const {
  std::lock_guard<std::mutex> lock(mu_);
  return steady_now_;
}

void FakeClock::Advance(std::chrono::nanoseconds d) {
  if (d < std::chrono::nanoseconds::zero()) {
    throw std::invalid_argument("FakeClock::Advance: negative duration");
  }
  std::lock_guard<std::mutex> lock(mu_);
  now_ += std::chrono::duration_cast<TimePoint::duration>(d);
  steady_now_ += std::chrono::duration_cast<SteadyTimePoint::duration>(d);
}

void FakeClock::Set(TimePoint t) {
  std::lock_guard<std::mutex> lock(mu_);
  now_ = t;
}

}  // namespace rpcforge::testing
