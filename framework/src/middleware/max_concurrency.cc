// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/middleware/max_concurrency.h"

#include <string>

namespace rpcforge {

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

}  // namespace rpcforge
