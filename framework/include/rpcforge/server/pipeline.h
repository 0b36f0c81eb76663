// SPDX-License-Identifier: Apache-2.0
// The pipeline: an ordered chain of middlewares around every handler, of every RPC
// kind. A middleware sees the method and the Context, may short-circuit with a status,
// and sees the final status on the way out.
//
//   class Timing : public rpcforge::Middleware {
//    public:
//     grpc::Status Handle(rpcforge::ServerCall& call, rpcforge::Next next) override {
//       auto status = next();           // runs the rest of the chain and the handler
//       Record(call.method().full_name, call.elapsed());
//       return status;
//     }
//   };
//   app.RegisterMiddleware("timing", [](const rpcforge::MiddlewareEnv&) {
//     return std::make_shared<Timing>();
//   });
//
// Errors: whatever a middleware or a handler throws is turned into a status at the
// layer that threw it, by `rpcforge::StatusFromException` (the one mapping), so every
// outer middleware sees a status, never an exception; `call.exception()` keeps the
// original for observers.
#ifndef RPCFORGE_SERVER_PIPELINE_H_
#define RPCFORGE_SERVER_PIPELINE_H_

#include <grpcpp/support/status.h>

#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "rpcforge/clock.h"
#include "rpcforge/context.h"
#include "rpcforge/export.h"
#include "rpcforge/server/internal/function_ref.h"
#include "rpcforge/server/method.h"

namespace google::protobuf {
class Message;
}  // namespace google::protobuf

namespace rpcforge::config::v1 {
class Config;
}  // namespace rpcforge::config::v1

namespace rpcforge {
namespace db {
class Database;
class GroupCommit;
}  // namespace db
class Signals;

// CallStats counts the messages (and, when measured, bytes) a call moved.
struct CallStats {
  uint64_t messages_received = 0;
  uint64_t messages_sent = 0;
  uint64_t bytes_received = 0;  // measured only when `measure_sizes` is set
  uint64_t bytes_sent = 0;
  bool measure_sizes = false;  // a middleware sets it before calling next()
};

// ServerCall is one RPC as the pipeline sees it. Owned by the dispatcher for the
// duration of the call; used by one thread at a time.
class RPCFORGE_EXPORT ServerCall {
 public:
  ServerCall(Context& context, const MethodInfo& method, const google::protobuf::Message* request,
             const Clock& clock);
  ServerCall(const ServerCall&) = delete;
  ServerCall& operator=(const ServerCall&) = delete;

  const MethodInfo& method() const { return method_; }
  Context& context() const { return context_; }

  // request is the request message for unary and server-streaming calls; null for
  // client-streaming and bidi calls (their messages are read by the handler).
  const google::protobuf::Message* request() const { return request_; }

  // started_at is the wall time the call entered the pipeline; elapsed() the steady
  // time since then.
  Clock::TimePoint started_at() const { return started_at_; }
  std::chrono::nanoseconds elapsed() const;

  // request_id is the call's request-log id (set by request_logging before the rest of
  // the chain runs; empty without it), also carried by the call's JSON log lines.
  const std::string& request_id() const { return request_id_; }
  void set_request_id(std::string id) { request_id_ = std::move(id); }

  CallStats& stats() { return stats_; }
  const CallStats& stats() const { return stats_; }

  // RecordReceived / RecordSent count one message (and its size when measured).
  void RecordReceived(const google::protobuf::Message& message);
  void RecordSent(const google::protobuf::Message& message);

  // exception is the first exception a handler or middleware threw, or null.
  std::exception_ptr exception() const { return exception_; }
  void SetException(std::exception_ptr e) {
    if (!exception_) exception_ = std::move(e);
  }

  // RequireCommitted records that the call wrote through `commit` (its log row, its
  // key's usage) with `ticket`; the call is answered only after WaitCommitted, which
  // the dispatcher runs last if no middleware did. In durable mode that waits until
  // the write is committed (a write-behind GroupCommit returns at once).
  void RequireCommitted(db::GroupCommit* commit, uint64_t ticket);
  void WaitCommitted();

