// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/auth/base_service.h"

#include <atomic>
#include <cctype>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>

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

struct PolicyRegistry {
  std::shared_mutex mu;
  std::unordered_map<const MethodInfo*, unsigned> bits;
};
PolicyRegistry& Policies() {
  static auto* registry = new PolicyRegistry();
  return *registry;
}
std::atomic<bool> g_any_policy{false};
std::atomic<bool> g_any_read_only{false};

thread_local int t_read_only_depth = 0;

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
  PolicyRegistry& r = Policies();
  std::unique_lock<std::shared_mutex> lock(r.mu);
  for (size_t i = 0; i < methods.size(); ++i) {
    unsigned inherited = 0;
    if (auto it = r.bits.find(&methods[i]); it != r.bits.end()) inherited = it->second;
    r.bits[&(*marked)[i]] = bits | inherited;
    if ((bits | inherited) & kReadOnly) g_any_read_only.store(true);
  }
  g_any_policy.store(true);
  return marked;
}

unsigned PolicyOf(const MethodInfo* method) {
  if (!g_any_policy.load(std::memory_order_acquire)) return 0;
  PolicyRegistry& r = Policies();
  std::shared_lock<std::shared_mutex> lock(r.mu);
  auto it = r.bits.find(method);
  return it == r.bits.end() ? 0 : it->second;
}

bool AnyReadOnly() { return g_any_read_only.load(); }

ReadOnlyScope::ReadOnlyScope() { ++t_read_only_depth; }
ReadOnlyScope::~ReadOnlyScope() { --t_read_only_depth; }
bool ReadOnlyScope::active() { return t_read_only_depth > 0; }

bool IsWriteStatement(std::string_view sql) {
  // First keyword, skipping whitespace and comments.
  size_t i = 0;
  auto skip = [&] {
    for (;;) {
      while (i < sql.size() && std::isspace(static_cast<unsigned char>(sql[i]))) ++i;
      if (sql.substr(i, 2) == "--") {
        while (i < sql.size() && sql[i] != '\n') ++i;
      } else if (sql.substr(i, 2) == "/*") {
        size_t end = sql.find("*/", i + 2);
        i = end == std::string_view::npos ? sql.size() : end + 2;
      } else {
        return;
      }
    }
  };
  skip();
  std::string word;
  while (i < sql.size() && std::isalpha(static_cast<unsigned char>(sql[i]))) {
    word += static_cast<char>(std::toupper(static_cast<unsigned char>(sql[i])));
    ++i;
  }
  if (word == "SELECT" || word == "VALUES" || word == "EXPLAIN" || word == "BEGIN" ||
      word == "COMMIT" || word == "END" || word == "ROLLBACK" || word == "SAVEPOINT" ||
      word == "RELEASE") {
    return false;
  }
  if (word == "WITH") {
    // A CTE may end in INSERT/UPDATE/DELETE/REPLACE: look for those words anywhere.
    std::string upper;
    upper.reserve(sql.size());
    for (char c : sql) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    for (const char* w : {"INSERT", "UPDATE", "DELETE", "REPLACE"}) {
      size_t at = upper.find(w);
      while (at != std::string::npos) {
        const bool left = at == 0 || !std::isalnum(static_cast<unsigned char>(upper[at - 1]));
        const size_t after = at + std::char_traits<char>::length(w);
        const bool right =
            after >= upper.size() || !std::isalnum(static_cast<unsigned char>(upper[after]));
        if (left && right) return true;
        at = upper.find(w, at + 1);
      }
    }
    return false;
  }
  return true;  // INSERT, UPDATE, DELETE, REPLACE, CREATE, DROP, ALTER, PRAGMA, ...
}

}  // namespace auth_internal
}  // namespace rpcforge::auth
