// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/middleware/auth.h"

#include <algorithm>
#include <map>
#include <unordered_map>

#include "core/logging.h"
#include "core/strings.h"
#include "rpcforge/auth/base_service.h"
#include "rpcforge/config/config.h"
#include "rpcforge/db/database.h"
#include "rpcforge/errors.h"
#include "rpcforge/middleware/signature_check.h"
#include "rpcforge/server/peer.h"
#include "server/call_state.h"

namespace rpcforge::auth {

using strings::Trim;

std::optional<std::string> ExtractApiKey(const Context& ctx) {
  if (auto key = ctx.GetMetadata("x-api-key")) return std::string(Trim(*key));
  if (auto header = ctx.GetMetadata("authorization")) {
    std::string_view h = Trim(*header);
    if (h.size() >= 6 && context_internal::EqualsIgnoreCase(h.substr(0, 6), "bearer") &&
        (h.size() == 6 || h[6] == ' ' || h[6] == '\t')) {
      return std::string(Trim(h.substr(6)));
    }
  }
  return std::nullopt;
}

// --- BruteForceGuard

BruteForceGuard::BruteForceGuard(int max_failures, std::chrono::milliseconds window,
                                 std::chrono::milliseconds block_duration, const Clock& clock,
                                 size_t max_peers)
    : max_failures_(max_failures),
      window_(window),
      block_duration_(block_duration),
      clock_(clock),
      max_peers_(std::max<size_t>(1, max_peers)) {}

std::chrono::milliseconds BruteForceGuard::BlockedFor(const std::string& peer) {
  if (max_failures_ <= 0) return std::chrono::milliseconds(0);
  const auto now = clock_.SteadyNow();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = peers_.find(peer);
  if (it == peers_.end() || it->second.blocked_until <= now) return std::chrono::milliseconds(0);
  return std::chrono::ceil<std::chrono::milliseconds>(it->second.blocked_until - now);
}

void BruteForceGuard::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  peers_.clear();
}

bool BruteForceGuard::RecordFailure(const std::string& peer) {
  if (max_failures_ <= 0) return false;
  const auto now = clock_.SteadyNow();
  std::lock_guard<std::mutex> lock(mu_);
  if (peers_.size() >= max_peers_ && peers_.count(peer) == 0) PruneLocked(now);
  Entry& e = peers_[peer];
  while (!e.failures.empty() && e.failures.front() <= now - window_) e.failures.pop_front();
  e.failures.push_back(now);
  if (static_cast<int>(e.failures.size()) >= max_failures_) {
    e.failures.clear();
    e.blocked_until = now + block_duration_;
    return true;
  }
  return false;
}

void BruteForceGuard::PruneLocked(Clock::SteadyTimePoint now) {
  for (auto it = peers_.begin(); it != peers_.end();) {
    Entry& e = it->second;
    while (!e.failures.empty() && e.failures.front() <= now - window_) e.failures.pop_front();
    if (e.failures.empty() && e.blocked_until <= now) {
      it = peers_.erase(it);
    } else {
      ++it;
    }
  }
  while (peers_.size() >= max_peers_) {
    // Still full of live entries: drop the one whose latest activity is oldest.
    auto oldest = peers_.begin();
    auto last = [](const Entry& e) {
      return std::max(e.blocked_until,
                      e.failures.empty() ? Clock::SteadyTimePoint{} : e.failures.back());
    };
    for (auto it = peers_.begin(); it != peers_.end(); ++it) {
      if (last(it->second) < last(oldest->second)) oldest = it;
    }
    peers_.erase(oldest);
  }
}

// --- AuthMiddleware

namespace {
std::shared_ptr<const config::v1::Config> CopyConfig(const config::v1::Config* c) {
  return c ? std::make_shared<const config::v1::Config>(*c)
           : std::make_shared<const config::v1::Config>();
}
}  // namespace

// KeyCache holds verified keys by the SHA-256 of the key presented. Entries made
// before this process last changed credentials (CredentialsGeneration) or older than
// the TTL (the clock's steady time) are looked up again. Bounded: it starts over when
// full.
class AuthMiddleware::KeyCache {
 public:
  KeyCache(std::chrono::milliseconds ttl, const Clock& clock) : ttl_(ttl), clock_(clock) {}

  std::optional<VerifiedKey> Get(const std::string& digest) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(digest);
    if (it == entries_.end()) return std::nullopt;
    const Entry& e = it->second;
    const bool fresh = e.generation == auth_internal::CredentialsGeneration() &&
                       clock_.SteadyNow() - e.fetched < ttl_;
    const bool unexpired = !e.verified.key.expires_at || clock_.Now() < *e.verified.key.expires_at;
    if (!fresh || !unexpired) {
      entries_.erase(it);
      return std::nullopt;
    }
    return e.verified;
  }

  void Put(const std::string& digest, const VerifiedKey& verified, uint64_t generation) {
    std::lock_guard<std::mutex> lock(mu_);
    if (entries_.size() >= kMaxEntries) entries_.clear();
    entries_[digest] = Entry{verified, clock_.SteadyNow(), generation};
  }

  void Clear() {
    std::lock_guard<std::mutex> lock(mu_);
    entries_.clear();
  }

 private:
  static constexpr size_t kMaxEntries = 10000;
  struct Entry {
    VerifiedKey verified;
    Clock::SteadyTimePoint fetched;
    uint64_t generation;
  };
  const std::chrono::milliseconds ttl_;
  const Clock& clock_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
};

