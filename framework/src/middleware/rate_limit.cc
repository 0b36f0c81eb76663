// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/middleware/rate_limit.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <functional>
#include <map>
#include <optional>
#include <queue>
#include <unordered_map>
#include <utility>

#include "core/logging.h"
#include "rpcforge/config/config.h"
#include "rpcforge/db/database.h"
#include "rpcforge/db/value.h"
#include "rpcforge/errors.h"
#include "rpcforge/server/peer.h"

namespace rpcforge {
namespace {

using Ms = std::chrono::milliseconds;

bool IsIdentifier(std::string_view s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

bool IsDottedName(std::string_view s) {
  if (s.empty()) return false;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    if (!IsIdentifier(s.substr(start, dot == std::string_view::npos ? dot : dot - start))) {
      return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// Splits "pkg.Service/Method" (or "pkg.Service") into its parts; false when malformed.
bool ParseMethodSpec(std::string_view spec, std::string* service, std::string* method) {
  size_t slash = spec.find('/');
  std::string_view s = spec.substr(0, slash);
  std::string_view m;
  if (slash != std::string_view::npos) m = spec.substr(slash + 1);
  if (!IsDottedName(s)) return false;
  if (slash != std::string_view::npos && !IsIdentifier(m)) return false;
  *service = std::string(s);
  *method = std::string(m);
  return true;
}

// Renders a singular field as key text; nullopt when `path` names no singular scalar.
std::optional<std::string> ReadRequestField(const google::protobuf::Message& request,
                                            std::string_view path) {
  using google::protobuf::FieldDescriptor;
  const google::protobuf::Message* m = &request;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string name(path.substr(start, dot == std::string_view::npos ? dot : dot - start));
    const FieldDescriptor* f = m->GetDescriptor()->FindFieldByName(name);
    if (f == nullptr || f->is_repeated()) return std::nullopt;
    const google::protobuf::Reflection* r = m->GetReflection();
    if (dot != std::string_view::npos) {
      if (f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) return std::nullopt;
      m = &r->GetMessage(*m, f);
      start = dot + 1;
      continue;
    }
    char buf[40];
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32:
        return std::to_string(r->GetInt32(*m, f));
      case FieldDescriptor::CPPTYPE_INT64:
        return std::to_string(r->GetInt64(*m, f));
      case FieldDescriptor::CPPTYPE_UINT32:
        return std::to_string(r->GetUInt32(*m, f));
      case FieldDescriptor::CPPTYPE_UINT64:
        return std::to_string(r->GetUInt64(*m, f));
      case FieldDescriptor::CPPTYPE_BOOL:
        return r->GetBool(*m, f) ? "true" : "false";
      case FieldDescriptor::CPPTYPE_ENUM:
        return std::to_string(r->GetEnumValue(*m, f));
      case FieldDescriptor::CPPTYPE_STRING:
        return r->GetString(*m, f);
      case FieldDescriptor::CPPTYPE_DOUBLE:
        std::snprintf(buf, sizeof buf, "%.17g", r->GetDouble(*m, f));
        return std::string(buf);
      case FieldDescriptor::CPPTYPE_FLOAT:
        std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(r->GetFloat(*m, f)));
        return std::string(buf);
      case FieldDescriptor::CPPTYPE_MESSAGE:
        return std::nullopt;
    }
    return std::nullopt;
  }
}

}  // namespace

// --- Key encoding ---------------------------------------------------------------------

namespace rate_limit_internal {

void AppendKeyPart(std::string* key, std::string_view part) {
  key->append(std::to_string(part.size()));
  key->push_back(':');
  key->append(part.data(), part.size());
}

}  // namespace rate_limit_internal

using rate_limit_internal::AppendKeyPart;

std::string FormatRateLimitMessage(uint32_t max_calls, Ms period, Ms retry_after) {
  const long long wait_s = std::max<long long>(1, (retry_after.count() + 999) / 1000);
  std::string period_s;
  if (period.count() % 1000 == 0) {
    period_s = std::to_string(period.count() / 1000);
  } else {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(period.count()) / 1000.0);
    period_s = buf;
    while (period_s.back() == '0') period_s.pop_back();
  }
  return "Reached limit of " + std::to_string(max_calls) + " calls per " + period_s +
         " seconds. Resource will be available in " + std::to_string(wait_s) + " seconds.";
}

