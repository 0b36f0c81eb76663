// SPDX-License-Identifier: Apache-2.0
// Rate limits: the "rate_limit" middleware counts calls per key per period and answers
// RESOURCE_EXHAUSTED "Reached limit of N calls per P seconds. Resource will be
// available in S seconds." once a key has used up its window. Rules come from the
// config's `rate_limits` section and from C++:
//
//   rpcforge::RateLimitRule rule;
//   rule.methods = {"blog.v1.PostService/CreatePost"};
//   rule.max_calls = 10;
//   rule.period = std::chrono::minutes(1);
//   rule.key = "user";                      // or peer, metadata:NAME, request:dot.path
//   rpcforge::AddRateLimit(app, rule);      // before servers start
//
// Window rule: a fixed window per storage key, aligned to the first call. The first
// call for a key opens a window of `period`; up to `max_calls` calls are allowed in it;
// once it ends, the next call opens a new one. Rejected calls do not count (they
// neither use up the window nor extend it). See docs/security.md.
#ifndef RPCFORGE_MIDDLEWARE_RATE_LIMIT_H_
#define RPCFORGE_MIDDLEWARE_RATE_LIMIT_H_

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "rpcforge/clock.h"
#include "rpcforge/export.h"
#include "rpcforge/server/middleware.h"

namespace rpcforge::config::v1 {
class RateLimitRule;
}  // namespace rpcforge::config::v1

namespace rpcforge {
class App;
namespace db {
class Database;
}  // namespace db

// RateLimitDecision is the outcome of one RateLimitStorage::TryAcquire.
struct RateLimitDecision {
  bool allowed = false;
  // remaining is how many more calls the current window allows after this one
  // (0 when rejected).
  uint32_t remaining = 0;
  // retry_after is, when rejected, the time until the window ends (> 0, rounded up to
  // a millisecond); zero when allowed.
  std::chrono::milliseconds retry_after{0};
};

// RateLimitStorage holds the counters. Implementations must be thread-safe, and
// TryAcquire must be atomic per key: of N concurrent calls on one key with room for L,
// exactly min(N, L) are allowed. Owned by a RateLimiter through a shared_ptr.
class RPCFORGE_EXPORT RateLimitStorage {
 public:
  virtual ~RateLimitStorage();

  // TryAcquire takes one call from the window of `key` when it has room. `key` is an
  // opaque byte string (the middleware builds unambiguous keys); `max_calls` >= 1 and
  // `period` > 0. Time is read from `clock` (an in-process storage uses SteadyNow, a
  // storage shared between processes would use Now). Never throws for valid arguments.
  virtual RateLimitDecision TryAcquire(std::string_view key, uint32_t max_calls,
                                       std::chrono::milliseconds period, const Clock& clock) = 0;

  // Clear forgets every window, so tests that share a server start from zero
  // (Middleware::Reset). Default: nothing (a storage shared with other processes
  // should not be emptied by one test).
  virtual void Clear() {}
};

// InMemoryRateLimitStorage keeps fixed windows in process memory, sharded by key so
// unrelated keys rarely contend. Memory stays bounded: a window is removed by the first
// operation on its shard at or after its end (EvictExpired removes them all at once).
// Thread-safe.
class RPCFORGE_EXPORT InMemoryRateLimitStorage final : public RateLimitStorage {
 public:
  InMemoryRateLimitStorage();
  ~InMemoryRateLimitStorage() override;
  InMemoryRateLimitStorage(const InMemoryRateLimitStorage&) = delete;
  InMemoryRateLimitStorage& operator=(const InMemoryRateLimitStorage&) = delete;

  RateLimitDecision TryAcquire(std::string_view key, uint32_t max_calls,
                               std::chrono::milliseconds period, const Clock& clock) override;

  // EvictExpired removes every window that has ended by `clock.SteadyNow()`.
  void EvictExpired(const Clock& clock);

  void Clear() override;

  // size is the number of windows held (live ones, plus ended ones not yet evicted).
  size_t size() const;

