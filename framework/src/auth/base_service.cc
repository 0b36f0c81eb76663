// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/auth/base_service.h"

#include <memory>
#include <mutex>
#include <string>

#include "rpcforge/errors.h"

namespace rpcforge::auth {
namespace {

std::mutex& CheckerMutex() {
  static auto* mu = new std::mutex();
  return *mu;
}
std::shared_ptr<const PermissionChecker>& Checker() {
  static auto* checker = new std::shared_ptr<const PermissionChecker>();
  return *checker;
}

}  // namespace

const User& RequireUser(const Context& ctx) {
  if (!ctx.user()) throw Unauthenticated("Authentication required");
  return *ctx.user();
}

void RequireStaff(const Context& ctx) {
  if (ctx.api_key() && ctx.api_key()->is_secret_key) return;
  const User& user = RequireUser(ctx);
  if (!user.is_staff && !user.is_superuser) throw PermissionDenied("Staff access required");
}

bool HasPermission(const Context& ctx, std::string_view permission) {
  if (ctx.api_key() && ctx.api_key()->is_secret_key) return true;
  if (!ctx.user() || !ctx.user()->is_active) return false;
  if (ctx.user()->is_superuser) return true;
  std::shared_ptr<const PermissionChecker> checker;
  {
    std::lock_guard<std::mutex> lock(CheckerMutex());
    checker = Checker();
  }
  return checker && *checker && (*checker)(ctx, *ctx.user(), permission);
}

void RequirePermission(const Context& ctx, std::string_view permission) {
  if (!ctx.is_authenticated()) throw Unauthenticated("Authentication required");
  if (!HasPermission(ctx, permission)) {
    throw PermissionDenied("Permission '" + std::string(permission) + "' required");
  }
}

void SetPermissionChecker(PermissionChecker checker) {
  auto p = checker ? std::make_shared<const PermissionChecker>(std::move(checker)) : nullptr;
  std::lock_guard<std::mutex> lock(CheckerMutex());
  Checker() = std::move(p);
}

namespace auth_internal {

const std::vector<MethodInfo>* MarkMethods(const std::vector<MethodInfo>& methods, unsigned bits) {
  auto* marked = new std::vector<MethodInfo>(methods);  // lives forever, like the source
  for (MethodInfo& m : *marked) {
    if (bits & kAuthRequired) m.policy.auth_required = true;
    if (bits & kReadOnly) m.policy.read_only = true;
  }
  return marked;
}

}  // namespace auth_internal
}  // namespace rpcforge::auth
