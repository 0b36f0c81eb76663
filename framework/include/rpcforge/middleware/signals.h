// SPDX-License-Identifier: Apache-2.0
// The "signals" middleware: sends the App's request signals (rpcforge/server/signals.h)
// around the rest of the chain. Registered on every App, second in the default chain.
#ifndef RPCFORGE_MIDDLEWARE_SIGNALS_H_
#define RPCFORGE_MIDDLEWARE_SIGNALS_H_

#include "rpcforge/export.h"
#include "rpcforge/server/pipeline.h"
#include "rpcforge/server/signals.h"

namespace rpcforge {

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

#endif  // RPCFORGE_MIDDLEWARE_SIGNALS_H_
