// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/middleware/signals.h"

namespace rpcforge {

SignalsMiddleware::SignalsMiddleware(const Signals* signals) : signals_(signals) {}

grpc::Status SignalsMiddleware::Handle(ServerCall& call, Next next) {
  signals_->SendRequestStarted(call);
  grpc::Status status = next();
  if (call.exception()) signals_->SendGotRequestException(call, call.exception(), status);
  signals_->SendRequestFinished(call, status);
  return status;
}

}  // namespace rpcforge
