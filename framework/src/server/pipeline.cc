// SPDX-License-Identifier: Apache-2.0
// ServerCall, Next and Pipeline::Invoke: one call through the middlewares.
#include "rpcforge/server/pipeline.h"

#include <google/protobuf/message.h>

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

void Pipeline::Flush() const {
  for (const auto& m : middlewares_) m->Flush();
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

}  // namespace rpcforge
