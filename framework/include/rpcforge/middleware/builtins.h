// SPDX-License-Identifier: Apache-2.0
// The built-in middlewares, the one place that names them and their order. Every App
// registers them at construction (an application may register its own under the same
// name to replace one); the default chain, when the config's `middlewares` names
// none, is these in this order, then the application's own in registration order.
// Each has its header in this folder:
//
//   max_concurrency   admission: RESOURCE_EXHAUSTED beyond server.max_concurrent_rpcs
//                     (max_concurrency.h)
//   signals           request_started / got_request_exception / request_finished
//                     (signals.h)
//   request_logging   one request-log row per call (request_logging.h)
//   signature_check   required metadata values, before anything spends effort on an
//                     unsigned call (signature_check.h)
//   auth              the API key and the identity (auth.h)
//   rate_limit        limits that may depend on the identity (rate_limit.h)
#ifndef RPCFORGE_MIDDLEWARE_BUILTINS_H_
#define RPCFORGE_MIDDLEWARE_BUILTINS_H_

#include <any>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "rpcforge/export.h"
#include "rpcforge/server/pipeline.h"

namespace rpcforge {

namespace db {
class Database;
}  // namespace db

// BuiltinMiddlewareNames is the list above, in its order.
RPCFORGE_EXPORT const std::vector<std::string>& BuiltinMiddlewareNames();

namespace middleware_internal {
// Builtins is what App::App registers (rpcforge/app.h): the built-ins in the order
// above, each with its factory and the state its middlewares share (for "rate_limit",
// the std::shared_ptr<RateLimiter> AppRateLimiter returns), and how the records the
// built-ins journal are applied after a crash. This layer lists them; the App, a layer
// above, owns them.
struct Builtins {
  struct Middleware {
    std::string name;
    MiddlewareFactory factory;
    std::any state;
  };
  std::vector<Middleware> middlewares;
  using JournalApplier =
      std::function<void(db::Database& db, const std::vector<std::string>& payloads)>;
  std::vector<std::pair<uint8_t, JournalApplier>> journal_appliers;
};
RPCFORGE_EXPORT Builtins MakeBuiltins();
}  // namespace middleware_internal

}  // namespace rpcforge

#endif  // RPCFORGE_MIDDLEWARE_BUILTINS_H_
