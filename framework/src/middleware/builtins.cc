// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/middleware/builtins.h"

#include <memory>

#include "rpcforge/app.h"
#include "rpcforge/auth/api_keys.h"
#include "rpcforge/config/config.h"
#include "rpcforge/db/journal.h"
#include "rpcforge/logging/request_log.h"
#include "rpcforge/middleware/auth.h"
#include "rpcforge/middleware/max_concurrency.h"
#include "rpcforge/middleware/rate_limit.h"
#include "rpcforge/middleware/request_logging.h"
#include "rpcforge/middleware/signals.h"
#include "rpcforge/middleware/signature_check.h"

namespace rpcforge {

// The list itself is config's (config::DefaultMiddlewares, the default of the
// `middlewares` key), so the config layer can check the chain without the server.
const std::vector<std::string>& BuiltinMiddlewareNames() { return config::DefaultMiddlewares(); }

namespace server_internal {

void RegisterBuiltinMiddlewares(App& app) {
  app.RegisterMiddleware("max_concurrency", [](const MiddlewareEnv& env) {
    return std::make_shared<MaxConcurrencyMiddleware>(env.max_concurrent_rpcs);
  });
  app.RegisterMiddleware("signals", [](const MiddlewareEnv& env) {
    return std::make_shared<SignalsMiddleware>(env.signals);
  });
  app.RegisterMiddleware("request_logging", &logging::RequestLoggingMiddleware::FromEnv);
  app.RegisterMiddleware("signature_check", &SignatureCheckMiddleware::FromEnv);
  app.RegisterMiddleware("auth", &auth::AuthMiddleware::FromEnv);
  auto limiter = std::make_shared<RateLimiter>();
  app.RegisterMiddleware("rate_limit", RateLimitMiddlewareFactory(limiter));
  app.rate_limiter_ = std::move(limiter);
  // What the request_logging and auth middlewares journal before a call is answered.
  app.RegisterJournalApplier(db::kJournalRequestLogRow, &logging::ApplyRequestLogRecords);
  app.RegisterJournalApplier(db::kJournalApiKeyUse, &auth::auth_internal::ApplyKeyUses);
}

}  // namespace server_internal
}  // namespace rpcforge