 private:
  struct Shard;
  static constexpr size_t kShards = 16;
  std::unique_ptr<Shard[]> shards_;
};

// DatabaseRateLimitStorage keeps the windows in table rpcforge_ratelimit of `db`
// (migration rpcforge.0005_ratelimit), one row per key, so every process on the
// database counts in the same windows: `rate_limit_storage: database`. Each TryAcquire
// is one atomic upsert (INSERT ... ON CONFLICT DO UPDATE ... RETURNING) on the
// database's clock in Unix milliseconds (clock.Now(): the instances' clocks must
// agree); refused calls are counted in the row but never allow a call nor extend the
// window. Every 1024th call deletes the windows that have ended. Throws what the
// database throws (the call then fails, UNAVAILABLE for an unreachable database).
// Clear does nothing: other processes share the rows. `db` must outlive it.
class RPCFORGE_EXPORT DatabaseRateLimitStorage final : public RateLimitStorage {
 public:
  explicit DatabaseRateLimitStorage(db::Database& db) : db_(db) {}

  RateLimitDecision TryAcquire(std::string_view key, uint32_t max_calls,
                               std::chrono::milliseconds period, const Clock& clock) override;

 private:
  db::Database& db_;
  std::atomic<uint64_t> acquired_{0};
};

// RateLimitKeyFn computes the key of a call for a rule with a C++ key. It runs on the
// handler's thread, must be thread-safe, and may throw (the call then fails with the
// status of the exception; it is never let through unchecked).
using RateLimitKeyFn = std::function<std::string(const ServerCall&)>;

// RateLimitRule limits calls per key per period for some methods. The same fields as
// the config's `rate_limits` entries (see config.proto), plus a C++ key function.
struct RPCFORGE_EXPORT RateLimitRule {
  // "pkg.Service/Method", or "pkg.Service" for all its methods. At least one.
  std::vector<std::string> methods;
  // Empty: each method has its own counter per key. Set: every method of every rule
  // of this group shares one counter per key; the rules must agree on max_calls and
  // period (and key, which for a function key means the group uses its first rule's).
  std::string group;
  // Calls allowed per key per window; >= 1.
  uint32_t max_calls = 0;
  // Length of the window; > 0.
  std::chrono::milliseconds period{0};
  // What is counted:
  //   "peer"             the client's transport address without its port
  //                      ("ipv4:10.0.0.7"), so new connections share the counter;
  //   "user"             the Context's authenticated user (its id); all calls without
  //                      a user share one "anonymous" counter, distinct from any user;
  //   "metadata:NAME"    the first value of metadata NAME; calls without it share one
  //                      "absent" counter, distinct from any value (including "");
  //   "request:a.b.c"    a singular field of the request message, read by reflection
  //                      (ints, bools, strings, bytes, enums by number, floats). Only
  //                      unary and server-streaming calls have a request when the
  //                      pipeline runs: for client-streaming and bidi calls, and for
  //                      a path that does not name a singular field of the request
  //                      type, every call of the method shares one "unavailable"
  //                      counter (fail closed: the limit still applies, globally).
  // Empty means "peer". Ignored when key_fn is set.
  std::string key = "peer";
  // key_fn, when set, computes the key instead of `key`.
  RateLimitKeyFn key_fn;

  // FromConfig converts a config entry (not validated: see Validate).
  static RateLimitRule FromConfig(const config::v1::RateLimitRule& rule);

  // Validate throws rpcforge::InvalidArgument naming the problem: no methods, a
  // malformed method, max_calls < 1, period <= 0, or a bad key.
  void Validate() const;
};

// RateLimiter is an application's rate limiting state: its C++ rules and its storage.
// Every pipeline built from the app shares it, so all servers of an app (and every
// CallThroughPipeline of a test) count in the same windows. Thread-safe; add rules
// before servers start (a pipeline reads the rules once, when it is built).
class RPCFORGE_EXPORT RateLimiter {
 public:
  // RateLimiter uses `storage`, or a new InMemoryRateLimitStorage when null.
  explicit RateLimiter(std::shared_ptr<RateLimitStorage> storage = nullptr);
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  // AddRule validates and adds a rule (see RateLimitRule::Validate); throws
  // rpcforge::InvalidArgument for a bad rule, or for a group rule that disagrees with
  // an earlier rule of its group on max_calls or period.
  void AddRule(RateLimitRule rule);
  std::vector<RateLimitRule> rules() const;

