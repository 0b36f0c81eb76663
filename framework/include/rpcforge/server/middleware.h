// SPDX-License-Identifier: Apache-2.0
// Everything a middleware is written with: the pipeline (rpcforge/server/pipeline.h:
// ServerCall, Next, Middleware, MiddlewareEnv, Pipeline), Signals
// (rpcforge/server/signals.h), and the two built-ins that need nothing else
// (MaxConcurrencyMiddleware, SignalsMiddleware). The other built-ins have a header each:
// auth (rpcforge/auth/auth_middleware.h), request logging (rpcforge/logging/request_log.h),
// rate limits (rpcforge/server/rate_limit.h), signature check
// (rpcforge/server/signature.h); rpcforge/server/builtin_middlewares.h says which exist
// and in what order they run.
#ifndef RPCFORGE_SERVER_MIDDLEWARE_H_
#define RPCFORGE_SERVER_MIDDLEWARE_H_

#include <atomic>

#include "rpcforge/export.h"
#include "rpcforge/server/pipeline.h"
#include "rpcforge/server/signals.h"

namespace rpcforge {

// Built-in middlewares.

// MaxConcurrencyMiddleware rejects calls beyond `limit` in flight with
// RESOURCE_EXHAUSTED "Server is at its limit of N concurrent RPCs".
class RPCFORGE_EXPORT MaxConcurrencyMiddleware : public Middleware {
 public:
  explicit MaxConcurrencyMiddleware(int limit);
  grpc::Status Handle(ServerCall& call, Next next) override;
  int in_flight() const { return in_flight_.load(); }

 private:
  const int limit_;
  std::atomic<int> in_flight_{0};
};

// SignalsMiddleware sends request_started before the rest of the chain, and
// got_request_exception (when something threw) and request_finished after it.
class RPCFORGE_EXPORT SignalsMiddleware : public Middleware {
 public:
  explicit SignalsMiddleware(const Signals* signals);
  grpc::Status Handle(ServerCall& call, Next next) override;

 private:
  const Signals* signals_;
};

}  // namespace rpcforge

#endif  // RPCFORGE_SERVER_MIDDLEWARE_H_
