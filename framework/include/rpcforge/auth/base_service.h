// SPDX-License-Identifier: Apache-2.0
// Authorization helpers and service mixins on top of the auth middleware.
//
//   class AdminService : public rpcforge::auth::AuthRequiredService<admin::AdminBase> {
//     admin::Stats GetStats(rpcforge::Context& ctx, const admin::Empty&) override {
//       RequireStaff(ctx);                         // PERMISSION_DENIED unless staff
//       ...
//     }
//   };
//   class Reports : public rpcforge::auth::ReadOnlyService<reports::ReportsBase> { ... };
//
// Permission model: a superuser has every permission; staff and other users have
// none unless the application installs a checker with SetPermissionChecker (for example
// one reading its own user-permission table). The config's secret key (an internal
// identity without a user) passes RequireStaff and RequirePermission but not
// RequireUser.
//
// AuthRequiredService and ReadOnlyService mark their methods for the "auth" middleware
// (which enforces both), so keep "auth" in the middleware chain; it is in the default
// chain. They compose: `ReadOnlyService<AuthRequiredService<Base>>`.
#ifndef RPCFORGE_AUTH_BASE_SERVICE_H_
#define RPCFORGE_AUTH_BASE_SERVICE_H_

#include <functional>
#include <string_view>
#include <vector>

#include "rpcforge/auth/identity.h"
#include "rpcforge/context.h"
#include "rpcforge/export.h"
#include "rpcforge/server/method.h"

namespace rpcforge::auth {

// RequireUser returns the call's user; throws rpcforge::Unauthenticated
// "Authentication required" when the call has none (anonymous, or the secret key).
RPCFORGE_EXPORT const User& RequireUser(const Context& ctx);
// RequireStaff throws rpcforge::Unauthenticated for an anonymous call and
// rpcforge::PermissionDenied "Staff access required" for a user that is neither staff
// nor superuser. The secret key passes.
RPCFORGE_EXPORT void RequireStaff(const Context& ctx);
// HasPermission: superusers and the secret key have every permission; other users
// have what the installed checker grants (none by default); anonymous calls none.
RPCFORGE_EXPORT bool HasPermission(const Context& ctx, std::string_view permission);
// RequirePermission throws rpcforge::Unauthenticated for an anonymous call and
// rpcforge::PermissionDenied "Permission 'x' required" when HasPermission is false.
RPCFORGE_EXPORT void RequirePermission(const Context& ctx, std::string_view permission);

// PermissionChecker decides whether a (non-superuser, active) user has `permission`.
// It runs on handler threads: it must be thread-safe and may use the database.
using PermissionChecker =
    std::function<bool(const Context& ctx, const User& user, std::string_view permission)>;
// SetPermissionChecker installs the process-wide checker (empty: deny all). Call it
// before serving.
RPCFORGE_EXPORT void SetPermissionChecker(PermissionChecker checker);

namespace auth_internal {
enum PolicyBits : unsigned { kAuthRequired = 1u, kReadOnly = 2u };
// MarkMethods copies `methods` into a new vector that lives forever, with `bits` added
// to each entry's MethodPolicy (which keeps what the source entries had), and returns it.
RPCFORGE_EXPORT const std::vector<MethodInfo>* MarkMethods(const std::vector<MethodInfo>& methods,
                                                           unsigned bits);

// MarkedService is `Base` whose methods are published with the policy `kBits`: the
// common body of AuthRequiredService and ReadOnlyService.
template <class Base, unsigned kBits>
class MarkedService : public Base {
 public:
  using Base::Base;
  const std::vector<MethodInfo>& methods() const override { return Marked(*this); }

 private:
  static const std::vector<MethodInfo>& Marked(const Base& self) {
    static const std::vector<MethodInfo>* marked = MarkMethods(self.Base::methods(), kBits);
    return *marked;
  }
  // Publishes the policy when the first instance is built, before any server is.
  bool marked_ = (static_cast<void>(Marked(*this)), true);
};
}  // namespace auth_internal

// AuthRequiredService<Base> is `Base` (a generated `<Service>Base` or a class derived
// from one) whose every method requires a valid API key, whatever the config says
// (require_auth, overrides and public_methods do not apply to it).
template <class Base>
using AuthRequiredService = auth_internal::MarkedService<Base, auth_internal::kAuthRequired>;

// ReadOnlyService<Base> is `Base` whose handlers cannot write to the application's
// database: any INSERT/UPDATE/DELETE/DDL they run throws rpcforge::PermissionDenied
// "This service is read-only" (PERMISSION_DENIED to the client). Reads and
// transactions (Atomic) work. The pipeline runs its handlers in a db::ReadOnlyScope,
// which checks each statement's own read-only flag; on the handler's thread only.
template <class Base>
using ReadOnlyService = auth_internal::MarkedService<Base, auth_internal::kReadOnly>;

}  // namespace rpcforge::auth

#endif  // RPCFORGE_AUTH_BASE_SERVICE_H_