// --- Storage --------------------------------------------------------------------------

RateLimitStorage::~RateLimitStorage() = default;

struct InMemoryRateLimitStorage::Shard {
  struct Window {
    Clock::SteadyTimePoint end;
    uint32_t count = 0;
  };
  using Expiry = std::pair<Clock::SteadyTimePoint, std::string>;

  // Each window has exactly one entry in `expiries` (windows are only created when
  // absent and only erased here), so popping the heap finds every ended window.
  void Evict(Clock::SteadyTimePoint now) {
    while (!expiries.empty() && expiries.top().first <= now) {
      auto it = windows.find(expiries.top().second);
      if (it != windows.end() && it->second.end <= now) windows.erase(it);
      expiries.pop();
    }
  }

  mutable std::mutex mu;
  std::unordered_map<std::string, Window> windows;
  std::priority_queue<Expiry, std::vector<Expiry>, std::greater<Expiry>> expiries;
};

InMemoryRateLimitStorage::InMemoryRateLimitStorage() : shards_(new Shard[kShards]) {}
InMemoryRateLimitStorage::~InMemoryRateLimitStorage() = default;

RateLimitDecision InMemoryRateLimitStorage::TryAcquire(std::string_view key, uint32_t max_calls,
                                                       Ms period, const Clock& clock) {
  Shard& shard = shards_[std::hash<std::string_view>()(key) % kShards];
  std::string owned(key);
  std::lock_guard<std::mutex> lock(shard.mu);
  // Read the time under the lock, so calls on one key see non-decreasing times.
  const Clock::SteadyTimePoint now = clock.SteadyNow();
  shard.Evict(now);
  auto [it, inserted] = shard.windows.try_emplace(std::move(owned));
  Shard::Window& window = it->second;
  if (inserted) {
    window.end = now + period;
    shard.expiries.emplace(window.end, it->first);
  }
  RateLimitDecision decision;
  if (window.count < max_calls) {
    ++window.count;
    decision.allowed = true;
    decision.remaining = max_calls - window.count;
  } else {
    // Rejected calls are not counted: the window neither fills up nor moves.
    decision.retry_after = std::chrono::ceil<Ms>(window.end - now);
  }
  return decision;
}

void InMemoryRateLimitStorage::EvictExpired(const Clock& clock) {
  for (size_t i = 0; i < kShards; ++i) {
    std::lock_guard<std::mutex> lock(shards_[i].mu);
    shards_[i].Evict(clock.SteadyNow());
  }
}

void InMemoryRateLimitStorage::Clear() {
  for (size_t i = 0; i < kShards; ++i) {
    std::lock_guard<std::mutex> lock(shards_[i].mu);
    shards_[i].windows.clear();
    shards_[i].expiries = {};
  }
}

size_t InMemoryRateLimitStorage::size() const {
  size_t n = 0;
  for (size_t i = 0; i < kShards; ++i) {
    std::lock_guard<std::mutex> lock(shards_[i].mu);
    n += shards_[i].windows.size();
  }
  return n;
}

// --- Rules ----------------------------------------------------------------------------

RateLimitRule RateLimitRule::FromConfig(const config::v1::RateLimitRule& rule) {
  RateLimitRule r;
  r.methods.assign(rule.methods().begin(), rule.methods().end());
  r.group = rule.group();
  r.max_calls = rule.max_calls();
  r.period = config::RateLimitPeriod(rule);
  r.key = rule.key().empty() ? "peer" : rule.key();
  return r;
}

