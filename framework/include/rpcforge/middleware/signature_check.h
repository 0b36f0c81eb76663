// SPDX-License-Identifier: Apache-2.0
// The signature check (django-grpc's SignatureValidationInterceptor, done in constant
// time): every call must carry the configured metadata key/value pairs, otherwise it
// ends with UNAUTHENTICATED "Invalid signature" before any later middleware or the
// handler runs. Configured in the config file:
//
//   middlewares: [max_concurrency, signals, request_logging, signature_check, auth, rate_limit]
//   signature_check:
//     metadata:
//       x-client-signature: "s3cret"
//
// The middleware is registered on every App as "signature_check" (the name the config
// schema uses); with no pairs configured it passes every call
// through. Health (grpc.health.v1.Health) and reflection (grpc.reflection.*) are
// public and never checked.
#ifndef RPCFORGE_MIDDLEWARE_SIGNATURE_CHECK_H_
#define RPCFORGE_MIDDLEWARE_SIGNATURE_CHECK_H_

#include <map>
#include <string>
#include <string_view>

#include "rpcforge/export.h"
#include "rpcforge/server/middleware.h"

namespace rpcforge {

// ConstantTimeEquals compares two byte strings in time that depends only on their
// lengths, never on where they differ: it reads max(a.size(), b.size()) bytes of each
// (past the end of the shorter one it reads zeros) and folds the length difference into
// the result instead of returning early. Thread-safe; never throws.
RPCFORGE_EXPORT bool ConstantTimeEquals(std::string_view a, std::string_view b) noexcept;

// IsFrameworkPublicService is true for the services no credential check applies to:
// grpc.health.v1.Health and the grpc.reflection.* services. `service` is
// the full service name.
RPCFORGE_EXPORT bool IsFrameworkPublicService(std::string_view service);

// SignatureCheckMiddleware requires, for every call of a non-public method, that the
// first value the client sent for each configured key equal the configured value
// (compared with ConstantTimeEquals; every pair is compared, whatever the outcome of
// the others). A missing key or a different value ends the call with UNAUTHENTICATED
// "Invalid signature" (the same message either way, so a client learns nothing about
// which pair failed). Immutable after construction; thread-safe.
class RPCFORGE_EXPORT SignatureCheckMiddleware final : public Middleware {
 public:
  // `required` maps lower-case metadata keys to their required values; empty means
  // the middleware passes every call through.
  explicit SignatureCheckMiddleware(std::map<std::string, std::string> required);

  // FromEnv reads `signature_check.metadata` from env.config (null config: nothing
  // required).
  static std::shared_ptr<SignatureCheckMiddleware> FromEnv(const MiddlewareEnv& env);

  grpc::Status Handle(ServerCall& call, Next next) override;

  bool enabled() const { return !required_.empty(); }

 private:
  std::map<std::string, std::string> required_;
};

}  // namespace rpcforge

#endif  // RPCFORGE_MIDDLEWARE_SIGNATURE_CHECK_H_
