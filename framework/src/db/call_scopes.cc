// SPDX-License-Identifier: Apache-2.0
// Per-thread call scopes: CallInterrupt (deadline and cancellation) and ReadOnlyScope.
#include <algorithm>

#include "db/pool.h"
#include "rpcforge/errors.h"

namespace rpcforge::db {
namespace {

thread_local CallInterrupt* t_interrupt = nullptr;
thread_local int t_read_only_depth = 0;

constexpr std::chrono::milliseconds kCancelPollInterval{10};

}  // namespace

namespace db_internal {

[[noreturn]] void ThrowInterrupted(CallInterrupt::Reason reason) {
  if (reason == CallInterrupt::Reason::kCancelled) {
    throw Cancelled("The call was cancelled during database work");
  }
  throw DeadlineExceeded("Deadline exceeded during database work");
}

std::chrono::steady_clock::time_point WaitSlice(std::chrono::steady_clock::time_point limit) {
  if (t_interrupt == nullptr) return limit;
  auto until = std::min(limit, std::chrono::steady_clock::now() + kCancelPollInterval * 2);
  if (auto d = CallInterrupt::CurrentDeadline()) until = std::min(until, *d);
  return until;
}

}  // namespace db_internal

using db_internal::ThrowInterrupted;

// --- CallInterrupt -------------------------------------------------------------------

CallInterrupt::CallInterrupt(std::optional<SteadyTime> deadline, std::function<bool()> cancelled)
    : deadline_(deadline),
      cancelled_(std::move(cancelled)),
      next_poll_(std::chrono::steady_clock::now() + kCancelPollInterval),
      outer_(t_interrupt) {
  t_interrupt = this;
}

CallInterrupt::~CallInterrupt() { t_interrupt = outer_; }

CallInterrupt::Reason CallInterrupt::Poll() {
  CallInterrupt* self = t_interrupt;
  if (self == nullptr) return Reason::kNone;
  if (self->reason_ != Reason::kNone) return self->reason_;
  const auto now = std::chrono::steady_clock::now();
  if (self->deadline_ && now >= *self->deadline_) {
    self->reason_ = Reason::kDeadline;
  } else if (self->cancelled_ && now >= self->next_poll_) {
    self->next_poll_ = now + kCancelPollInterval;
    if (self->cancelled_()) self->reason_ = Reason::kCancelled;
  }
  return self->reason_;
}

void CallInterrupt::Check() {
  if (const Reason reason = Poll(); reason != Reason::kNone) ThrowInterrupted(reason);
}

std::optional<CallInterrupt::SteadyTime> CallInterrupt::CurrentDeadline() {
  return t_interrupt == nullptr ? std::nullopt : t_interrupt->deadline_;
}

CallInterrupt::Suspended::Suspended() : saved_(t_interrupt) { t_interrupt = nullptr; }
CallInterrupt::Suspended::~Suspended() { t_interrupt = saved_; }

// --- ReadOnlyScope -------------------------------------------------------------------

ReadOnlyScope::ReadOnlyScope() { ++t_read_only_depth; }
ReadOnlyScope::~ReadOnlyScope() { --t_read_only_depth; }
bool ReadOnlyScope::active() { return t_read_only_depth > 0; }
ReadOnlyScope::Suspended::Suspended() : saved_(t_read_only_depth) { t_read_only_depth = 0; }
ReadOnlyScope::Suspended::~Suspended() { t_read_only_depth = saved_; }

}  // namespace rpcforge::db