void RateLimitRule::Validate() const {
  if (methods.empty()) {
    throw InvalidArgument(
        "rate limit rule: methods is required (\"pkg.Service/Method\" or "
        "\"pkg.Service\")");
  }
  std::string service, method;
  for (const std::string& m : methods) {
    if (!ParseMethodSpec(m, &service, &method)) {
      throw InvalidArgument("rate limit rule: bad method \"" + m +
                            "\"; expected \"pkg.Service/Method\" or \"pkg.Service\"");
    }
  }
  if (max_calls < 1) throw InvalidArgument("rate limit rule: max_calls must be >= 1");
  if (period.count() <= 0) {
    throw InvalidArgument("rate limit rule: period must be > 0 (got " +
                          std::to_string(period.count()) + "ms)");
  }
  config::RateLimitKey parsed;
  if (!key_fn && !config::ParseRateLimitKey(key, &parsed)) {
    throw InvalidArgument("rate limit rule: bad key \"" + key +
                          "\"; valid kinds: peer, user, metadata:NAME, request:dot.path");
  }
}

RateLimiter::RateLimiter(std::shared_ptr<RateLimitStorage> storage)
    : storage_(storage ? std::move(storage) : std::make_shared<InMemoryRateLimitStorage>()) {}

void RateLimiter::AddRule(RateLimitRule rule) {
  rule.Validate();
  if (rule.key.empty()) rule.key = "peer";
  std::lock_guard<std::mutex> lock(mu_);
  if (!rule.group.empty()) {
    for (const RateLimitRule& other : rules_) {
      if (other.group == rule.group &&
          (other.max_calls != rule.max_calls || other.period != rule.period)) {
        throw InvalidArgument("rate limit rules of group \"" + rule.group +
                              "\" must agree on max_calls and period");
      }
    }
  }
  rules_.push_back(std::move(rule));
}

std::vector<RateLimitRule> RateLimiter::rules() const {
  std::lock_guard<std::mutex> lock(mu_);
  return rules_;
}

void RateLimiter::SetStorage(std::shared_ptr<RateLimitStorage> storage) {
  std::lock_guard<std::mutex> lock(mu_);
  storage_ = storage ? std::move(storage) : std::make_shared<InMemoryRateLimitStorage>();
}

std::shared_ptr<RateLimitStorage> RateLimiter::storage() const {
  std::lock_guard<std::mutex> lock(mu_);
  return storage_;
}

// --- Middleware -------------------------------------------------------------------------

// A Limit is one counter family: a group, or one ungrouped rule (counted per method).
struct RateLimitMiddleware::Limit {
  std::string scope;  // encoded key prefix naming the group or the rule
  std::string name;   // for messages: "group \"reads\"", "rate_limits[2]", "C++ rule 0"
  bool per_method = true;
  uint32_t max_calls = 0;
  Ms period{0};
  std::string key_text;
  config::RateLimitKey key;
  RateLimitKeyFn key_fn;
  std::vector<std::pair<std::string, std::string>> methods;  // (service, method or "")
  std::atomic<bool> warned{false};

  bool Covers(const MethodInfo& m) const {
    return std::any_of(methods.begin(), methods.end(), [&](const auto& spec) {
      return spec.first == m.service && (spec.second.empty() || spec.second == m.method);
    });
  }

