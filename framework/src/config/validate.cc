// SPDX-License-Identifier: Apache-2.0
// Semantic checks of a loaded config. The loader already guarantees types; this file
// checks meaning: addresses, ranges, files, names and cross-field rules.
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>

#include "config/internal.h"
#include "rpcforge/config/config.h"

namespace rpcforge::config {
namespace {

using config_internal::ElementPath;
using config_internal::MapEntryPath;
using config_internal::Quote;

bool IsIdentifier(std::string_view s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

// IsDottedName: identifiers separated by single dots ("blog.v1.PostService").
bool IsDottedName(std::string_view s) {
  while (true) {
    size_t dot = s.find('.');
    if (!IsIdentifier(s.substr(0, dot))) return false;
    if (dot == std::string_view::npos) return true;
    s.remove_prefix(dot + 1);
  }
}

// IsMethodSpec: "pkg.Service" or "pkg.Service/Method".
bool IsMethodSpec(std::string_view s) {
  size_t slash = s.find('/');
  if (slash == std::string_view::npos) return IsDottedName(s);
  return IsDottedName(s.substr(0, slash)) && IsIdentifier(s.substr(slash + 1));
}

bool IsMetadataName(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

bool Positive(const google::protobuf::Duration& d) {
  return d.seconds() > 0 || (d.seconds() == 0 && d.nanos() > 0);
}

bool Negative(const google::protobuf::Duration& d) { return d.seconds() < 0 || d.nanos() < 0; }

class Checker {
 public:
  explicit Checker(const SourceMap& locations) : locations_(locations) {}

  void Error(const std::string& path, std::string message) {
    ConfigError e;
    e.path = path;
    e.message = std::move(message);
    auto it = locations_.find(path);
    if (it != locations_.end()) {
      e.source = it->second.source;
      e.line = it->second.line;
      e.column = it->second.column;
    }
    errors_.push_back(std::move(e));
  }

  // PositiveIfSet: a Duration field that, when set, must be > 0.
  void PositiveIfSet(bool has, const google::protobuf::Duration& d, const std::string& path) {
    if (has && !Positive(d)) Error(path, "must be > 0");
  }
  void NotNegative(const google::protobuf::Duration& d, const std::string& path) {
    if (Negative(d)) Error(path, "cannot be negative");
  }

  void Readable(const std::string& file, const std::string& path) {
    if (file.empty()) return;
    if (access(file.c_str(), R_OK) != 0) {
      Error(path, "cannot read " + Quote(file) + ": " + std::strerror(errno));
    }
  }

  // NameList: non-empty, unique, and (with `pred`) well-formed entries.
  template <typename List, typename Pred>
  void NameList(const List& names, const std::string& path, Pred pred, const char* expected) {
    std::map<std::string, int> seen;
    for (int i = 0; i < names.size(); ++i) {
      const std::string& n = names.Get(i);
      const std::string element = ElementPath(path, i);
      if (n.empty()) {
        Error(element, "cannot be empty");
      } else if (!pred(n)) {
        Error(element, "expected " + std::string(expected) + ", got " + Quote(n));
      } else if (auto [it, inserted] = seen.emplace(n, i); !inserted) {
        Error(element, "duplicate " + Quote(n) + " (also " + ElementPath(path, it->second) + ")");
      }
    }
  }

  std::vector<ConfigError> Take() { return std::move(errors_); }

 private:
  const SourceMap& locations_;
  std::vector<ConfigError> errors_;
};

void CheckAddress(const std::string& address, Checker* c) {
  if (address.empty()) return;  // the default
  for (const char* scheme : {"unix:", "unix-abstract:"}) {
    if (address.rfind(scheme, 0) == 0) {
      if (address.size() == std::strlen(scheme)) {
        c->Error("server.address", "expected a socket path after " + Quote(scheme));
      }
      return;
    }
  }
  std::string host;
  int port = 0;
  if (ParseHostPort(address, &host, &port)) return;
  // Say what is wrong with the port when the shape is right.
  size_t colon = address.rfind(':');
  std::string_view port_text =
      colon == std::string::npos ? "" : std::string_view(address).substr(colon + 1);
  bool digits = !port_text.empty() && port_text.size() < 9;
  for (char ch : port_text) digits = digits && std::isdigit(static_cast<unsigned char>(ch));
  if (digits && std::stol(std::string(port_text)) > 65535) {
    c->Error("server.address", "port " + std::string(port_text) + " is out of range (0..65535)");
    return;
  }
  c->Error("server.address",
           "expected \"HOST:PORT\", \"[IPv6]:PORT\" or \"unix:PATH\", got " + Quote(address));
}

void CheckAdmin(const v1::AdminConfig& a, Checker* c) {
  std::string host;
  int port = 0;
  if (!a.address().empty() && !ParseHostPort(a.address(), &host, &port)) {
    c->Error("admin.address",
             "expected \"HOST:PORT\" or \"[IPv6]:PORT\", got " + Quote(a.address()));
  }
}

void CheckServer(const v1::ServerConfig& s, Checker* c) {
  CheckAddress(s.address(), c);
  if (s.has_max_workers() && s.max_workers() < 1) c->Error("server.max_workers", "must be >= 1");
  const int workers = static_cast<int>(s.has_max_workers() ? s.max_workers() : 16);
  if (workers >= 1) {
    if (s.has_max_concurrent_rpcs() && static_cast<int64_t>(s.max_concurrent_rpcs()) < workers) {
      c->Error("server.max_concurrent_rpcs",
               "must be >= server.max_workers (" + std::to_string(workers) + ")");
    } else if (!s.has_max_concurrent_rpcs() && workers > 1000) {
      c->Error("server.max_workers",
               "must be <= server.max_concurrent_rpcs (default 1000); raise that too");
    }
  }
  c->NotNegative(s.shutdown_grace_period(), "server.shutdown_grace_period");
  if (s.has_max_receive_message_bytes() && s.max_receive_message_bytes() < 1) {
    c->Error("server.max_receive_message_bytes", "must be >= 1");
  }
  if (s.has_max_send_message_bytes() && s.max_send_message_bytes() < 1) {
    c->Error("server.max_send_message_bytes", "must be >= 1 (leave it out for unlimited)");
  }
  c->PositiveIfSet(s.keepalive().has_time(), s.keepalive().time(), "server.keepalive.time");
  c->PositiveIfSet(s.keepalive().has_timeout(), s.keepalive().timeout(),
                   "server.keepalive.timeout");

  const auto& tls = s.tls();
  const bool cert = !tls.cert_chain_file().empty(), key = !tls.private_key_file().empty(),
             ca = !tls.client_ca_file().empty();
  if (cert && !key) {
    c->Error("server.tls.cert_chain_file", "needs server.tls.private_key_file");
  } else if (key && !cert) {
    c->Error("server.tls.private_key_file", "needs server.tls.cert_chain_file");
  } else if (ca && !cert) {
    c->Error("server.tls.client_ca_file",
             "needs server.tls.cert_chain_file and server.tls.private_key_file");
  }
  c->Readable(tls.cert_chain_file(), "server.tls.cert_chain_file");
  c->Readable(tls.private_key_file(), "server.tls.private_key_file");
  c->Readable(tls.client_ca_file(), "server.tls.client_ca_file");
}

void CheckRateLimits(const v1::Config& config, Checker* c) {
  struct GroupRule {
    int index;
    uint32_t max_calls;
    int64_t period_ms;
    std::string key;
  };
  std::map<std::string, GroupRule> groups;
  for (int i = 0; i < config.rate_limits_size(); ++i) {
    const auto& rule = config.rate_limits(i);
    const std::string path = ElementPath("rate_limits", i);
    if (rule.methods().empty()) {
      c->Error(path + ".methods", "is required: list \"pkg.Service/Method\" or \"pkg.Service\"");
    }
    c->NameList(rule.methods(), path + ".methods", IsMethodSpec,
                "\"pkg.Service/Method\" or \"pkg.Service\"");
    if (rule.max_calls() < 1) c->Error(path + ".max_calls", "is required and must be >= 1");
    if (!rule.has_period()) {
      c->Error(path + ".period", "is required and must be > 0");
    } else if (!Positive(rule.period())) {
      c->Error(path + ".period", "must be > 0");
    }
    RateLimitKey key;
    if (!ParseRateLimitKey(rule.key(), &key)) {
      c->Error(path + ".key", "bad key " + Quote(rule.key()) +
                                  "; valid kinds: peer, user, metadata:NAME, request:dot.path");
    }
    if (!rule.group().empty()) {
      GroupRule mine{i, rule.max_calls(), RateLimitPeriod(rule).count(),
                     rule.key().empty() ? "peer" : rule.key()};
      auto [it, inserted] = groups.emplace(rule.group(), mine);
      const GroupRule& first = it->second;
      if (!inserted && (first.max_calls != mine.max_calls || first.period_ms != mine.period_ms ||
                        first.key != mine.key)) {
        c->Error(path + ".group", "rules of group " + Quote(rule.group()) +
                                      " must agree on max_calls, period and key (see " +
                                      ElementPath("rate_limits", first.index) + ")");
      }
    }
  }
}

}  // namespace

bool ParseHostPort(std::string_view address, std::string* host, int* port) {
  std::string_view h, p;
  if (!address.empty() && address[0] == '[') {
    size_t close = address.find(']');
    if (close == std::string_view::npos || close + 1 >= address.size() ||
        address[close + 1] != ':') {
      return false;
    }
    h = address.substr(1, close - 1);
    p = address.substr(close + 2);
  } else {
    size_t colon = address.find(':');
    if (colon == std::string_view::npos || address.find(':', colon + 1) != std::string_view::npos) {
      return false;  // no port, or an IPv6 address without brackets
    }
    h = address.substr(0, colon);
    p = address.substr(colon + 1);
  }
  if (h.empty() || p.empty() || p.size() > 5) return false;
  int value = 0;
  for (char c : p) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    value = value * 10 + (c - '0');
  }
  if (value > 65535) return false;
  *host = std::string(h);
  *port = value;
  return true;
}

bool ParseRateLimitKey(std::string_view text, RateLimitKey* key) {
  RateLimitKey k;
  if (text.empty() || text == "peer") {
    k.kind = RateLimitKey::Kind::kPeer;
  } else if (text == "user") {
    k.kind = RateLimitKey::Kind::kUser;
  } else if (text.rfind("metadata:", 0) == 0) {
    k.kind = RateLimitKey::Kind::kMetadata;
    k.argument = std::string(text.substr(9));
    if (!IsMetadataName(k.argument)) return false;
  } else if (text.rfind("request:", 0) == 0) {
    k.kind = RateLimitKey::Kind::kRequest;
    k.argument = std::string(text.substr(8));
    if (!IsDottedName(k.argument)) return false;
  } else {
    return false;
  }
  *key = std::move(k);
  return true;
}

namespace {

// CheckLoggingAndLists: logging, database.busy_timeout, middlewares, enabled_services.
void CheckLoggingAndLists(const v1::Config& config, Checker* c) {
  if (!v1::LogLevel_IsValid(config.logging().level())) {
    c->Error("logging.level", "unknown level " + std::to_string(config.logging().level()));
  }
  if (!v1::LogFormat_IsValid(config.logging().format())) {
    c->Error("logging.format", "unknown format " + std::to_string(config.logging().format()));
  }
  c->NotNegative(config.database().busy_timeout(), "database.busy_timeout");

  c->NameList(
      config.middlewares(), "middlewares", [](const std::string&) { return true; }, "");
  c->NameList(config.enabled_services(), "enabled_services", IsDottedName,
              "a full service name like \"pkg.v1.Service\"");
}

// CheckAuth: the auth section and secret_key.
void CheckAuth(const v1::Config& config, Checker* c) {
  const auto& auth = config.auth();
  if (auth.accept_secret_key()) {
    if (config.secret_key().empty()) {
      c->Error("secret_key", "is required when auth.accept_secret_key is true");
    } else if (config.secret_key().size() < 32) {
      c->Error("secret_key", "must be at least 32 characters when auth.accept_secret_key is true");
    }
  }
  std::set<std::string> override_keys;  // sorted: map order is unspecified
  for (const auto& [k, v] : auth.require_auth_overrides()) override_keys.insert(k);
  for (const auto& k : override_keys) {
    if (!IsMethodSpec(k)) {
      c->Error(MapEntryPath("auth.require_auth_overrides", k),
               "expected \"pkg.Service/Method\" or \"pkg.Service\"");
    }
  }
  c->NameList(auth.public_methods(), "auth.public_methods", IsMethodSpec,
              "\"pkg.Service/Method\" or \"pkg.Service\"");
  const auto& guard = auth.brute_force_guard();
  c->PositiveIfSet(guard.has_window(), guard.window(), "auth.brute_force_guard.window");
  c->PositiveIfSet(guard.has_block_duration(), guard.block_duration(),
                   "auth.brute_force_guard.block_duration");
  c->NotNegative(auth.key_cache_ttl(), "auth.key_cache_ttl");
}

// CheckStorage: database, request_log and server_status.
void CheckStorage(const v1::Config& config, Checker* c) {
  const auto& database = config.database();
  if (database.has_max_connections() && database.max_connections() < 1) {
    c->Error("database.max_connections", "must be >= 1");
  }
  if (database.has_cache_size_kib() && database.cache_size_kib() < 16) {
    c->Error("database.cache_size_kib", "must be >= 16");
  }

  const auto& rl = config.request_log();
  if (rl.has_queue_size() && rl.queue_size() < 1)
    c->Error("request_log.queue_size", "must be >= 1");
  if (rl.has_batch_size() && rl.batch_size() < 1) {
    c->Error("request_log.batch_size", "must be >= 1");
  } else if (RequestLogQueueSize(config) >= 1 &&
             RequestLogBatchSize(config) > RequestLogQueueSize(config)) {
    c->Error("request_log.batch_size", "must be <= request_log.queue_size (" +
                                           std::to_string(RequestLogQueueSize(config)) + ")");
  }
  c->NotNegative(rl.retention(), "request_log.retention");

  c->PositiveIfSet(config.server_status().has_heartbeat_interval(),
                   config.server_status().heartbeat_interval(), "server_status.heartbeat_interval");
}

// CheckLimits: the caps of `limits`.
void CheckLimits(const v1::Config& config, Checker* c) {
  const auto& limits = config.limits();
  auto in_range = [c](bool has, uint32_t value, const char* path, uint32_t max) {
    if (has && (value < 1 || value > max)) {
      c->Error(path, "must be between 1 and " + std::to_string(max));
    }
  };
  in_range(limits.has_max_filter_length(), limits.max_filter_length(), "limits.max_filter_length",
           65536);
  in_range(limits.has_max_filter_terms(), limits.max_filter_terms(), "limits.max_filter_terms",
           500);
  in_range(limits.has_max_order_by_fields(), limits.max_order_by_fields(),
           "limits.max_order_by_fields", 64);
  in_range(limits.has_max_page_token_length(), limits.max_page_token_length(),
           "limits.max_page_token_length", 4096);
  in_range(limits.has_max_update_mask_paths(), limits.max_update_mask_paths(),
           "limits.max_update_mask_paths", 1024);
}

// CheckSignature: signature_check and its place in the chain.
void CheckSignature(const v1::Config& config, Checker* c) {
  const auto& sig = config.signature_check().metadata();
  if (!sig.empty()) {
    auto chain = Middlewares(config);
    if (std::find(chain.begin(), chain.end(), "signature_check") == chain.end()) {
      c->Error("middlewares",
               "signature_check.metadata is set but \"signature_check\" is not in middlewares");
    }
    std::map<std::string, std::string> sorted(sig.begin(), sig.end());
    for (const auto& [k, v] : sorted) {
      const std::string path = MapEntryPath("signature_check.metadata", k);
      if (!IsMetadataName(k)) {
        c->Error(path, "metadata names are lower case letters, digits, '-', '_' and '.'");
      } else if (v.empty()) {
        c->Error(path, "the required value cannot be empty");
      }
    }
  }
}

}  // namespace

std::vector<ConfigError> Validate(const v1::Config& config, const SourceMap& locations) {
  Checker c(locations);
  CheckServer(config.server(), &c);
  CheckAdmin(config.admin(), &c);
  CheckLoggingAndLists(config, &c);
  CheckAuth(config, &c);
  CheckStorage(config, &c);
  CheckRateLimits(config, &c);
  CheckLimits(config, &c);
  CheckSignature(config, &c);
  return c.Take();
}

}  // namespace rpcforge::config
