// SPDX-License-Identifier: Apache-2.0
// rpcforge::config reads the application's configuration — a YAML file whose schema is
// the protobuf message `rpcforge.config.v1.Config` — then applies environment variables
// and command-line flags over it, and validates the result. Every problem is reported
// as a ConfigError naming the key path and, when known, the file and line; all of them
// are collected, not only the first.
//
//   rpcforge::config::Sources sources;
//   sources.file = "config.yaml";
//   sources.overrides.push_back({"database.path", "/tmp/x.sqlite3", "flag --database"});
//   rpcforge::config::LoadResult r = rpcforge::config::Load(sources);
//   if (!r.ok()) { std::cerr << r.ErrorText(); return 2; }
//   int workers = rpcforge::config::MaxWorkers(r.config);
//
// The accessors at the end apply the documented defaults; no other code should read
// an optional field of v1::Config directly. docs/configuration.md is the reference.
// Every function is reentrant and thread-safe on distinct configs (the environ overload
// of ApplyEnvironment excepted while another thread calls setenv); results are values
// owned by the caller. Nothing here throws for bad input: errors are returned.
#ifndef RPCFORGE_CONFIG_CONFIG_H_
#define RPCFORGE_CONFIG_CONFIG_H_

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rpcforge/config/v1/config.pb.h"
#include "rpcforge/export.h"
#include "rpcforge/limits.h"
#include "rpcforge/log.h"

namespace rpcforge::config {

// Position is where a value came from: a file name and 1-based line and column, or
// "env RPCFORGE_X" / "flag --x" with line 0.
struct Position {
  std::string source;
  int line = 0;
  int column = 0;
};

// SourceMap maps key paths ("server.max_workers", "rate_limits[0].period") to where
// they were set, so Validate can name the line of a semantically bad value.
using SourceMap = std::map<std::string, Position>;

// ConfigError is one problem with the configuration.
struct RPCFORGE_EXPORT ConfigError {
  // Key path: "server.max_workers", "rate_limits[1].period",
  // "auth.require_auth_overrides[\"blog.v1.PostService\"]". Empty for file-level errors.
  std::string path;
  int line = 0;    // 1-based; 0 if unknown
  int column = 0;  // 1-based; 0 if unknown
  // The file name, "env RPCFORGE_...", "flag --...", or empty when unknown.
  std::string source;
  std::string message;

  // ToString renders `config.yaml:12:3: server.max_workers: expected an integer, got
  // "many"`, leaving out the parts that are unknown.
  std::string ToString() const;
};

// LoadResult is a configuration with the errors found while producing it. `config`
// holds whatever could be read even when there are errors.
struct RPCFORGE_EXPORT LoadResult {
  v1::Config config;
  std::vector<ConfigError> errors;
  SourceMap locations;

