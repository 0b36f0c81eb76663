// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/server/signals.h"

#include <algorithm>
#include <string>

#include "core/logging.h"
#include "rpcforge/server/pipeline.h"

namespace rpcforge {

// --- Signals ------------------------------------------------------------------------

struct Signals::Observers {
  std::vector<std::pair<int, StartedFn>> started;
  std::vector<std::pair<int, FinishedFn>> finished;
  std::vector<std::pair<int, ExceptionFn>> exception;
};

Signals::Signals() : observers_(std::make_shared<Observers>()) {}
Signals::~Signals() = default;

std::shared_ptr<const Signals::Observers> Signals::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return observers_;
}

int Signals::ConnectRequestStarted(StartedFn fn) {
  std::lock_guard<std::mutex> lock(mu_);
  auto copy = std::make_shared<Observers>(*observers_);
  copy->started.emplace_back(next_id_, std::move(fn));
  observers_ = std::move(copy);
  return next_id_++;
}

int Signals::ConnectRequestFinished(FinishedFn fn) {
  std::lock_guard<std::mutex> lock(mu_);
  auto copy = std::make_shared<Observers>(*observers_);
  copy->finished.emplace_back(next_id_, std::move(fn));
  observers_ = std::move(copy);
  return next_id_++;
}

int Signals::ConnectGotRequestException(ExceptionFn fn) {
  std::lock_guard<std::mutex> lock(mu_);
  auto copy = std::make_shared<Observers>(*observers_);
  copy->exception.emplace_back(next_id_, std::move(fn));
  observers_ = std::move(copy);
  return next_id_++;
}

void Signals::Disconnect(int id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto copy = std::make_shared<Observers>(*observers_);
  auto drop = [id](auto& list) {
    for (auto it = list.begin(); it != list.end(); ++it) {
      if (it->first == id) {
        list.erase(it);
        return;
      }
    }
  };
  drop(copy->started);
  drop(copy->finished);
  drop(copy->exception);
  observers_ = std::move(copy);
}

namespace {
template <class Fn, class... Args>
void Notify(const char* signal, const ServerCall& call, const Fn& fn, Args&&... args) {
  try {
    fn(call, std::forward<Args>(args)...);
  } catch (const std::exception& e) {
    RPCFORGE_LOG_ERROR("signals", "{} observer threw for {}: {}", signal, call.method().full_name,
                       e.what());
  } catch (...) {
    RPCFORGE_LOG_ERROR("signals", "{} observer threw for {}", signal, call.method().full_name);
  }
}
}  // namespace

void Signals::SendRequestStarted(const ServerCall& call) const {
  auto observers = Snapshot();
  for (const auto& [id, fn] : observers->started) Notify("request_started", call, fn);
}

void Signals::SendRequestFinished(const ServerCall& call, const grpc::Status& status) const {
  auto observers = Snapshot();
  for (const auto& [id, fn] : observers->finished) Notify("request_finished", call, fn, status);
}

void Signals::SendGotRequestException(const ServerCall& call, std::exception_ptr e,
                                      const grpc::Status& status) const {
  auto observers = Snapshot();
  for (const auto& [id, fn] : observers->exception) {
    Notify("got_request_exception", call, fn, e, status);
  }
}

}  // namespace rpcforge
