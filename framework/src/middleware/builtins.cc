// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/middleware/builtins.h"

#include <memory>

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

namespace middleware_internal {

Builtins MakeBuiltins() {
  Builtins b;
  auto add = [&b](std::string name, MiddlewareFactory factory, std::any state = {}) {
    b.middlewares.push_back({std::move(name), std::move(factory), std::move(state)});
  };
  add("max_concurrency", [](const MiddlewareEnv& env) {
    return std::make_shared<MaxConcurrencyMiddleware>(env.max_concurrent_rpcs);
  });
  add("signals",
      [](const MiddlewareEnv& env) { return std::make_shared<SignalsMiddleware>(env.signals); });
  add("request_logging", &logging::RequestLoggingMiddleware::FromEnv);
  add("signature_check", &SignatureCheckMiddleware::FromEnv);
  add("auth", &auth::AuthMiddleware::FromEnv);
  auto limiter = std::make_shared<RateLimiter>();
  add("rate_limit", RateLimitMiddlewareFactory(limiter), limiter);
  // What the request_logging and auth middlewares journal before a call is answered.
  b.journal_appliers.emplace_back(db::kJournalRequestLogRow, &logging::ApplyRequestLogRecords);
  b.journal_appliers.emplace_back(db::kJournalApiKeyUse, &auth::auth_internal::ApplyKeyUses);
  return b;
}

}  // namespace middleware_internal
}  // namespace rpcforge
