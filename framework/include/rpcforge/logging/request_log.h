// SPDX-License-Identifier: Apache-2.0
// The request log: one `rpcforge_requestlog` row per RPC of any kind, committed
// before the call is answered (group commit, db/group_commit.h) or, in write-behind
// mode, just after it; plus the statistics and retention built on it. The
// "request_logging" middleware (rpcforge/middleware/request_logging.h) writes the rows;
// it is in the default chain whenever the application has a database and
// `request_log.enabled`.
//
//   auto stats = rpcforge::logging::RequestLogStats(db, std::chrono::hours(24), clock);
//   std::cout << stats.overall.total << " calls, p95 " << stats.overall.p95_ms << " ms\n";
//
// What a row holds (see rpcforge::db::RequestLogModel): a UUID v7 request id, the
// service, method and full method, `status` (success, error, cancelled, timeout), the
// gRPC code name, the error message, the duration in ms measured with the injected
// clock's steady time, the user and API key read from the Context after the rest of
// the chain ran (so the auth middleware's identity is there whatever the order), the
// transport's peer with its host and port, message counts and byte sizes, and the
// created/completed wall times of the injected clock.
#ifndef RPCFORGE_LOGGING_REQUEST_LOG_H_
#define RPCFORGE_LOGGING_REQUEST_LOG_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rpcforge/clock.h"
#include "rpcforge/db/group_commit.h"
#include "rpcforge/export.h"

namespace rpcforge::config::v1 {
class Config;
}  // namespace rpcforge::config::v1

namespace rpcforge::db {
class Database;
}  // namespace rpcforge::db

namespace rpcforge::logging {

// NewRequestId returns a version 7 UUID (RFC 9562: Unix time in milliseconds, then
// 74 bits from OpenSSL's CSPRNG) in its canonical lower-case form. Ids sort by time,
// which keeps the request log's request_id index cheap to insert into. Thread-safe.
// Throws rpcforge::Internal if the CSPRNG fails.
RPCFORGE_EXPORT std::string NewRequestId();

// RequestLogEntry is one row before it is written.
struct RequestLogEntry {
  std::string request_id;
  std::string service;
  std::string method;
  std::string full_method;
  std::string status;  // "success", "error", "cancelled" or "timeout"
  std::string code;    // rpcforge::StatusCodeName of the final code
  std::string error_message;
  double duration_ms = 0;
  std::optional<int64_t> user_id;     // stored only if the user row exists
  std::optional<int64_t> api_key_id;  // stored only if the key row exists
  bool is_authenticated = false;
  std::string peer;
  std::string peer_host;
  std::optional<int> peer_port;
  uint64_t request_messages = 0;
  uint64_t response_messages = 0;
  uint64_t request_size = 0;   // bytes of every request message
  uint64_t response_size = 0;  // bytes of every response message
  Clock::TimePoint created_at;
  Clock::TimePoint completed_at;
};

// WriteRequestLogs inserts `entries` in one transaction (`db.Atomic()`). Throws what
// the database throws (db::DatabaseError, rpcforge::Unavailable); nothing is written
// then.
RPCFORGE_EXPORT void WriteRequestLogs(db::Database& db,
                                      const std::vector<RequestLogEntry>& entries);

// EncodeRequestLogEntry / DecodeRequestLogEntry are the journal form of a row
// (db::kJournalRequestLogRow records). Decode returns false for bytes that are not one.
RPCFORGE_EXPORT std::string EncodeRequestLogEntry(const RequestLogEntry& entry);
RPCFORGE_EXPORT bool DecodeRequestLogEntry(std::string_view bytes, RequestLogEntry* entry);

// ApplyRequestLogRecords inserts the rows in `payloads` (journal records) on `db`,
// inside the caller's transaction. Payloads that are not rows are logged and skipped.
RPCFORGE_EXPORT void ApplyRequestLogRecords(db::Database& db,
                                            const std::vector<std::string>& payloads);

// DeleteRequestLogsBefore deletes rows created before `cutoff`; returns how many.
RPCFORGE_EXPORT int64_t DeleteRequestLogsBefore(db::Database& db, Clock::TimePoint cutoff);

// RequestLogOptions configures a RequestLogWriter.
struct RequestLogOptions {
  // kDurable (the default): a call's row is committed before the call is answered
  // (group commit: concurrent calls share one transaction). kWriteBehind: rows are
  // written after the answer, in batches that linger up to 20 ms to fill.
  db::GroupCommitMode mode = db::GroupCommitMode::kDurable;
  size_t queue_size = 10000;  // rows waiting; a full queue makes producers wait
  size_t batch_size = 1000;   // the writer writes a batch once this many wait
  // Rows older than this are deleted; zero keeps them forever.
  std::chrono::milliseconds retention = std::chrono::hours(24 * 30);
  // How often the writer thread purges expired rows (first soon after it starts).
  std::chrono::milliseconds purge_interval = std::chrono::hours(1);