  // SetStorage replaces the storage (counters start over) for pipelines built from now
  // on; null restores a new in-memory one.
  void SetStorage(std::shared_ptr<RateLimitStorage> storage);
  std::shared_ptr<RateLimitStorage> storage() const;

 private:
  mutable std::mutex mu_;
  std::vector<RateLimitRule> rules_;
  std::shared_ptr<RateLimitStorage> storage_;
};

// RateLimitMiddleware checks, for every call, each rule covering its method: first the
// limiter's C++ rules in order, then the config's `rate_limits`. A call needing several
// limits is rejected by the first one that is exhausted; the limits checked before it
// keep the call counted. Methods no rule covers pass through untouched.
class RPCFORGE_EXPORT RateLimitMiddleware final : public Middleware {
 public:
  // RateLimitMiddleware reads the limiter's rules now and `config`'s `rate_limits`
  // (config may be null). With `rate_limit_storage: database` it counts in a
  // DatabaseRateLimitStorage on `database` instead of the limiter's storage. Throws
  // rpcforge::InvalidArgument for a bad rule, for group rules that disagree, or for
  // the database storage without a database. `limiter`, `clock` and `database` must
  // outlive the middleware.
  RateLimitMiddleware(std::shared_ptr<RateLimiter> limiter, const config::v1::Config* config,
                      const Clock* clock, db::Database* database = nullptr);
  ~RateLimitMiddleware() override;

  grpc::Status Handle(ServerCall& call, Next next) override;
  // Reset clears the counters of the limiter's storage.
  void Reset() override;

 private:
  struct Limit;
  std::shared_ptr<RateLimiter> limiter_;
  std::shared_ptr<RateLimitStorage> storage_;
  const Clock* clock_;
  std::vector<std::unique_ptr<Limit>> limits_;
};

// RateLimitMiddlewareFactory makes a factory for app.RegisterMiddleware whose
// middlewares share `limiter`.
RPCFORGE_EXPORT MiddlewareFactory RateLimitMiddlewareFactory(std::shared_ptr<RateLimiter> limiter);

// AppRateLimiter returns the limiter of `app`'s built-in "rate_limit" middleware (the
// App owns it, so this and AddRateLimit are defined with the App, in src/app/app.cc).
// Throws rpcforge::FailedPrecondition when "rate_limit" was re-registered
// with another factory: rules added to it would not apply.
RPCFORGE_EXPORT std::shared_ptr<RateLimiter> AppRateLimiter(App& app);

// AddRateLimit is AppRateLimiter(app)->AddRule(rule): the C++ way to add a rule at
// registration time. Throws as AppRateLimiter and RateLimiter::AddRule do.
RPCFORGE_EXPORT void AddRateLimit(App& app, RateLimitRule rule);

// FormatRateLimitMessage renders the RESOURCE_EXHAUSTED message: "Reached limit of 10
// calls per 60 seconds. Resource will be available in 12 seconds." `retry_after` is
// rounded up to whole seconds, at least 1; a period that is not whole seconds prints
// with up to 3 decimals ("0.5 seconds").
RPCFORGE_EXPORT std::string FormatRateLimitMessage(uint32_t max_calls,
                                                   std::chrono::milliseconds period,
                                                   std::chrono::milliseconds retry_after);

namespace rate_limit_internal {
// AppendKeyPart appends `part` to `key` as "<decimal length>:<bytes>", so a sequence
// of parts decodes one way only (no two different sequences give the same key).
RPCFORGE_EXPORT void AppendKeyPart(std::string* key, std::string_view part);
}  // namespace rate_limit_internal

}  // namespace rpcforge

#endif  // RPCFORGE_MIDDLEWARE_RATE_LIMIT_H_
