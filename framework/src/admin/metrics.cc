// SPDX-License-Identifier: Apache-2.0
// /metrics: the Prometheus text exposition format (version 0.0.4).
#include <cstdio>
#include <string>

#include "rpcforge/admin/admin_server.h"
#include "rpcforge/db/database.h"
#include "rpcforge/db/group_commit.h"
#include "rpcforge/errors.h"
#include "rpcforge/logging/request_log.h"
#include "rpcforge/server/call_metrics.h"
#include "rpcforge/server/dispatcher.h"
#include "rpcforge/server/server.h"

namespace rpcforge::admin {
namespace {

// Label escapes a label value: backslash, double quote and newline.
std::string Label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

void Header(std::string& out, const char* name, const char* type, const char* help) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

void Gauge(std::string& out, const char* name, const char* help, double value) {
  Header(out, name, "gauge", help);
  out += std::string(name) + " " + Number(value) + "\n";
}

void CallCounts(std::string& out, const CallMetrics& metrics) {
  const auto snapshot = metrics.Snapshot();
  Header(out, "rpcforge_requests_total", "counter",
         "Calls finished, by full method and status code.");
  for (const auto& m : snapshot) {
    for (int code = 0; code < CallMetrics::kCodes; ++code) {
      if (m.by_code[static_cast<size_t>(code)] == 0) continue;
      out += "rpcforge_requests_total{method=\"" + Label(m.method) + "\",code=\"" +
             StatusCodeName(static_cast<grpc::StatusCode>(code)) + "\"} " +
             std::to_string(m.by_code[static_cast<size_t>(code)]) + "\n";
    }
  }
  Header(out, "rpcforge_request_duration_seconds", "histogram",
         "Time from a call's arrival to its answer, by full method.");
  for (const auto& m : snapshot) {
    const std::string method = Label(m.method);
    uint64_t cumulative = 0;
    for (size_t i = 0; i < CallMetrics::kLatencyBuckets.size(); ++i) {
      cumulative += m.bucket_counts[i];
      out += "rpcforge_request_duration_seconds_bucket{method=\"" + method + "\",le=\"" +
             Number(CallMetrics::kLatencyBuckets[i]) + "\"} " + std::to_string(cumulative) + "\n";
    }
    cumulative += m.bucket_counts.back();
    out += "rpcforge_request_duration_seconds_bucket{method=\"" + method + "\",le=\"+Inf\"} " +
           std::to_string(cumulative) + "\n";
    out += "rpcforge_request_duration_seconds_sum{method=\"" + method + "\"} " +
           Number(m.seconds_total) + "\n";
    out += "rpcforge_request_duration_seconds_count{method=\"" + method + "\"} " +
           std::to_string(cumulative) + "\n";
  }
}

}  // namespace

std::string MetricsText(Server* server, const db::Database& db) {
  std::string out;
  if (server != nullptr) {
    Server& s = *server;
    CallCounts(out, s.dispatcher().metrics());
    Gauge(out, "rpcforge_calls_in_flight", "Calls inside the server now (running or waiting).",
          s.dispatcher().active_calls());
    Gauge(out, "rpcforge_workers_busy", "Handlers running now (at most server.max_workers).",
          s.dispatcher().busy_workers());
    if (db::GroupCommit* commit = s.group_commit()) {
      Header(out, "rpcforge_group_commit_batches_total", "counter",
             "Transactions the group commit wrote (request-log rows, API-key counts).");
      out += "rpcforge_group_commit_batches_total " + std::to_string(commit->batches()) + "\n";
    }
  }
  const logging::RequestLogTotals log = logging::RequestLogTotalsFor(&db);
  Gauge(out, "rpcforge_request_log_queue_depth", "Request-log rows queued or being written.",
        static_cast<double>(log.pending));
  Gauge(out, "rpcforge_request_log_blocked_producers",
        "Calls waiting for room in the request-log queue.", log.blocked_producers);
  Header(out, "rpcforge_request_log_rows_written_total", "counter", "Request-log rows written.");
  out += "rpcforge_request_log_rows_written_total " + std::to_string(log.written) + "\n";
  Header(out, "rpcforge_request_log_rows_dropped_total", "counter",
         "Request-log rows the database refused, logged and dropped.");
  out += "rpcforge_request_log_rows_dropped_total " + std::to_string(log.dropped) + "\n";
  const db::Database::PoolUse pool = db.pool_use();
  Gauge(out, "rpcforge_db_connections_open", "Database connections opened.", pool.open);
  Gauge(out, "rpcforge_db_connections_in_use", "Database connections leased now.", pool.in_use);
  Gauge(out, "rpcforge_db_connections_max", "Most database connections the pool opens.", pool.max);
  return out;
}

}  // namespace rpcforge::admin
