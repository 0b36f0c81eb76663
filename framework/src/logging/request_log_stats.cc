// SPDX-License-Identifier: Apache-2.0
// Statistics over the request log: `logs stats` and RequestLogStats.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "rpcforge/db/database.h"
#include "rpcforge/logging/request_log.h"

namespace rpcforge::logging {

// --- Statistics -----------------------------------------------------------------------

double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const double rank = std::ceil(p / 100.0 * static_cast<double>(sorted.size()));
  size_t index = rank < 1 ? 0 : static_cast<size_t>(rank) - 1;
  index = std::min(index, sorted.size() - 1);
  return sorted[index];
}

namespace {
struct Accumulator {
  RequestLogSummary summary;
  std::vector<double> durations;

  void Add(const std::string& status, const db::Value& duration) {
    ++summary.total;
    if (status == "success")
      ++summary.successful;
    else if (status == "cancelled")
      ++summary.cancelled;
    else if (status == "timeout")
      ++summary.timeout;
    else if (status == "error")
      ++summary.errors;
    if (!duration.is_null()) durations.push_back(duration.AsDouble());
  }

  RequestLogSummary Finish() {
    RequestLogSummary s = summary;
    if (s.total > 0) s.success_rate = static_cast<double>(s.successful) / s.total;
    if (!durations.empty()) {
      std::sort(durations.begin(), durations.end());
      double sum = 0;
      for (double d : durations) sum += d;
      s.avg_ms = sum / static_cast<double>(durations.size());
      s.p50_ms = Percentile(durations, 50);
      s.p95_ms = Percentile(durations, 95);
      s.p99_ms = Percentile(durations, 99);
    }
    return s;
  }
};
}  // namespace

RequestLogStatistics RequestLogStats(db::Database& db, std::chrono::milliseconds window,
                                     const Clock& clock) {
  Accumulator overall;
  std::map<std::string, Accumulator> services, methods;
  db.QueryEach(
      "SELECT \"service\", \"full_method\", \"status\", \"duration_ms\" FROM "
      "\"rpcforge_requestlog\" WHERE \"created_at\" >= ?",
      {FormatTimestamp(clock.Now() - window)}, [&](const db::Row& row) {
        const std::string& status = row.at(2).AsText();
        overall.Add(status, row.at(3));
        services[row.at(0).AsText()].Add(status, row.at(3));
        methods[row.at(1).AsText()].Add(status, row.at(3));
      });
  RequestLogStatistics stats;
  stats.overall = overall.Finish();
  for (auto& [name, acc] : services) stats.by_service[name] = acc.Finish();
  for (auto& [name, acc] : methods) stats.by_method[name] = acc.Finish();
  return stats;
}

}  // namespace rpcforge::logging
