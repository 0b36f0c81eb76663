// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/server/dispatcher.h"

#include <google/protobuf/descriptor.h>
#include <grpcpp/server_context.h>

#include <chrono>
#include <thread>

#include "core/logging.h"
#include "rpcforge/db/database.h"
#include "rpcforge/errors.h"
#include "rpcforge/server/internal/tsan.h"
#include "server/call_state.h"
#include "server/server_context.h"

namespace rpcforge {

// WorkerSlot holds one of `max_workers` handler slots for its scope. Waiting is
// bounded by the call's deadline and ends early when the client cancels.
class Dispatcher::WorkerSlot {
 public:
  WorkerSlot(Dispatcher* d, const Context& ctx) : d_(d) {
    if (d_->options_.max_workers <= 0) {
      std::lock_guard<std::mutex> lock(d_->mu_);
      ++d_->busy_;
      return;
    }
    std::unique_lock<std::mutex> lock(d_->mu_);
    const auto deadline = ctx.deadline();
    while (d_->busy_ >= d_->options_.max_workers) {
      if (ctx.IsCancelled()) throw Cancelled("Cancelled while waiting for a worker");
      if (deadline && std::chrono::system_clock::now() >= *deadline) {
        throw DeadlineExceeded("Deadline exceeded while waiting for a worker");
      }
      // Wake up periodically to notice cancellation, which nothing signals here.
      d_->slot_freed_.wait_for(lock, std::chrono::milliseconds(20));
    }
    ++d_->busy_;
  }
  ~WorkerSlot() {
    {
      std::lock_guard<std::mutex> lock(d_->mu_);
      --d_->busy_;
    }
    d_->slot_freed_.notify_one();
  }
  WorkerSlot(const WorkerSlot&) = delete;
  WorkerSlot& operator=(const WorkerSlot&) = delete;

 private:
  Dispatcher* d_;
};

Dispatcher::Dispatcher(DispatcherOptions options) : options_(std::move(options)) {
  if (!options_.pipeline) options_.pipeline = std::make_shared<Pipeline>();
  if (!options_.clock) options_.clock = &Clock::Real();
}

Dispatcher::~Dispatcher() = default;

bool Dispatcher::WaitIdle(std::chrono::milliseconds timeout) const {
  const auto until = std::chrono::steady_clock::now() + timeout;
  // Polls: idle is what a test expects, so the first look usually settles it.
  while (active_calls() > 0) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

int Dispatcher::busy_workers() const {
  std::lock_guard<std::mutex> lock(mu_);
  return busy_;
}

grpc::Status Dispatcher::Dispatch(grpc::ServerContextBase* server_context, const MethodInfo& method,
                                  const google::protobuf::Message* request, HandlerRef handler) {
  server_internal::TsanAcquire();
  active_.fetch_add(1, std::memory_order_acq_rel);
  struct OnReturn {
    std::atomic<int>* active;
    ~OnReturn() {
      active->fetch_sub(1, std::memory_order_acq_rel);
      server_internal::TsanRelease();
    }
  } on_return{&active_};
  try {
    server_internal::ServerContextImpl ctx(server_context);
    context_internal::CallState::SetEnvironment(ctx, &method, options_.clock, options_.database,
                                                &options_.limits);
    ServerCall call(ctx, method, request, *options_.clock);
    // JSON log lines written during the call say which call they belong to.
    struct Fields final : log::CallFields {
      explicit Fields(const ServerCall& c) : call(c) {}
      void Append(std::string* json) const override {
        log::AppendJsonField(json, "method", call.method().full_name);
        log::AppendJsonField(json, "peer", call.context().peer());
        if (!call.request_id().empty()) log::AppendJsonField(json, "request_id", call.request_id());
        log::AppendJsonField(json, "duration_ms",
                             static_cast<double>(call.elapsed().count()) / 1e6);
        if (code != nullptr) log::AppendJsonField(json, "code", StatusCodeName(*code));
      }
      const ServerCall& call;
      const grpc::StatusCode* code = nullptr;  // set once the call has its status
    } fields(call);
    log::CallScope log_scope(&fields);
    if (request != nullptr) call.RecordReceived(*request);
    grpc::Status status = options_.pipeline->Run(call, [&](ServerCall& c) {
      WorkerSlot slot(this, c.context());
      if (options_.database == nullptr) {
        handler(c);
        return;
      }
      // Database work stops when the client gives up or the deadline passes.
      const Context& context = c.context();
      std::optional<std::chrono::steady_clock::time_point> deadline;
      if (const auto d = context.deadline()) {
        deadline = std::chrono::steady_clock::now() +
                   std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                       *d - std::chrono::system_clock::now());
      }
      db::CallInterrupt interrupt(deadline, [&context] { return context.IsCancelled(); });
      // Connection hygiene: whatever the handler leaves open on this thread is rolled
      // back and its connection returned, also inside a pinned test transaction.
      db::Database::RequestScope scope(*options_.database);
      handler(c);
    });
    // Writes queued for the call and not yet waited for (auth's usage count when no
    // request log runs) are committed before the answer.
    call.WaitCommitted();
    metrics_.Record(method, static_cast<int>(status.error_code()), call.elapsed());
    if (options_.access_log) {
      const grpc::StatusCode code = status.error_code();
      fields.code = &code;
      RPCFORGE_LOG_INFO("access", "{} {} {:.3f} ms", method.full_name, StatusCodeName(code),
                        static_cast<double>(call.elapsed().count()) / 1e6);
    }
    return status;
  } catch (...) {
    // Only reachable if building the call itself failed (e.g. out of memory).
    return StatusFromException(std::current_exception(), method.full_name);
  }
}

const std::vector<MethodInfo>* Dispatcher::DescribeMethods(
    const char* service, std::initializer_list<MethodSpec> specs) {
  const auto* pool = google::protobuf::DescriptorPool::generated_pool();
  const google::protobuf::ServiceDescriptor* sd = pool->FindServiceByName(service);
  auto* methods = new std::vector<MethodInfo>();
  methods->reserve(specs.size());
  for (const MethodSpec& spec : specs) {
    MethodInfo info;
    info.service = service;
    info.method = spec.name;
    info.full_name = "/" + info.service + "/" + info.method;
    info.kind = spec.kind;
    info.descriptor = sd ? sd->FindMethodByName(spec.name) : nullptr;
    methods->push_back(std::move(info));
  }
  return methods;
}

}  // namespace rpcforge
