// SPDX-License-Identifier: Apache-2.0
// The built-in middlewares that need nothing but the pipeline: max_concurrency, signals.
#include "rpcforge/server/middleware.h"

#include <string>

#include "rpcforge/errors.h"

namespace rpcforge {

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
