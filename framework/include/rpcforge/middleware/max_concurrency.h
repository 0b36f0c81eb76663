// SPDX-License-Identifier: Apache-2.0
// The "max_concurrency" middleware: admission. Registered on every App and first in
// the default chain; its limit is the config's server.max_concurrent_rpcs. The
// dispatcher's worker slots (server.max_workers) bound how many of the admitted calls
// run their handler at once; rpcforge/server/server.h (ServerSettings) describes the
// two limits together.
#ifndef RPCFORGE_MIDDLEWARE_MAX_CONCURRENCY_H_
#define RPCFORGE_MIDDLEWARE_MAX_CONCURRENCY_H_

#include <atomic>

#include "rpcforge/export.h"
#include "rpcforge/server/pipeline.h"

namespace rpcforge {

// MaxConcurrencyMiddleware rejects calls beyond `limit` in flight with
// RESOURCE_EXHAUSTED "Server is at its limit of N concurrent RPCs". A limit <= 0
// admits every call.
class RPCFORGE_EXPORT MaxConcurrencyMiddleware : public Middleware {
 public:
  explicit MaxConcurrencyMiddleware(int limit);
  grpc::Status Handle(ServerCall& call, Next next) override;
  int in_flight() const { return in_flight_.load(); }

 private:
  const int limit_;
  std::atomic<int> in_flight_{0};
};

}  // namespace rpcforge

#endif  // RPCFORGE_MIDDLEWARE_MAX_CONCURRENCY_H_
