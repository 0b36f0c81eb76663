// SPDX-License-Identifier: Apache-2.0
// rpcforge::Dispatcher runs one call: it builds the request's Context over the
// grpc::ServerContext, passes the call through the Pipeline, waits for a worker slot,
// calls the handler and returns the status. Generated adapters call it; applications
// rarely touch it directly (the Server and the TestServer create it).
#ifndef RPCFORGE_SERVER_DISPATCHER_H_
#define RPCFORGE_SERVER_DISPATCHER_H_

#include <grpcpp/support/status.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "rpcforge/clock.h"
#include "rpcforge/export.h"
#include "rpcforge/limits.h"
#include "rpcforge/server/call_metrics.h"
#include "rpcforge/server/method.h"
#include "rpcforge/server/middleware.h"

namespace grpc {
class ServerContextBase;
}  // namespace grpc

namespace google::protobuf {
class Message;
}  // namespace google::protobuf

namespace rpcforge {
namespace db {
class Database;
}  // namespace db

// DispatcherOptions: everything a dispatcher needs; the pointers must outlive it.
struct DispatcherOptions {
  std::shared_ptr<const Pipeline> pipeline;  // null = no middlewares
  const Clock* clock = nullptr;              // null = Clock::Real()
  db::Database* database = nullptr;          // handed to every Context; may be null
  // max_workers bounds how many handlers run at once; calls beyond it wait (until
  // their deadline or cancellation) for a slot. 0 = unbounded.
  int max_workers = 0;
  // limits are handed to every Context (Context::limits()).
  InputLimits limits;
  // access_log: log one info line per finished call (logger "access") with its method,
  // code and duration; in the json format these are fields of the line.
  bool access_log = false;
};

// Dispatcher is thread-safe: every gRPC worker thread calls Dispatch concurrently.
class RPCFORGE_EXPORT Dispatcher {
 public:
  explicit Dispatcher(DispatcherOptions options);
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;
  ~Dispatcher();

  // Dispatch runs `handler` for one call through the pipeline and returns the status
  // to send. `request` is the request of unary and server-streaming calls, else null.
  // Never throws.
  grpc::Status Dispatch(grpc::ServerContextBase* server_context, const MethodInfo& method,
                        const google::protobuf::Message* request, HandlerRef handler);

  // busy_workers is the number of handlers running now.
  int busy_workers() const;
  // active_calls is the number of calls inside Dispatch now (in the pipeline, waiting
  // for a worker, or in their handler).
  int active_calls() const { return active_.load(std::memory_order_acquire); }
  // metrics counts the finished calls per method and code, with their latencies.
  CallMetrics& metrics() { return metrics_; }
  const CallMetrics& metrics() const { return metrics_; }
  // WaitIdle waits, at most `timeout`, until no call is inside Dispatch; returns
  // whether none is.
  bool WaitIdle(std::chrono::milliseconds timeout) const;
  // ResetPipeline calls Middleware::Reset on every middleware of the pipeline and
  // zeroes the call metrics (a shared test server, between tests).
  void ResetPipeline() {
    options_.pipeline->Reset();
    metrics_.Reset();
  }

  // DescribeMethods builds the MethodInfo list of `service` (a full protobuf name) from
  // the generated descriptor pool. Used by generated code; the result lives forever.
  struct MethodSpec {
    const char* name;
    RpcKind kind;
  };
  static const std::vector<MethodInfo>* DescribeMethods(const char* service,
                                                        std::initializer_list<MethodSpec> specs);

 private:
  class WorkerSlot;
  DispatcherOptions options_;
  mutable std::mutex mu_;
  std::condition_variable slot_freed_;
  int busy_ = 0;
  std::atomic<int> active_{0};
  CallMetrics metrics_;
};

}  // namespace rpcforge

#endif  // RPCFORGE_SERVER_DISPATCHER_H_