 private:
  Context& context_;
  const MethodInfo& method_;
  const google::protobuf::Message* request_;
  const Clock& clock_;
  Clock::TimePoint started_at_;
  Clock::SteadyTimePoint started_steady_;
  CallStats stats_;
  std::string request_id_;
  std::exception_ptr exception_;
  db::GroupCommit* commit_ = nullptr;  // the one GroupCommit a call writes through
  uint64_t commit_ticket_ = 0;         // highest ticket not yet waited for; 0: none
};

class Pipeline;
using HandlerRef = server_internal::FunctionRef<void(ServerCall&)>;

// Next runs the rest of the chain (and finally the handler) and returns its status.
// Never throws. Calling it more than once runs the rest of the chain again; don't.
class RPCFORGE_EXPORT Next {
 public:
  grpc::Status operator()() const;

 private:
  friend class Pipeline;
  Next(const Pipeline* pipeline, size_t index, ServerCall* call, const HandlerRef* handler) noexcept
      : pipeline_(pipeline), index_(index), call_(call), handler_(handler) {}
  const Pipeline* pipeline_;
  size_t index_;
  ServerCall* call_;
  const HandlerRef* handler_;
};

// Middleware is one link of the chain. Instances are shared by all calls, so Handle
// must be thread-safe; keep per-call state on the stack or in the Context.
class RPCFORGE_EXPORT Middleware {
 public:
  virtual ~Middleware();
  // Handle either returns a status without calling `next` (short-circuit), or calls
  // `next()` and returns its status (possibly changed). It may throw an
  // rpcforge::Error instead of returning a status.
  virtual grpc::Status Handle(ServerCall& call, Next next) = 0;

  // Reset forgets what the middleware learned from earlier calls (counters, blocked
  // peers, caches), as if the server had just started. The testing library calls it
  // between tests that share a server, with no call in flight. Default: nothing.
  virtual void Reset() {}

  // Flush writes out what the middleware keeps for later (the request log's queued
  // rows). The server calls it when it stops, once no call is in flight, before its
  // shutdown hooks run. Default: nothing.
  virtual void Flush() {}
};

// MiddlewareEnv is what a middleware factory gets when a server is built. Everything
// it points to outlives the server.
struct MiddlewareEnv {
  const Clock* clock = nullptr;
  db::Database* database = nullptr;  // null when the application has no database
  // The server's group commit on `database` (request-log rows and API-key usage share
  // its transactions); null without a database, or outside a server.
  db::GroupCommit* group_commit = nullptr;
  Signals* signals = nullptr;
  int max_concurrent_rpcs = 0;
  // The application's configuration; null means all defaults.
  const config::v1::Config* config = nullptr;
};

using MiddlewareFactory = std::function<std::shared_ptr<Middleware>(const MiddlewareEnv&)>;

// Pipeline is an immutable ordered chain; thread-safe.
class RPCFORGE_EXPORT Pipeline {
 public:
  explicit Pipeline(std::vector<std::shared_ptr<Middleware>> middlewares = {});

  // Run passes `call` through every middleware and then to `handler`, and returns the
  // final status. The handler's exceptions become statuses here (the one boundary);
  // when the handler returns normally the status is the Context's code/details
  // (SetCode) or OK.
  grpc::Status Run(ServerCall& call, HandlerRef handler) const;

  size_t size() const { return middlewares_.size(); }
  // Reset calls Middleware::Reset on every middleware.
  void Reset() const;
  // Flush calls Middleware::Flush on every middleware, in order.
  void Flush() const;

 private:
  friend class Next;
  grpc::Status Invoke(size_t index, ServerCall& call, const HandlerRef& handler) const;

  std::vector<std::shared_ptr<Middleware>> middlewares_;
};

}  // namespace rpcforge

#endif  // RPCFORGE_SERVER_PIPELINE_H_