  void AppendCallKey(const ServerCall& call, std::string* out) {
    const Context& ctx = call.context();
    if (key_fn) {
      AppendKeyPart(out, "fn");
      AppendKeyPart(out, key_fn(call));
      return;
    }
    switch (key.kind) {
      case config::RateLimitKey::Kind::kPeer:
        AppendKeyPart(out, "peer");
        AppendKeyPart(out, PeerWithoutPort(ctx.peer()));
        return;
      case config::RateLimitKey::Kind::kUser:
        if (ctx.user()) {
          AppendKeyPart(out, "user");
          AppendKeyPart(out, std::to_string(ctx.user()->id));
        } else {
          AppendKeyPart(out, "anonymous");
        }
        return;
      case config::RateLimitKey::Kind::kMetadata:
        if (auto value = ctx.GetMetadata(key.argument)) {
          AppendKeyPart(out, "metadata");
          AppendKeyPart(out, *value);
        } else {
          AppendKeyPart(out, "metadata-absent");
        }
        return;
      case config::RateLimitKey::Kind::kRequest: {
        std::optional<std::string> value;
        if (call.request() != nullptr) value = ReadRequestField(*call.request(), key.argument);
        if (value) {
          AppendKeyPart(out, "request");
          AppendKeyPart(out, *value);
          return;
        }
        // Fail closed: one shared counter for every call whose key cannot be read.
        if (!warned.exchange(true)) {
          RPCFORGE_LOG_WARN("rate_limit",
                            "{}: key \"{}\" cannot be read for {}/{} ({}); all such calls "
                            "share one counter",
                            name, key_text, call.method().service, call.method().method,
                            call.request() ? "no such singular field" : "no request message");
        }
        AppendKeyPart(out, "request-unavailable");
        return;
      }
    }
  }
};

RateLimitDecision DatabaseRateLimitStorage::TryAcquire(std::string_view key, uint32_t max_calls,
                                                       std::chrono::milliseconds period,
                                                       const Clock& clock) {
  // The counter is the framework's write on the call's behalf, also for a read-only
  // method.
  db::ReadOnlyScope::Suspended writable;
  const int64_t now = std::chrono::duration_cast<Ms>(clock.Now().time_since_epoch()).count();
  const db::Blob bytes(key.begin(), key.end());
  // One statement, so the engine's row lock (PostgreSQL) or write lock (SQLite) makes
  // it atomic across processes: a window that has ended starts again at this call.
  const std::vector<db::Row> rows = db_.Query(
      R"(INSERT INTO "rpcforge_ratelimit" ("key", "window_end_ms", "calls") VALUES (?, ?, 1) )"
      R"(ON CONFLICT ("key") DO UPDATE SET )"
      R"("calls" = CASE WHEN "rpcforge_ratelimit"."window_end_ms" <= ? THEN 1 )"
      R"(ELSE "rpcforge_ratelimit"."calls" + 1 END, )"
      R"("window_end_ms" = CASE WHEN "rpcforge_ratelimit"."window_end_ms" <= ? )"
      R"(THEN excluded."window_end_ms" ELSE "rpcforge_ratelimit"."window_end_ms" END )"
      R"(RETURNING "calls", "window_end_ms")",
      {bytes, now + period.count(), now, now});
  if ((acquired_.fetch_add(1, std::memory_order_relaxed) & 1023) == 1023) {
    db_.Execute("DELETE FROM \"rpcforge_ratelimit\" WHERE \"window_end_ms\" <= ?", {now});
  }
  const int64_t calls = rows.at(0)["calls"].AsInt();
  const int64_t end = rows.at(0)["window_end_ms"].AsInt();
  RateLimitDecision d;
  d.allowed = calls <= static_cast<int64_t>(max_calls);
  if (d.allowed) {
    d.remaining = static_cast<uint32_t>(max_calls - calls);
  } else {
    d.retry_after = Ms(std::max<int64_t>(1, end - now));
  }
  return d;
}

