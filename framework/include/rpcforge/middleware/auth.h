// SPDX-License-Identifier: Apache-2.0
// The "auth" middleware: API-key authentication for every call. Registered on every
// App under the name "auth" and part of the default chain; configured in the config
// file's `auth` section (see docs/security.md):
//
//   auth:
//     require_auth: true
//     require_auth_overrides: {"blog.v1.PostService/ListPosts": false}
//     public_methods: ["blog.v1.PingService"]
//     brute_force_guard: {max_failures: 10, window: 1m, block_duration: 5m}
//
// The key comes from the `x-api-key` metadata, or else `authorization: Bearer <key>`.
// The identity it stands for is set on the request's Context only (ctx.user(),
// ctx.api_key()), never on a shared object.
#ifndef RPCFORGE_MIDDLEWARE_AUTH_H_
#define RPCFORGE_MIDDLEWARE_AUTH_H_

#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "rpcforge/auth/api_keys.h"
#include "rpcforge/export.h"
#include "rpcforge/server/middleware.h"

namespace rpcforge::auth {

// kApiKeyRequired and kInvalidApiKey are the two UNAUTHENTICATED messages.
inline constexpr char kApiKeyRequired[] = "API key is required";
inline constexpr char kInvalidApiKey[] = "Invalid or expired API key";

// ExtractApiKey returns the key a call presents: the first `x-api-key` value, else the
// token of an `authorization: Bearer <token>` header ("bearer" in any case). nullopt
// when neither is present; an empty string when a header is present but empty.
RPCFORGE_EXPORT std::optional<std::string> ExtractApiKey(const Context& ctx);

// BruteForceGuard counts invalid keys per peer host. After `max_failures` failures
// within `window` (steady time of `clock`) the peer is blocked for `block_duration`.
// max_failures <= 0 disables it. Memory is bounded: at most `max_peers` peers are
// tracked (expired entries are dropped first, then the oldest). Thread-safe.
class RPCFORGE_EXPORT BruteForceGuard {
 public:
  BruteForceGuard(int max_failures, std::chrono::milliseconds window,
                  std::chrono::milliseconds block_duration, const Clock& clock,
                  size_t max_peers = 100000);
  // BlockedFor returns how long `peer` stays blocked, or zero when it is not.
  std::chrono::milliseconds BlockedFor(const std::string& peer);
  // RecordFailure counts one invalid key from `peer`; returns true when it blocked it.
  bool RecordFailure(const std::string& peer);
  // Clear forgets every failure and block.
  void Clear();

 private:
  struct Entry {
    std::deque<Clock::SteadyTimePoint> failures;
    Clock::SteadyTimePoint blocked_until{};
  };
  void PruneLocked(Clock::SteadyTimePoint now);

  const int max_failures_;
  const std::chrono::milliseconds window_;
  const std::chrono::milliseconds block_duration_;
  const Clock& clock_;
  const size_t max_peers_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> peers_;  // guarded by mu_
};

// AuthMiddleware authenticates every call of a non-public method:
//  - public (health, reflection, auth.public_methods) and not an AuthRequiredService:
//    passes through untouched;
//  - a peer blocked by the brute-force guard: RESOURCE_EXHAUSTED "Too many invalid
//    API keys from this address; try again in N seconds";
//  - no key: UNAUTHENTICATED kApiKeyRequired when auth is required for the method
//    (config::RequireAuth, or the service is an AuthRequiredService), else anonymous;
//  - a key that is unknown, revoked, expired, malformed or whose user is inactive:
//    UNAUTHENTICATED kInvalidApiKey, required or not (and one failure for the guard);
//  - the config's secret_key, only when auth.accept_secret_key is true: an internal
//    identity (ApiKey.is_secret_key, no user), compared in constant time;
//  - a valid key: ctx.SetUser / ctx.SetApiKey, one use recorded in the UsageTracker.
//    A verified key is trusted for auth.key_cache_ttl (default 1 s) without another
//    lookup; revocations and user changes made by this process take effect at once,
//    those of other processes within the TTL; expiry is checked on every call.
// It also runs handlers of ReadOnlyService methods with database writes forbidden.
// Without a database every key is invalid (logged once). Thread-safe.
class RPCFORGE_EXPORT AuthMiddleware final : public Middleware {
 public:
  // `env.database` and `env.clock` must outlive the middleware; a null config means
  // all defaults.
  explicit AuthMiddleware(const MiddlewareEnv& env,
                          UsageTracker::Options usage = UsageTracker::Options{});
  // The destructor flushes pending usage counts.
  ~AuthMiddleware() override;

  // FromEnv is the factory registered as "auth".
  static std::shared_ptr<Middleware> FromEnv(const MiddlewareEnv& env);

  grpc::Status Handle(ServerCall& call, Next next) override;
  // Reset forgets the brute-force guard's failures and blocks, and the verified keys.
  void Reset() override;

  // usage is the tracker (null without a database).
  UsageTracker* usage() { return usage_.get(); }

 private:
  class KeyCache;
  grpc::Status Authenticate(ServerCall& call, bool required);
  std::optional<VerifiedKey> Verify(const std::string& key);

  std::shared_ptr<const config::v1::Config> config_;
  const Clock* clock_;
  db::Database* database_;
  std::unique_ptr<UsageTracker> usage_;
  BruteForceGuard guard_;
  std::unique_ptr<KeyCache> cache_;  // null when auth.key_cache_ttl is 0
  std::once_flag no_database_logged_;
};

}  // namespace rpcforge::auth

#endif  // RPCFORGE_MIDDLEWARE_AUTH_H_
