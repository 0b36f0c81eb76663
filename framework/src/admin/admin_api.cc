// SPDX-License-Identifier: Apache-2.0
// The admin port's JSON API (see rpcforge/admin/admin_server.h and docs/operations.md).
#include "admin/admin_api.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "rpcforge/auth/api_keys.h"
#include "rpcforge/db/database.h"
#include "rpcforge/errors.h"
#include "rpcforge/logging/request_log.h"
#include "rpcforge/status/server_status.h"

namespace rpcforge::admin::admin_internal {
namespace {

using nlohmann::json;

constexpr int64_t kMaxHours = 24 * 366;
constexpr int64_t kDefaultPageSize = 50;
constexpr int64_t kMaxPageSize = 500;

// Integer reads a whole-number parameter in [lo, hi], or `fallback` when absent.
int64_t Integer(const Param& param, const char* name, int64_t fallback, int64_t lo, int64_t hi) {
  const std::string text = param(name);
  if (text.empty()) return fallback;
  const bool digits = text.size() <= 18 && std::all_of(text.begin(), text.end(), [](char c) {
                        return std::isdigit(static_cast<unsigned char>(c)) != 0;
                      });
  const int64_t v = digits ? std::stoll(text) : -1;
  if (!digits || v < lo || v > hi) {
    throw InvalidArgument(std::string(name) + " must be a whole number from " + std::to_string(lo) +
                          " to " + std::to_string(hi));
  }
  return v;
}

json Summary(const logging::RequestLogSummary& s) {
  return {{"total_requests", s.total}, {"successful", s.successful},
          {"errors", s.errors},        {"cancelled", s.cancelled},
          {"timeouts", s.timeout},     {"success_rate", s.success_rate},
          {"avg_ms", s.avg_ms},        {"p50_ms", s.p50_ms},
          {"p95_ms", s.p95_ms},        {"p99_ms", s.p99_ms}};
}

json OptionalTime(const std::optional<Clock::TimePoint>& t) {
  return t ? json(FormatTimestamp(*t)) : json(nullptr);
}

// Timestamp reads an RFC 3339 parameter into the form created_at is stored in.
std::string Timestamp(const Param& param, const char* name) {
  const std::string text = param(name);
  if (text.empty()) return "";
  Clock::TimePoint t{};
  if (!ParseTimestamp(text, &t)) {
    throw InvalidArgument(std::string(name) +
                          " must be an RFC 3339 time, like 2026-12-01T17:00:00Z");
  }
  return FormatTimestamp(t);
}

}  // namespace

std::string Health(const Clock& clock) {
  return json{{"status", "ok"}, {"time", FormatTimestamp(clock.Now())}}.dump();
}

std::string Overview(db::Database& db, const Clock& clock, const Param& param) {
  const int64_t hours = Integer(param, "hours", 24, 1, kMaxHours);
  const logging::RequestLogStatistics stats =
      logging::RequestLogStats(db, std::chrono::hours(hours), clock);
  json out = Summary(stats.overall);
  out["hours"] = hours;
  json services = json::object();
  for (const auto& [name, s] : stats.by_service) services[name] = Summary(s);
  json methods = json::object();
  for (const auto& [name, s] : stats.by_method) methods[name] = Summary(s);
  out["services"] = services;
  out["methods"] = methods;
  return out.dump();
}

std::string Requests(db::Database& db, const Param& param) {
  const int64_t page_size = Integer(param, "page_size", kDefaultPageSize, 1, kMaxPageSize);
  const int64_t before = Integer(param, "page_token", 0, 1, INT64_MAX / 2);
  std::string where = "1 = 1";
  std::vector<db::Value> args;
  auto add = [&](const char* clause, const std::string& value) {
    if (value.empty()) return;
    where += std::string(" AND ") + clause;
    args.emplace_back(value);
  };
  add("r.\"service\" = ?", param("service"));
  add("(r.\"method\" = ? OR r.\"full_method\" = ?)", param("method"));
  if (!param("method").empty()) args.emplace_back(param("method"));
  const std::string code = param("code");
  if (!code.empty()) {
    grpc::StatusCode parsed;
    if (!ParseStatusCodeName(code, &parsed)) {
      throw InvalidArgument("code must be a gRPC status code name, like OK or NOT_FOUND");
    }
  }
  add("r.\"code\" = ?", code);
  add("u.\"username\" = ?", param("user"));
  add("r.\"created_at\" >= ?", Timestamp(param, "since"));
  add("r.\"created_at\" < ?", Timestamp(param, "until"));
  if (before > 0) {
    where += " AND r.\"id\" < ?";
    args.emplace_back(before);
  }
  args.emplace_back(page_size + 1);
  const std::vector<db::Row> rows = db.Query(
      "SELECT r.\"id\", r.\"request_id\", r.\"service\", r.\"method\", r.\"full_method\", "
      "r.\"status\", r.\"code\", r.\"error_message\", r.\"duration_ms\", r.\"peer\", "
      "r.\"is_authenticated\", r.\"created_at\", u.\"username\" AS \"username\" "
      "FROM \"rpcforge_requestlog\" r LEFT JOIN \"rpcforge_user\" u ON u.\"id\" = r.\"user_id\" "
      "WHERE " +
          where + " ORDER BY r.\"id\" DESC LIMIT ?",
      args);
  json list = json::array();
  for (size_t i = 0; i < rows.size() && static_cast<int64_t>(i) < page_size; ++i) {
    const db::Row& r = rows[i];
    list.push_back(
        {{"id", r["id"].AsInt()},
         {"request_id", r["request_id"].AsText()},
         {"service", r["service"].AsText()},
         {"method", r["method"].AsText()},
         {"full_method", r["full_method"].AsText()},
         {"status", r["status"].AsText()},
         {"code", r["code"].AsText()},
         {"error_message", r["error_message"].AsText()},
         {"duration_ms",
          r["duration_ms"].is_null() ? json(nullptr) : json(r["duration_ms"].AsDouble())},
         {"peer", r["peer"].AsText()},
         {"user", r["username"].is_null() ? json(nullptr) : json(r["username"].AsText())},
         {"created_at", r["created_at"].AsText()}});
  }
  json out = {{"requests", list}};
  out["next_page_token"] = static_cast<int64_t>(rows.size()) > page_size
                               ? json(std::to_string(list.back()["id"].get<int64_t>()))
                               : json("");
  return out.dump();
}

std::string Timeline(db::Database& db, const Clock& clock, const Param& param) {
  const int64_t hours = Integer(param, "hours", 24, 1, kMaxHours);
  std::string bucket = param("bucket");
  if (bucket.empty()) bucket = "hour";
  if (bucket != "hour" && bucket != "day") throw InvalidArgument("bucket must be hour or day");
  // created_at as text ("2026-12-02T15:..." on SQLite, "2026-12-02 15:..." on
  // PostgreSQL): its first 13 characters are the hour, 10 the day.
  const int prefix = bucket == "hour" ? 13 : 10;
  const std::string since = FormatTimestamp(clock.Now() - std::chrono::hours(hours));
  const std::vector<db::Row> rows = db.Query(
      "SELECT substr(CAST(\"created_at\" AS TEXT), 1, " + std::to_string(prefix) +
          ") AS \"b\", count(*) AS \"n\", "
          "sum(CASE WHEN \"status\" = 'success' THEN 1 ELSE 0 END) AS \"ok\", "
          "sum(CASE WHEN \"status\" = 'error' THEN 1 ELSE 0 END) AS \"errors\", "
          "avg(\"duration_ms\") AS \"avg_ms\" "
          "FROM \"rpcforge_requestlog\" WHERE \"created_at\" >= ? GROUP BY \"b\" ORDER BY \"b\"",
      {since});
  json points = json::array();
  for (const db::Row& r : rows) {
    std::string b = r["b"].AsText();
    if (b.size() > 10 && b[10] == ' ') b[10] = 'T';
    points.push_back({{"start", b + (bucket == "hour" ? ":00:00Z" : "T00:00:00Z")},
                      {"requests", r["n"].AsInt()},
                      {"successful", r["ok"].AsInt()},
                      {"errors", r["errors"].AsInt()},
                      {"avg_ms", r["avg_ms"].is_null() ? 0.0 : r["avg_ms"].AsDouble()}});
  }
  return json{{"bucket", bucket}, {"hours", hours}, {"points", points}}.dump();
}

std::string Instances(db::Database& db, const Clock& clock,
                      std::chrono::milliseconds heartbeat_interval) {
  json list = json::array();
  for (const auto& i : status::ListServerInstances(db, clock, heartbeat_interval)) {
    json services = json::array();
    for (const auto& s : i.services) services.push_back({{"name", s.name}, {"methods", s.methods}});
    list.push_back({{"instance_id", i.instance_id},
                    {"host", i.host},
                    {"port", i.port},
                    {"pid", i.pid},
                    {"status", i.status},
                    {"running", i.is_running},
                    {"started_at", FormatTimestamp(i.started_at)},
                    {"last_heartbeat", OptionalTime(i.last_heartbeat)},
                    {"stopped_at", OptionalTime(i.stopped_at)},
                    {"error_message", i.error_message},
                    {"services", services}});
  }
  return json{{"instances", list}}.dump();
}

std::string Keys(db::Database& db, const Clock& clock) {
  json list = json::array();
  const Clock::TimePoint now = clock.Now();
  for (const auto& k : auth::ListApiKeys(db)) {
    list.push_back({{"id", k.id},
                    {"name", k.name},
                    {"prefix", k.prefix},
                    {"user", k.username},
                    {"usable", k.IsUsable(now)},
                    {"created_at", FormatTimestamp(k.created_at)},
                    {"expires_at", OptionalTime(k.expires_at)},
                    {"revoked_at", OptionalTime(k.revoked_at)},
                    {"last_used_at", OptionalTime(k.last_used_at)},
                    {"request_count", k.request_count}});
  }
  return json{{"keys", list}}.dump();
}

}  // namespace rpcforge::admin::admin_internal
