// SPDX-License-Identifier: Apache-2.0
// ConfigError, Load (file < env < flags, then Validate) and the accessors that apply
// the defaults documented in config.proto.
#include "rpcforge/config/config.h"

#include <algorithm>

namespace rpcforge::config {
namespace {

constexpr char kDefaultAddress[] = "127.0.0.1:50051";
constexpr int kDefaultMaxWorkers = 16;
constexpr int kDefaultMaxConcurrentRpcs = 1000;
constexpr int kDefaultMaxReceiveMessageBytes = 4 * 1024 * 1024;  // gRPC's
constexpr char kDefaultDatabasePath[] = "rpcforge.sqlite3";

using std::chrono::milliseconds;
using Ms = milliseconds;

template <typename D>
Ms DurationOr(bool has, const D& d, Ms fallback) {
  return has ? ToMillis(d) : fallback;
}

}  // namespace

std::string ConfigError::ToString() const {
  std::string out;
  if (!source.empty()) {
    out += source;
    if (line > 0) out += ":" + std::to_string(line);
    if (line > 0 && column > 0) out += ":" + std::to_string(column);
    out += ": ";
  }
  if (!path.empty()) out += path + ": ";
  return out + message;
}

std::string LoadResult::ErrorText() const {
  std::string out;
  for (const ConfigError& e : errors) out += e.ToString() + "\n";
  return out;
}

LoadResult Load(const Sources& sources) {
  LoadResult result;
  if (!sources.file.empty()) result = LoadFile(sources.file);
  auto append = [&result](std::vector<ConfigError> errors) {
    for (auto& e : errors) result.errors.push_back(std::move(e));
  };
  if (sources.environment) {
    append(ApplyEnvironment(&result.config, *sources.environment, &result.locations));
  } else {
    append(ApplyEnvironment(&result.config, &result.locations));
  }
  for (const Override& o : sources.overrides) {
    append(ApplyOverride(&result.config, o.path, o.value, o.source.empty() ? "flag" : o.source,
                         &result.locations));
  }
  append(Validate(result.config, result.locations));
  return result;
}

// --- server

std::string ListenAddress(const v1::Config& c) {
  return c.server().address().empty() ? kDefaultAddress : c.server().address();
}
int MaxWorkers(const v1::Config& c) {
  return c.server().has_max_workers() ? static_cast<int>(c.server().max_workers())
                                      : kDefaultMaxWorkers;
}
int MaxConcurrentRpcs(const v1::Config& c) {
  return c.server().has_max_concurrent_rpcs() ? static_cast<int>(c.server().max_concurrent_rpcs())
                                              : kDefaultMaxConcurrentRpcs;
}
Ms ShutdownGrace(const v1::Config& c) {
  return DurationOr(c.server().has_shutdown_grace_period(), c.server().shutdown_grace_period(),
                    Ms(10000));
}
int MaxReceiveMessageBytes(const v1::Config& c) {
  return c.server().has_max_receive_message_bytes() ? c.server().max_receive_message_bytes()
                                                    : kDefaultMaxReceiveMessageBytes;
}
int MaxSendMessageBytes(const v1::Config& c) {
  return c.server().has_max_send_message_bytes() ? c.server().max_send_message_bytes() : -1;
}
Ms KeepaliveTime(const v1::Config& c) {
  const auto& k = c.server().keepalive();
  return DurationOr(k.has_time(), k.time(), Ms(2 * 3600 * 1000));
}
Ms KeepaliveTimeout(const v1::Config& c) {
  const auto& k = c.server().keepalive();
  return DurationOr(k.has_timeout(), k.timeout(), Ms(20000));
}
bool KeepalivePermitWithoutCalls(const v1::Config& c) {
  return c.server().keepalive().permit_without_calls();
}
bool TlsEnabled(const v1::Config& c) { return !c.server().tls().cert_chain_file().empty(); }
bool MutualTls(const v1::Config& c) {
  return TlsEnabled(c) && !c.server().tls().client_ca_file().empty();
}
bool ReflectionEnabled(const v1::Config& c) {
  return !c.server().has_reflection() || c.server().reflection();
}
bool HealthEnabled(const v1::Config& c) { return !c.server().has_health() || c.server().health(); }

// --- logging

log::Level LoggingLevel(const v1::Config& c) {
  switch (c.logging().level()) {
    case v1::LOG_LEVEL_TRACE:
      return log::Level::kTrace;
    case v1::LOG_LEVEL_DEBUG:
      return log::Level::kDebug;
    case v1::LOG_LEVEL_WARN:
      return log::Level::kWarn;
    case v1::LOG_LEVEL_ERROR:
      return log::Level::kError;
    case v1::LOG_LEVEL_OFF:
      return log::Level::kOff;
    default:
      return log::Level::kInfo;
  }
}
log::Format LoggingFormat(const v1::Config& c) {
  return c.logging().format() == v1::LOG_FORMAT_JSON ? log::Format::kJson : log::Format::kText;
}

// --- database

std::string DatabasePath(const v1::Config& c) {
  return c.database().path().empty() ? kDefaultDatabasePath : c.database().path();
}
Ms DatabaseBusyTimeout(const v1::Config& c) {
  return DurationOr(c.database().has_busy_timeout(), c.database().busy_timeout(), Ms(5000));
}
int DatabaseMaxConnections(const v1::Config& c) {
  return c.database().has_max_connections() ? static_cast<int>(c.database().max_connections()) : 8;
}
std::string DatabaseJournalDir(const v1::Config& c) { return c.database().journal_dir(); }
int DatabaseCacheKib(const v1::Config& c) {
  return c.database().has_cache_size_kib() ? static_cast<int>(c.database().cache_size_kib()) : 1024;
}

// --- pipeline and services

const std::vector<std::string>& DefaultMiddlewares() {
  // The built-ins and their order (rpcforge/middleware/builtins.h).
  static const std::vector<std::string> kDefault = {"max_concurrency", "signals", "request_logging",
                                                    "signature_check", "auth",    "rate_limit"};
  return kDefault;
}
std::vector<std::string> Middlewares(const v1::Config& c) {
  if (c.middlewares().empty()) return DefaultMiddlewares();
  return {c.middlewares().begin(), c.middlewares().end()};
}
bool ServiceEnabled(const v1::Config& c, std::string_view full_service_name) {
  if (c.enabled_services().empty()) return true;
  return std::find(c.enabled_services().begin(), c.enabled_services().end(), full_service_name) !=
         c.enabled_services().end();
}

// --- auth

bool RequireAuth(const v1::Config& c, std::string_view service, std::string_view method) {
  const auto& overrides = c.auth().require_auth_overrides();
  auto it = overrides.find(std::string(service) + "/" + std::string(method));
  if (it != overrides.end()) return it->second;
  it = overrides.find(std::string(service));
  if (it != overrides.end()) return it->second;
  return c.auth().require_auth();
}
bool IsPublicMethod(const v1::Config& c, std::string_view service, std::string_view method) {
  const std::string full = std::string(service) + "/" + std::string(method);
  for (const auto& m : c.auth().public_methods()) {
    if (m == full || m == service) return true;
  }
  return false;
}
int BruteForceMaxFailures(const v1::Config& c) {
  const auto& g = c.auth().brute_force_guard();
  return g.has_max_failures() ? static_cast<int>(g.max_failures()) : 10;
}
Ms BruteForceWindow(const v1::Config& c) {
  const auto& g = c.auth().brute_force_guard();
  return DurationOr(g.has_window(), g.window(), Ms(60000));
}
Ms BruteForceBlockDuration(const v1::Config& c) {
  const auto& g = c.auth().brute_force_guard();
  return DurationOr(g.has_block_duration(), g.block_duration(), Ms(300000));
}

Ms KeyCacheTtl(const v1::Config& c) {
  return DurationOr(c.auth().has_key_cache_ttl(), c.auth().key_cache_ttl(), Ms(1000));
}

// --- request log, server status

bool RequestLogEnabled(const v1::Config& c) {
  return !c.request_log().has_enabled() || c.request_log().enabled();
}
bool RequestLogDurable(const v1::Config& c) {
  return c.request_log().mode() != v1::REQUEST_LOG_MODE_WRITE_BEHIND;
}
int RequestLogQueueSize(const v1::Config& c) {
  return c.request_log().has_queue_size() ? static_cast<int>(c.request_log().queue_size()) : 10000;
}
int RequestLogBatchSize(const v1::Config& c) {
  if (c.request_log().has_batch_size()) return static_cast<int>(c.request_log().batch_size());
  // 1000 rows per transaction: ci/load measured 12 % less server CPU per logged Create
  // than with 100 (fewer commits, WAL frames and lock hand-overs with the handlers).
  return std::max(1, std::min(1000, RequestLogQueueSize(c)));
}
Ms RequestLogRetention(const v1::Config& c) {
  return DurationOr(c.request_log().has_retention(), c.request_log().retention(),
                    Ms(30LL * 24 * 3600 * 1000));
}
Ms HeartbeatInterval(const v1::Config& c) {
  return DurationOr(c.server_status().has_heartbeat_interval(),
                    c.server_status().heartbeat_interval(), Ms(30000));
}

Ms RateLimitPeriod(const v1::RateLimitRule& rule) { return ToMillis(rule.period()); }

// --- limits

InputLimits Limits(const v1::Config& c) {
  const auto& l = c.limits();
  InputLimits out;
  if (l.has_max_filter_length()) out.max_filter_length = l.max_filter_length();
  if (l.has_max_filter_terms()) out.max_filter_terms = l.max_filter_terms();
  if (l.has_max_order_by_fields()) out.max_order_by_fields = l.max_order_by_fields();
  if (l.has_max_page_token_length()) out.max_page_token_length = l.max_page_token_length();
  if (l.has_max_update_mask_paths()) out.max_update_mask_paths = l.max_update_mask_paths();
  return out;
}

}  // namespace rpcforge::config
