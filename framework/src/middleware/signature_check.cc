// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/middleware/signature_check.h"

#include <algorithm>
#include <cstddef>
#include <utility>

#include "rpcforge/config/config.h"

namespace rpcforge {

bool ConstantTimeEquals(std::string_view a, std::string_view b) noexcept {
  // No early exit: every byte position up to the longer length is compared, and the
  // length difference is folded into the same accumulator.
  const size_t n = std::max(a.size(), b.size());
  unsigned int diff = static_cast<unsigned int>(a.size() != b.size());
  for (size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned int>(x ^ y);
  }
  // The volatile read keeps the compiler from turning the loop into a search.
  volatile unsigned int result = diff;
  return result == 0;
}

bool IsFrameworkPublicService(std::string_view service) {
  return service == "grpc.health.v1.Health" || service.rfind("grpc.reflection.", 0) == 0;
}

SignatureCheckMiddleware::SignatureCheckMiddleware(std::map<std::string, std::string> required)
    : required_(std::move(required)) {}

std::shared_ptr<SignatureCheckMiddleware> SignatureCheckMiddleware::FromEnv(
    const MiddlewareEnv& env) {
  std::map<std::string, std::string> required;
  if (env.config != nullptr) {
    const auto& metadata = env.config->signature_check().metadata();
    required.insert(metadata.begin(), metadata.end());
  }
  return std::make_shared<SignatureCheckMiddleware>(std::move(required));
}

grpc::Status SignatureCheckMiddleware::Handle(ServerCall& call, Next next) {
  if (required_.empty() || IsFrameworkPublicService(call.method().service)) return next();
  const Context& ctx = call.context();
  bool ok = true;
  for (const auto& [key, expected] : required_) {
    std::optional<std::string_view> got = ctx.GetMetadata(key);
    // Compare even when missing, so both failures cost the same.
    const bool equal = ConstantTimeEquals(expected, got.value_or(std::string_view()));
    ok = ok & got.has_value() & equal;
  }
  if (!ok) return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "Invalid signature");
  return next();
}

}  // namespace rpcforge
