// SPDX-License-Identifier: Apache-2.0
// `logs stats`, `logs tail` and `status`: reading the request log and the
// server-status table.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "rpcforge/db/database.h"
#include "rpcforge/errors.h"
#include "rpcforge/logging/request_log.h"
#include "rpcforge/status/server_status.h"

namespace rpcforge::cli_internal {
namespace {

std::string Fixed(double v, int digits = 1) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
  return buf;
}

// FormatAge renders a non-negative duration as "3d4h", "1h2m", "2m5s" or "7s".
std::string FormatAge(std::chrono::system_clock::duration d) {
  int64_t s = std::chrono::duration_cast<std::chrono::seconds>(d).count();
  if (s < 0) s = 0;
  const int64_t days = s / 86400, hours = s % 86400 / 3600, minutes = s % 3600 / 60;
  const int64_t seconds = s % 60;
  if (days > 0) return std::to_string(days) + "d" + std::to_string(hours) + "h";
  if (hours > 0) return std::to_string(hours) + "h" + std::to_string(minutes) + "m";
  if (minutes > 0) return std::to_string(minutes) + "m" + std::to_string(seconds) + "s";
  return std::to_string(seconds) + "s";
}

void PrintSummaryLine(std::ostream& out, const std::string& name,
                      const logging::RequestLogSummary& s) {
  out << "  " << std::left << std::setw(48) << name << std::right << " total " << s.total << "  ok "
      << Fixed(s.success_rate * 100) << "%  errors " << s.errors << "  cancelled " << s.cancelled
      << "  timeout " << s.timeout << "  avg " << Fixed(s.avg_ms, 2) << " ms  p95 "
      << Fixed(s.p95_ms, 2) << " ms\n";
}

int LogsStats(CommandEnv& env, int hours) {
  if (hours <= 0) {
    *env.err << "error: --hours must be >= 1\n";
    return 2;
  }
  auto database = OpenDatabase(env);
  const auto stats =
      logging::RequestLogStats(*database, std::chrono::hours(hours), env.app->clock());
  const auto& o = stats.overall;
  std::ostream& out = *env.out;
  out << "Requests in the last " << hours << "h: " << o.total << "\n";
  out << "  successful: " << o.successful << "\n";
  out << "  errors: " << o.errors << "\n";
  out << "  cancelled: " << o.cancelled << "\n";
  out << "  timeout: " << o.timeout << "\n";
  out << "  success rate: " << Fixed(o.success_rate * 100) << "%\n";
  out << "  duration ms: avg " << Fixed(o.avg_ms, 2) << ", p50 " << Fixed(o.p50_ms, 2) << ", p95 "
      << Fixed(o.p95_ms, 2) << ", p99 " << Fixed(o.p99_ms, 2) << "\n";
  if (!stats.by_service.empty()) {
    out << "By service:\n";
    for (const auto& [name, s] : stats.by_service) PrintSummaryLine(out, name, s);
    out << "By method:\n";
    for (const auto& [name, s] : stats.by_method) PrintSummaryLine(out, name, s);
  }
  return 0;
}

int LogsTail(CommandEnv& env, int n) {
  if (n <= 0) {
    *env.err << "error: -n must be >= 1\n";
    return 2;
  }
  auto database = OpenDatabase(env);
  // The newest n rows, printed oldest first (as tail does).
  auto rows = database->Query(
      "SELECT \"created_at\", \"request_id\", \"full_method\", \"status\", \"code\", "
      "\"duration_ms\", \"peer\", \"user_id\", \"error_message\" FROM \"rpcforge_requestlog\" "
      "ORDER BY \"created_at\" DESC, \"id\" DESC LIMIT ?",
      {n});
  std::ostream& out = *env.out;
  if (rows.empty()) {
    out << "No requests logged.\n";
    return 0;
  }
  for (auto it = rows.rbegin(); it != rows.rend(); ++it) {
    const db::Row& r = *it;
    out << r.at(0).AsText() << "  " << r.at(1).AsText().substr(0, 8) << "  " << r.at(2).AsText()
        << "  " << r.at(3).AsText() << " " << r.at(4).AsText() << "  "
        << (r.at(5).is_null() ? std::string("-") : Fixed(r.at(5).AsDouble(), 2) + " ms") << "  "
        << (r.at(6).AsText().empty() ? "-" : r.at(6).AsText());
    if (!r.at(7).is_null()) out << "  user " << r.at(7).AsInt();
    if (!r.at(8).is_null() && !r.at(8).AsText().empty()) out << "  \"" << r.at(8).AsText() << "\"";
    out << "\n";
  }
  return 0;
}

int Status(CommandEnv& env) {
  auto database = OpenDatabase(env);
  const auto interval = config::HeartbeatInterval(env.config);
  const Clock& clock = env.app->clock();
  const auto instances = status::ListServerInstances(*database, clock, interval);
  std::ostream& out = *env.out;
  if (instances.empty()) {
    out << "No server instances recorded.\n";
    return 0;
  }
  const auto now = clock.Now();
  out << std::left << std::setw(36) << "INSTANCE" << std::setw(10) << "STATUS" << std::setw(7)
      << "ALIVE" << std::setw(10) << "UPTIME" << std::setw(12) << "HEARTBEAT"
      << "SERVICES\n";
  for (const auto& i : instances) {
    const auto end = i.stopped_at && !i.is_running ? *i.stopped_at : now;
    const std::string heartbeat =
        i.last_heartbeat ? FormatAge(now - *i.last_heartbeat) + " ago" : "-";
    out << std::left << std::setw(36) << i.instance_id << std::setw(10) << i.status << std::setw(7)
        << (i.is_running ? "yes" : "no") << std::setw(10) << FormatAge(end - i.started_at)
        << std::setw(12) << heartbeat << i.services.size();
    if (!i.error_message.empty()) out << "  (" << i.error_message << ")";
    out << "\n";
  }
  return 0;
}

}  // namespace

void RegisterObservabilityCommands() {
  RegisterCommand({"logs", "Request log: `logs stats [--hours 24]`, `logs tail [-n 50]`", 60,
                   [](CLI::App& sub) {
                     sub.require_subcommand(1);
                     auto hours = std::make_shared<int>(24);
                     auto n = std::make_shared<int>(50);
                     CLI::App* stats = sub.add_subcommand(
                         "stats", "Totals, success rate and duration percentiles");
                     stats->add_option("--hours", *hours, "window in hours (default 24)");
                     CLI::App* tail = sub.add_subcommand("tail", "The latest requests");
                     tail->add_option("-n", *n, "how many (default 50)");
                     return [hours, n, stats, tail](CommandEnv& env) {
                       if (stats->parsed()) return LogsStats(env, *hours);
                       if (tail->parsed()) return LogsTail(env, *n);
                       return 2;
                     };
                   }});
  RegisterCommand({"status", "Server instances: status, uptime, last heartbeat, services", 61,
                   [](CLI::App&) { return [](CommandEnv& env) { return Status(env); }; }});
}

}  // namespace rpcforge::cli_internal