RateLimitMiddleware::RateLimitMiddleware(std::shared_ptr<RateLimiter> limiter,
                                         const config::v1::Config* config, const Clock* clock,
                                         db::Database* database)
    : limiter_(std::move(limiter)),
      storage_(limiter_->storage()),
      clock_(clock ? clock : &Clock::Real()) {
  if (config != nullptr &&
      config->rate_limit_storage() == config::v1::RATE_LIMIT_STORAGE_DATABASE) {
    if (database == nullptr) {
      throw InvalidArgument("rate_limit_storage: database needs the application's database");
    }
    storage_ = std::make_shared<DatabaseRateLimitStorage>(*database);
  }
  std::vector<std::pair<std::string, RateLimitRule>> rules;
  const std::vector<RateLimitRule> cxx = limiter_->rules();
  for (size_t i = 0; i < cxx.size(); ++i) {
    rules.emplace_back("C++ rule " + std::to_string(i), cxx[i]);
  }
  if (config != nullptr) {
    for (int i = 0; i < config->rate_limits_size(); ++i) {
      rules.emplace_back("rate_limits[" + std::to_string(i) + "]",
                         RateLimitRule::FromConfig(config->rate_limits(i)));
    }
  }
  std::map<std::string, Limit*> groups;
  for (auto& [name, rule] : rules) {
    try {
      rule.Validate();
    } catch (const InvalidArgument& e) {
      throw InvalidArgument(name + ": " + e.message());
    }
    Limit* limit = nullptr;
    if (!rule.group.empty()) {
      auto it = groups.find(rule.group);
      if (it != groups.end()) {
        limit = it->second;
        const bool same_key = rule.key_fn || limit->key_fn || rule.key == limit->key_text;
        if (rule.max_calls != limit->max_calls || rule.period != limit->period || !same_key) {
          throw InvalidArgument(name + ": rules of group \"" + rule.group +
                                "\" must agree on max_calls, period and key (see " + limit->name +
                                ")");
        }
      }
    }
    if (limit == nullptr) {
      auto made = std::make_unique<Limit>();
      limit = made.get();
      limit->name = name;
      limit->max_calls = rule.max_calls;
      limit->period = rule.period;
      limit->key_text = rule.key;
      limit->key_fn = rule.key_fn;
      if (!rule.key_fn) config::ParseRateLimitKey(rule.key, &limit->key);
      if (rule.group.empty()) {
        // The limits are part of an ungrouped rule's identity, so servers of one app with
        // different configs never share a window under different limits.
        AppendKeyPart(&limit->scope, "rule");
        AppendKeyPart(&limit->scope, name);
        AppendKeyPart(&limit->scope, std::to_string(rule.max_calls));
        AppendKeyPart(&limit->scope, std::to_string(rule.period.count()));
      } else {
        limit->per_method = false;
        AppendKeyPart(&limit->scope, "group");
        AppendKeyPart(&limit->scope, rule.group);
        groups.emplace(rule.group, limit);
      }
      limits_.push_back(std::move(made));
    }
    for (const std::string& spec : rule.methods) {
      std::string service, method;
      ParseMethodSpec(spec, &service, &method);
      limit->methods.emplace_back(std::move(service), std::move(method));
    }
  }
}

RateLimitMiddleware::~RateLimitMiddleware() = default;

void RateLimitMiddleware::Reset() { storage_->Clear(); }

grpc::Status RateLimitMiddleware::Handle(ServerCall& call, Next next) {
  const MethodInfo& method = call.method();
  for (const auto& limit : limits_) {
    if (!limit->Covers(method)) continue;
    std::string key = limit->scope;
    if (limit->per_method) AppendKeyPart(&key, method.service + "/" + method.method);
    limit->AppendCallKey(call, &key);
    RateLimitDecision d = storage_->TryAcquire(key, limit->max_calls, limit->period, *clock_);
    if (!d.allowed) {
      return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                          FormatRateLimitMessage(limit->max_calls, limit->period, d.retry_after));
    }
  }
  return next();
}

// --- The factory ---------------------------------------------------------------------

MiddlewareFactory RateLimitMiddlewareFactory(std::shared_ptr<RateLimiter> limiter) {
  return [limiter](const MiddlewareEnv& env) -> std::shared_ptr<Middleware> {
    return std::make_shared<RateLimitMiddleware>(limiter, env.config, env.clock, env.database);
  };
}

}  // namespace rpcforge