void AuthMiddleware::Reset() {
  guard_.Clear();
  if (cache_) cache_->Clear();
}

std::optional<VerifiedKey> AuthMiddleware::Verify(const std::string& key) {
  if (!cache_) return VerifyApiKey(*database_, key, *clock_);
  const std::string digest = HashApiKey(key);
  if (auto cached = cache_->Get(digest)) return cached;
  // Read the generation first: a change made during the lookup makes the entry stale.
  const uint64_t generation = auth_internal::CredentialsGeneration();
  std::optional<VerifiedKey> verified = VerifyApiKey(*database_, key, *clock_);
  if (verified) cache_->Put(digest, *verified, generation);
  return verified;
}

AuthMiddleware::AuthMiddleware(const MiddlewareEnv& env, UsageTracker::Options usage)
    : config_(CopyConfig(env.config)),
      clock_(env.clock ? env.clock : &Clock::Real()),
      database_(env.database),
      guard_(config::BruteForceMaxFailures(*config_), config::BruteForceWindow(*config_),
             config::BruteForceBlockDuration(*config_), *clock_) {
  if (const auto ttl = config::KeyCacheTtl(*config_); ttl.count() > 0) {
    cache_ = std::make_unique<KeyCache>(ttl, *clock_);
  }
  if (database_ != nullptr) {
    usage_ = env.group_commit != nullptr ? std::make_unique<UsageTracker>(*env.group_commit)
                                         : std::make_unique<UsageTracker>(*database_, usage);
  }
}

AuthMiddleware::~AuthMiddleware() {
  usage_.reset();  // flushes
}

std::shared_ptr<Middleware> AuthMiddleware::FromEnv(const MiddlewareEnv& env) {
  return std::make_shared<AuthMiddleware>(env);
}

grpc::Status AuthMiddleware::Handle(ServerCall& call, Next next) {
  const MethodInfo& method = call.method();
  const bool forced = method.policy.auth_required;
  if (!forced && (IsFrameworkPublicService(method.service) ||
                  config::IsPublicMethod(*config_, method.service, method.method))) {
    return next();
  }
  const bool required = forced || config::RequireAuth(*config_, method.service, method.method);
  grpc::Status status = Authenticate(call, required);
  if (!status.ok()) return status;
  return next();
}

grpc::Status AuthMiddleware::Authenticate(ServerCall& call, bool required) {
  Context& ctx = call.context();
  const std::string peer = PeerWithoutPort(ctx.peer());
  if (auto blocked = guard_.BlockedFor(peer); blocked.count() > 0) {
    const auto seconds = (blocked.count() + 999) / 1000;
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                        "Too many invalid API keys from this address; try again in " +
                            std::to_string(seconds) + " seconds");
  }
  std::optional<std::string> key = ExtractApiKey(ctx);
  if (!key) {
    if (required) return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, kApiKeyRequired);
    return grpc::Status::OK;  // anonymous
  }
  auto reject = [&] {
    if (guard_.RecordFailure(peer)) {
      RPCFORGE_LOG_WARN("auth", "blocking {} after repeated invalid API keys", peer);
    }
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, kInvalidApiKey);
  };
  if (key->empty()) return reject();

  if (config_->auth().accept_secret_key() && !config_->secret_key().empty() &&
      SecretEquals(*key, config_->secret_key())) {
    ApiKey internal;
    internal.name = "secret_key";
    internal.is_secret_key = true;
    context_internal::CallState::SetUser(ctx, std::nullopt);
    context_internal::CallState::SetApiKey(ctx, std::move(internal));
    return grpc::Status::OK;
  }

  if (database_ == nullptr) {
    std::call_once(no_database_logged_, [] {
      RPCFORGE_LOG_ERROR("auth",
                         "the application has no database: every API key is rejected "
                         "(configure database.path and run `migrate`)");
    });
    return reject();
  }
  std::optional<VerifiedKey> verified = Verify(*key);
  if (!verified) return reject();
  // The count commits with the call's log row (or before the answer without one).
  if (usage_) {
    // The count is on disk before the answer: journaled, or committed with the call's
    // log row (the dispatcher waits for it when no request log runs).
    bool journaled = false;
    const uint64_t ticket = usage_->Record(verified->key.id, clock_->Now(), &journaled);
    if (!journaled || database_->pinned()) call.RequireCommitted(usage_->commit(), ticket);
  }
  context_internal::CallState::SetUser(ctx, std::move(verified->user));
  context_internal::CallState::SetApiKey(ctx, std::move(verified->key));
  return grpc::Status::OK;
}

}  // namespace rpcforge::auth