  // FromConfig reads `request_log` (null = defaults).
  RPCFORGE_EXPORT static RequestLogOptions FromConfig(const config::v1::Config* config);
  // CommitOptions is the db::GroupCommit configuration these options describe.
  RPCFORGE_EXPORT db::GroupCommit::Options CommitOptions() const;
};

// RequestLogWriter writes request-log rows through a db::GroupCommit: its own, or
// one shared with other writers of the same database (the server's, which the
// API-key usage counts use too, so a call's row and its key's count commit
// together). Rows are inserted with multi-row INSERTs, inside the batch's
// transaction. Rows are never dropped for lack of room: `Enqueue` waits while the
// queue is full (back-pressure). A batch the database rejects is retried row by
// row; rows that still fail are logged and dropped.
//
// Thread-safe. The Database, Clock and a shared GroupCommit must outlive the writer.
// The destructor writes everything queued; it never throws.
class RPCFORGE_EXPORT RequestLogWriter {
 public:
  // A writer with its own GroupCommit configured by `options`.
  RequestLogWriter(db::Database& db, const Clock& clock, RequestLogOptions options = {});
  // A writer on a shared GroupCommit (its mode and sizes are the GroupCommit's).
  RequestLogWriter(db::GroupCommit& commit, const Clock& clock, RequestLogOptions options = {});
  ~RequestLogWriter();
  RequestLogWriter(const RequestLogWriter&) = delete;
  RequestLogWriter& operator=(const RequestLogWriter&) = delete;

  // Enqueue hands `entry` to the writer, waiting while the queue is full, and returns
  // its ticket for `commit().Wait`. With a journal on the GroupCommit the row is
  // journaled first and `*journaled` (when given) says whether that worked: then a
  // crash cannot lose it and durable callers need not wait. Enqueue never waits for
  // the row to be written.
  uint64_t Enqueue(RequestLogEntry entry, bool* journaled = nullptr);

  // Flush returns once every row enqueued before the call is written (or failed and
  // was logged). Cheap when the queue is empty.
  void Flush();

  // PurgeExpired deletes rows created before `now - retention` (nothing when the
  // retention is zero) and returns how many. The writer thread calls it every
  // `purge_interval` (not while the database is pinned); tests call it directly.
  int64_t PurgeExpired(Clock::TimePoint now);

  // written counts rows inserted; pending the rows queued or being written; dropped
  // the rows given up on (a batch and then the row alone failed; each is logged).
  uint64_t written() const;
  size_t pending() const;
  uint64_t dropped() const;
  // blocked_producers is how many Enqueue calls wait for room now.
  int blocked_producers() const;

  // TEST_SetBeforeBatchHook runs `hook` on the writer thread before each batch (tests
  // stall the writer with it to observe back-pressure). Null removes it.
  void TEST_SetBeforeBatchHook(std::function<void()> hook);
  // TEST_WaitForBlockedProducers waits (at most `timeout`) until `n` Enqueue calls
  // wait for room; returns whether they do.
  bool TEST_WaitForBlockedProducers(int n, std::chrono::milliseconds timeout);

  const RequestLogOptions& options() const { return options_; }
  db::GroupCommit& commit() const { return *commit_; }

 private:
  class Sink;
  void Register();

  std::unique_ptr<db::GroupCommit> own_commit_;  // null when shared
  db::GroupCommit* commit_;
  const Clock& clock_;
  const RequestLogOptions options_;
  std::unique_ptr<Sink> sink_;
  int purge_task_ = 0;
};

// FlushRequestLogs flushes every live RequestLogWriter writing to `db`, whoever made
// it (a server flushes its own through Middleware::Flush when it stops). Thread-safe.
RPCFORGE_EXPORT void FlushRequestLogs(const db::Database* db);

// RequestLogTotals sums the live writers of one database (the admin port's metrics).
struct RequestLogTotals {
  uint64_t written = 0;
  uint64_t dropped = 0;
  size_t pending = 0;
  int blocked_producers = 0;
};
// RequestLogTotalsFor sums every live RequestLogWriter writing to `db`. Thread-safe.
RPCFORGE_EXPORT RequestLogTotals RequestLogTotalsFor(const db::Database* db);

// RequestLogSummary aggregates the rows of one group. Durations are in ms; the
// percentiles use the nearest-rank method over the rows with a duration; everything
// is zero for an empty group.
struct RequestLogSummary {
  int64_t total = 0;
  int64_t successful = 0;
  int64_t errors = 0;
  int64_t cancelled = 0;
  int64_t timeout = 0;
  double success_rate = 0;  // successful / total, in [0, 1]; 0 when total is 0
  double avg_ms = 0;
  double p50_ms = 0;
  double p95_ms = 0;
  double p99_ms = 0;
};

// RequestLogStatistics is RequestLogStats' result.
struct RequestLogStatistics {
  RequestLogSummary overall;
  std::map<std::string, RequestLogSummary> by_service;  // key: "pkg.Service"
  std::map<std::string, RequestLogSummary> by_method;   // key: "/pkg.Service/Method"
};

// RequestLogStats aggregates the rows created within `window` before `clock.Now()`.
// Throws what the database throws.
RPCFORGE_EXPORT RequestLogStatistics RequestLogStats(db::Database& db,
                                                     std::chrono::milliseconds window,
                                                     const Clock& clock);

// Percentile is the nearest-rank `p`-th percentile (0 < p <= 100) of `sorted`
// (ascending); 0 when empty.
RPCFORGE_EXPORT double Percentile(const std::vector<double>& sorted, double p);

}  // namespace rpcforge::logging

#endif  // RPCFORGE_LOGGING_REQUEST_LOG_H_
