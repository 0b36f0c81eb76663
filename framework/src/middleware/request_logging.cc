// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/middleware/request_logging.h"

#include <google/protobuf/message.h>

#include <chrono>
#include <string>
#include <utility>

#include "core/logging.h"
#include "rpcforge/config/config.h"
#include "rpcforge/db/database.h"
#include "rpcforge/errors.h"
#include "rpcforge/server/peer.h"

namespace rpcforge::logging {

RequestLoggingMiddleware::RequestLoggingMiddleware(std::shared_ptr<RequestLogWriter> writer,
                                                   const Clock* clock)
    : writer_(std::move(writer)), clock_(clock ? clock : &Clock::Real()) {}

RequestLoggingMiddleware::~RequestLoggingMiddleware() = default;

void RequestLoggingMiddleware::Flush() { writer_->Flush(); }

std::shared_ptr<Middleware> RequestLoggingMiddleware::FromEnv(const MiddlewareEnv& env) {
  if (env.database == nullptr) return nullptr;
  const config::v1::Config defaults;
  const config::v1::Config& c = env.config ? *env.config : defaults;
  if (!config::RequestLogEnabled(c)) return nullptr;
  const Clock* clock = env.clock ? env.clock : &Clock::Real();
  const RequestLogOptions options = RequestLogOptions::FromConfig(&c);
  auto writer = env.group_commit != nullptr
                    ? std::make_shared<RequestLogWriter>(*env.group_commit, *clock, options)
                    : std::make_shared<RequestLogWriter>(*env.database, *clock, options);
  return std::make_shared<RequestLoggingMiddleware>(std::move(writer), clock);
}

namespace {

// A cancellation within kDeadlineSlack of the deadline is the deadline (SetOutcome).
constexpr std::chrono::milliseconds kDeadlineSlack{50};

double ToMs(std::chrono::nanoseconds d) { return static_cast<double>(d.count()) / 1e6; }

// SetOutcome sets the code and message a call's row records: the handler's status, unless
// the deadline passed or the client went away first (then what the client saw).
void SetOutcome(const ServerCall& call, const grpc::Status& status, RequestLogEntry* e) {
  const Context& ctx = call.context();
  const MethodInfo& m = call.method();
  grpc::StatusCode code = status.error_code();
  e->error_message = status.error_message();
  const auto deadline_at = ctx.deadline();
  const bool expired = deadline_at && std::chrono::system_clock::now() >= *deadline_at;
  if (expired) {
    // The deadline passed before the answer (which goes out after this row): the
    // client sees DEADLINE_EXCEEDED whatever the handler returned, for instance a
    // stream handler whose reads simply ended. Deadlines are the transport's, in
    // real time.
    code = grpc::StatusCode::DEADLINE_EXCEEDED;
    if (e->error_message.empty() || status.ok()) e->error_message = "Deadline exceeded";
  } else if ((!status.ok() || m.kind == RpcKind::kClientStreaming ||
              m.kind == RpcKind::kBidiStreaming ||
              call.elapsed() >= std::chrono::milliseconds(1)) &&
             ctx.IsCancelled()) {
    // The client went away. grpc's sync IsCancelled() polls the completion queue
    // (tens of microseconds), so it is asked only when the answer can matter: a
    // unary or server-streaming call completed in under a millisecond that the
    // client cancelled meanwhile is logged with the handler's status. A stream the
    // client sends on may have ended only because the client went away.
    // The server's deadline is the client's plus the request's transit, so a client
    // giving up at its deadline cancels before the server's passes: a cancellation
    // within kDeadlineSlack of the deadline is the deadline.
    const bool near_deadline =
        deadline_at && std::chrono::system_clock::now() + kDeadlineSlack >= *deadline_at;
    if (near_deadline || code == grpc::StatusCode::DEADLINE_EXCEEDED) {
      code = grpc::StatusCode::DEADLINE_EXCEEDED;
      if (e->error_message.empty() || status.ok()) e->error_message = "Deadline exceeded";
    } else {
      code = grpc::StatusCode::CANCELLED;
      if (e->error_message.empty() || status.ok()) e->error_message = "Cancelled by the client";
    }
  }
  switch (code) {
    case grpc::StatusCode::OK:
      e->status = "success";
      break;
    case grpc::StatusCode::CANCELLED:
      e->status = "cancelled";
      break;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      e->status = "timeout";
      break;
    default:
      e->status = "error";
  }
  e->code = StatusCodeName(code);
}

// SetWho records the identity (read after the rest of the chain, auth included, ran)
// and the peer.
void SetWho(const Context& ctx, RequestLogEntry* e) {
  if (ctx.user() && ctx.user()->id > 0) e->user_id = ctx.user()->id;
  if (ctx.api_key() && !ctx.api_key()->is_secret_key && ctx.api_key()->id > 0) {
    e->api_key_id = ctx.api_key()->id;
  }
  e->is_authenticated = ctx.is_authenticated();
  e->peer = ctx.peer();
  rpcforge::PeerAddress peer = rpcforge::ParsePeer(e->peer);
  e->peer_host = std::move(peer.host);
  e->peer_port = peer.port;
}

}  // namespace

grpc::Status RequestLoggingMiddleware::Handle(ServerCall& call, Next next) {
  call.stats().measure_sizes = true;
  // The dispatcher counted the request of unary and server-streaming calls before the
  // pipeline ran, so before sizes were measured: add it here.
  const uint64_t bytes_received_before = call.stats().bytes_received;
  try {
    call.set_request_id(NewRequestId());  // before the chain, so its log lines carry it
  } catch (const std::exception& ex) {
    RPCFORGE_LOG_ERROR("request_log", "no request id for {}: {}", call.method().full_name,
                       ex.what());
  }
  grpc::Status status = next();

  RequestLogEntry e;
  try {
    const MethodInfo& m = call.method();
    e.request_id = call.request_id().empty() ? NewRequestId() : call.request_id();
    e.service = m.service;
    e.method = m.method;
    e.full_method = m.full_name;
    SetOutcome(call, status, &e);
    e.duration_ms = ToMs(call.elapsed());
    SetWho(call.context(), &e);
    const CallStats& stats = call.stats();
    e.request_messages = stats.messages_received;
    e.response_messages = stats.messages_sent;
    e.request_size = stats.bytes_received - bytes_received_before +
                     (call.request() ? call.request()->ByteSizeLong() : 0);
    e.response_size = stats.bytes_sent;
    e.created_at = call.started_at();
    e.completed_at = clock_->Now();
    bool journaled = false;
    const uint64_t ticket = writer_->Enqueue(std::move(e), &journaled);
    // Durable: the call is answered only once its row is on disk: journaled, or else
    // committed (then with whatever earlier layers queued, such as its key's usage).
    // A transactional test waits for the commit, so it sees the row at once.
    if (!journaled || writer_->commit().database().pinned()) {
      call.RequireCommitted(&writer_->commit(), ticket);
      call.WaitCommitted();
    }
  } catch (const std::exception& ex) {
    // Logging must never change the outcome of the call.
    RPCFORGE_LOG_ERROR("request_log", "cannot log {}: {}", call.method().full_name, ex.what());
  }
  return status;
}

}  // namespace rpcforge::logging
