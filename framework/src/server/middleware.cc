// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/server/middleware.h"

#include <google/protobuf/message.h>

#include <algorithm>
#include <string>

#include "core/logging.h"
#include "rpcforge/db/database.h"
#include "rpcforge/db/group_commit.h"
#include "rpcforge/errors.h"

namespace rpcforge {

// --- ServerCall ---------------------------------------------------------------------

ServerCall::ServerCall(Context& context, const MethodInfo& method,
                       const google::protobuf::Message* request, const Clock& clock)
    : context_(context),
      method_(method),
      request_(request),
      clock_(clock),
      started_at_(clock.Now()),
      started_steady_(clock.SteadyNow()) {}

std::chrono::nanoseconds ServerCall::elapsed() const {
  return clock_.SteadyNow() - started_steady_;
}

void ServerCall::RecordReceived(const google::protobuf::Message& message) {
  ++stats_.messages_received;
  if (stats_.measure_sizes) stats_.bytes_received += message.ByteSizeLong();
}

void ServerCall::RecordSent(const google::protobuf::Message& message) {
  ++stats_.messages_sent;
  if (stats_.measure_sizes) stats_.bytes_sent += message.ByteSizeLong();
}

void ServerCall::RequireCommitted(db::GroupCommit* commit, uint64_t ticket) {
  if (commit == nullptr || ticket == 0) return;
  if (commit_ != nullptr && commit_ != commit) commit_->Wait(commit_ticket_);  // another one
  commit_ = commit;
  commit_ticket_ = std::max(commit_ticket_, ticket);
}

void ServerCall::WaitCommitted() {
  if (commit_ == nullptr || commit_ticket_ == 0) return;
  const uint64_t ticket = commit_ticket_;
  commit_ticket_ = 0;
  commit_->Wait(ticket);
}

// --- Pipeline -----------------------------------------------------------------------

Middleware::~Middleware() = default;

Pipeline::Pipeline(std::vector<std::shared_ptr<Middleware>> middlewares)
    : middlewares_(std::move(middlewares)) {}

void Pipeline::Reset() const {
  for (const auto& m : middlewares_) m->Reset();
}

grpc::Status Pipeline::Run(ServerCall& call, HandlerRef handler) const {
  return Invoke(0, call, handler);
}

grpc::Status Next::operator()() const { return pipeline_->Invoke(index_, *call_, *handler_); }

grpc::Status Pipeline::Invoke(size_t index, ServerCall& call, const HandlerRef& handler) const {
  // Every layer converts what it throws, so outer layers only ever see statuses. This
  // is the framework's single exception-to-status boundary (STYLE.md §5).
  try {
    if (index < middlewares_.size()) {
      return middlewares_[index]->Handle(call, Next(this, index + 1, &call, &handler));
    }
    if (call.method().policy.read_only) {
      db::ReadOnlyScope read_only;  // the handler's statements, not the middlewares'
      handler(call);
    } else {
      handler(call);
    }
  } catch (...) {
    std::exception_ptr e = std::current_exception();
    call.SetException(e);
    return StatusFromException(e, call.method().full_name);
  }
  const Context& ctx = call.context();
  if (ctx.code() != grpc::StatusCode::OK) return grpc::Status(ctx.code(), ctx.details());
  return grpc::Status::OK;
}

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

// --- Built-in middlewares -------------------------------------------------------------

MaxConcurrencyMiddleware::MaxConcurrencyMiddleware(int limit) : limit_(limit) {}

grpc::Status MaxConcurrencyMiddleware::Handle(ServerCall& call, Next next) {
  if (limit_ <= 0) return next();
  if (in_flight_.fetch_add(1) >= limit_) {
    in_flight_.fetch_sub(1);
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                        "Server is at its limit of " + std::to_string(limit_) + " concurrent RPCs");
  }
  struct Release {
    std::atomic<int>* counter;
    ~Release() { counter->fetch_sub(1); }
  } release{&in_flight_};
  return next();
}

SignalsMiddleware::SignalsMiddleware(const Signals* signals) : signals_(signals) {}

grpc::Status SignalsMiddleware::Handle(ServerCall& call, Next next) {
  signals_->SendRequestStarted(call);
  grpc::Status status = next();
  if (call.exception()) signals_->SendGotRequestException(call, call.exception(), status);
  signals_->SendRequestFinished(call, status);
  return status;
}

}  // namespace rpcforge