  bool ok() const { return errors.empty(); }
  // ErrorText is every error's ToString(), one per line (empty when ok()).
  std::string ErrorText() const;
};

// LoadFile reads the YAML file at `path` into a Config, strictly: unknown keys (with a
// suggestion), wrong types, out-of-range integers, bad enum values (listing the valid
// ones), bad durations, duplicate keys and YAML syntax errors are all errors with the
// key path and line. An empty file is a valid empty config; a missing or unreadable
// file is one error. Does not validate semantics (see Validate, Load). Never throws
// for bad input. Thread-safe.
RPCFORGE_EXPORT LoadResult LoadFile(const std::string& path);

// LoadString is LoadFile for text in memory; `source_name` is used in errors.
RPCFORGE_EXPORT LoadResult LoadString(std::string_view yaml, std::string source_name = "<string>");

// EnvironmentVariableName returns the variable that sets the key `path`: "RPCFORGE_"
// followed by the path in upper case with dots as underscores
// ("server.max_workers" -> "RPCFORGE_SERVER_MAX_WORKERS").
RPCFORGE_EXPORT std::string EnvironmentVariableName(std::string_view path);

// SettablePaths lists every key that environment variables and ApplyOverride can set:
// scalars, enums, durations, lists of scalars and maps of scalars (not rate_limits).
RPCFORGE_EXPORT std::vector<std::string> SettablePaths();

// ApplyEnvironment sets, for every settable key, the value of its environment variable
// if present in `env`, parsed as by ApplyOverride. A variable under a config section
// (RPCFORGE_SERVER_..., RPCFORGE_AUTH_..., ...) that names no key is an error with a
// suggestion; other variables are ignored. Records the variables in `locations` when
// non-null. Returns the errors (empty on success).
RPCFORGE_EXPORT std::vector<ConfigError> ApplyEnvironment(
    v1::Config* config, const std::map<std::string, std::string>& env,
    SourceMap* locations = nullptr);

// ApplyEnvironment reads the process environment (`environ`). Not thread-safe with
// concurrent setenv.
RPCFORGE_EXPORT std::vector<ConfigError> ApplyEnvironment(v1::Config* config,
                                                          SourceMap* locations = nullptr);

// ApplyOverride sets the key `path` ("logging.level") from the text `value`, as a
// command-line flag does. Scalars parse as in YAML (integers, true/false, enum names,
// durations, any string); lists of scalars are comma-separated ("a,b"); maps are
// comma-separated key=value pairs ("k1=v1,k2=v2"); lists and maps are replaced, not
// appended to. `source` names the flag in errors ("flag --log-level").
RPCFORGE_EXPORT std::vector<ConfigError> ApplyOverride(v1::Config* config, std::string_view path,
                                                       std::string_view value,
                                                       std::string source = "flag",
                                                       SourceMap* locations = nullptr);

// Validate checks the meaning of a loaded config: addresses, ranges, TLS files exist
// and are readable, names are well formed, cross-field rules. Errors name the key path
// and, if `locations` knows it, the source and line.
RPCFORGE_EXPORT std::vector<ConfigError> Validate(const v1::Config& config,
                                                  const SourceMap& locations = {});

// An override from the command line, applied after the environment.
struct Override {
  std::string path;    // "database.path"
  std::string value;   // "/tmp/db.sqlite3"
  std::string source;  // "flag --database"
};

// Sources says where Load reads from, in increasing precedence.
struct Sources {
  // YAML file; empty means none (all defaults).
  std::string file;
  // Environment; std::nullopt reads the process environment.
  std::optional<std::map<std::string, std::string>> environment;
  // Flags, applied in order.
  std::vector<Override> overrides;
};

// Load is the whole pipeline: file < environment < overrides, then Validate. Every
// error of every step is collected.
RPCFORGE_EXPORT LoadResult Load(const Sources& sources);

// ParseDuration parses "30s", "1.5s", "500ms", "2m", "1h30m", "7d" (units ns, us, ms,
// s, m, h, d; "0" alone is zero). Returns false with a message on bad input.
RPCFORGE_EXPORT bool ParseDuration(std::string_view text, google::protobuf::Duration* out,
                                   std::string* error);
// FormatDuration renders a duration the way ParseDuration reads it ("1.5s", "2m").
RPCFORGE_EXPORT std::string FormatDuration(const google::protobuf::Duration& d);

// ParseHostPort splits "host:port" or "[v6]:port" (port 0..65535). Returns false for
// anything else; "unix:" addresses are not host:port.
RPCFORGE_EXPORT bool ParseHostPort(std::string_view address, std::string* host, int* port);

// --- Accessors with defaults applied (see config.proto for each default).

RPCFORGE_EXPORT std::string ListenAddress(const v1::Config& c);
RPCFORGE_EXPORT int MaxWorkers(const v1::Config& c);
RPCFORGE_EXPORT int MaxConcurrentRpcs(const v1::Config& c);
RPCFORGE_EXPORT std::chrono::milliseconds ShutdownGrace(const v1::Config& c);
RPCFORGE_EXPORT int MaxReceiveMessageBytes(const v1::Config& c);
// MaxSendMessageBytes returns -1 for unlimited (gRPC's convention).
RPCFORGE_EXPORT int MaxSendMessageBytes(const v1::Config& c);
RPCFORGE_EXPORT std::chrono::milliseconds KeepaliveTime(const v1::Config& c);
RPCFORGE_EXPORT std::chrono::milliseconds KeepaliveTimeout(const v1::Config& c);
RPCFORGE_EXPORT bool KeepalivePermitWithoutCalls(const v1::Config& c);
// TlsEnabled: a certificate chain is configured. MutualTls: a client CA is too.
RPCFORGE_EXPORT bool TlsEnabled(const v1::Config& c);
RPCFORGE_EXPORT bool MutualTls(const v1::Config& c);
RPCFORGE_EXPORT bool ReflectionEnabled(const v1::Config& c);
RPCFORGE_EXPORT bool HealthEnabled(const v1::Config& c);

RPCFORGE_EXPORT log::Level LoggingLevel(const v1::Config& c);
RPCFORGE_EXPORT log::Format LoggingFormat(const v1::Config& c);

RPCFORGE_EXPORT std::string DatabasePath(const v1::Config& c);
RPCFORGE_EXPORT std::chrono::milliseconds DatabaseBusyTimeout(const v1::Config& c);
RPCFORGE_EXPORT int DatabaseMaxConnections(const v1::Config& c);
RPCFORGE_EXPORT int DatabaseCacheKib(const v1::Config& c);
// DatabaseJournalDir is database.journal_dir (empty: the default, db::Journal).
RPCFORGE_EXPORT std::string DatabaseJournalDir(const v1::Config& c);

// DefaultMiddlewares is the chain used when `middlewares` is empty.
RPCFORGE_EXPORT const std::vector<std::string>& DefaultMiddlewares();
// Middlewares returns the configured chain, or DefaultMiddlewares() when empty.
RPCFORGE_EXPORT std::vector<std::string> Middlewares(const v1::Config& c);
// ServiceEnabled: `enabled_services` is empty or lists `full_service_name`.
RPCFORGE_EXPORT bool ServiceEnabled(const v1::Config& c, std::string_view full_service_name);

// RequireAuth resolves auth.require_auth for one method: the override for
// "service/method" if any, else the one for "service", else auth.require_auth.
// `service` is the full service name ("blog.v1.PostService"), `method` the bare name.
RPCFORGE_EXPORT bool RequireAuth(const v1::Config& c, std::string_view service,
                                 std::string_view method);
// IsPublicMethod: auth.public_methods lists "service/method" or "service".
RPCFORGE_EXPORT bool IsPublicMethod(const v1::Config& c, std::string_view service,
                                    std::string_view method);
RPCFORGE_EXPORT int BruteForceMaxFailures(const v1::Config& c);
RPCFORGE_EXPORT std::chrono::milliseconds BruteForceWindow(const v1::Config& c);
RPCFORGE_EXPORT std::chrono::milliseconds BruteForceBlockDuration(const v1::Config& c);
RPCFORGE_EXPORT std::chrono::milliseconds KeyCacheTtl(const v1::Config& c);

RPCFORGE_EXPORT bool RequestLogEnabled(const v1::Config& c);
// RequestLogDurable: request_log.mode is durable (the default).
RPCFORGE_EXPORT bool RequestLogDurable(const v1::Config& c);
RPCFORGE_EXPORT int RequestLogQueueSize(const v1::Config& c);
RPCFORGE_EXPORT int RequestLogBatchSize(const v1::Config& c);
// RequestLogRetention: zero means keep forever.
RPCFORGE_EXPORT std::chrono::milliseconds RequestLogRetention(const v1::Config& c);

RPCFORGE_EXPORT std::chrono::milliseconds HeartbeatInterval(const v1::Config& c);

// Limits returns the `limits` section with its defaults applied.
RPCFORGE_EXPORT InputLimits Limits(const v1::Config& c);

// RateLimitKey is a parsed RateLimitRule.key.
struct RateLimitKey {
  enum class Kind { kPeer, kUser, kMetadata, kRequest };
  Kind kind = Kind::kPeer;
  std::string argument;  // metadata name or request field path; empty otherwise
};
// ParseRateLimitKey parses "peer", "user", "metadata:NAME", "request:dot.path"; an
// empty text is "peer". Returns false for anything else.
RPCFORGE_EXPORT bool ParseRateLimitKey(std::string_view text, RateLimitKey* key);
RPCFORGE_EXPORT std::chrono::milliseconds RateLimitPeriod(const v1::RateLimitRule& rule);

// ToMillis converts a protobuf Duration (truncating below a millisecond).
RPCFORGE_EXPORT std::chrono::milliseconds ToMillis(const google::protobuf::Duration& d);

}  // namespace rpcforge::config

#endif  // RPCFORGE_CONFIG_CONFIG_H_
