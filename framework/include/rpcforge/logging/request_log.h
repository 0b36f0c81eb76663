// SPDX-License-Identifier: Apache-2.0
// The request log: one `rpcforge_requestlog` row per RPC of any kind, written behind
// the call by one writer thread in batches, plus the statistics and retention built
// on it. The "request_logging" middleware is registered on every App; it is in the
// default chain whenever the application has a database and `request_log.enabled`.
//
//   auto stats = rpcforge::logging::RequestLogStats(db, std::chrono::hours(24), clock);
//   std::cout << stats.overall.total << " calls, p95 " << stats.overall.p95_ms << " ms\n";
//
// What a row holds (see rpcforge::db::RequestLogModel): a UUID v4 request id, the
// service, method and full method, `status` (success, error, cancelled, timeout), the
// gRPC code name, the error message, the duration in ms measured with the injected
// clock's steady time, the user and API key read from the Context after the rest of
// the chain ran (so the auth middleware's identity is there whatever the order), the
// transport's peer with its host and port, message counts and byte sizes, and the
// created/completed wall times of the injected clock.
#ifndef RPCFORGE_LOGGING_REQUEST_LOG_H_
#define RPCFORGE_LOGGING_REQUEST_LOG_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "rpcforge/clock.h"
#include "rpcforge/export.h"
#include "rpcforge/server/middleware.h"

namespace rpcforge::config::v1 {
class Config;
}  // namespace rpcforge::config::v1

namespace rpcforge::db {
class Database;
}  // namespace rpcforge::db

namespace rpcforge::logging {

// NewRequestId returns a random (version 4) UUID in its canonical lower-case form,
// from OpenSSL's CSPRNG. Thread-safe. Throws rpcforge::Internal if the CSPRNG fails.
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
// the database throws (SQLite::Exception, rpcforge::Unavailable); nothing is written
// then.
RPCFORGE_EXPORT void WriteRequestLogs(db::Database& db,
                                      const std::vector<RequestLogEntry>& entries);

// DeleteRequestLogsBefore deletes rows created before `cutoff`; returns how many.
RPCFORGE_EXPORT int64_t DeleteRequestLogsBefore(db::Database& db, Clock::TimePoint cutoff);

// RequestLogOptions configures a RequestLogWriter.
struct RequestLogOptions {
  size_t queue_size = 10000;  // rows waiting; a full queue makes producers wait
  size_t batch_size = 100;    // rows per insert transaction
  // Rows older than this are deleted; zero keeps them forever.
  std::chrono::milliseconds retention = std::chrono::hours(24 * 30);
  // How often (in the clock's steady time) the writer thread purges expired rows.
  std::chrono::milliseconds purge_interval = std::chrono::hours(1);

  // FromConfig reads `request_log` (null = defaults).
  RPCFORGE_EXPORT static RequestLogOptions FromConfig(const config::v1::Config* config);
};

// RequestLogWriter owns the bounded queue and the one writer thread that drains it in
// batches of `batch_size`, one transaction per batch. Rows are never dropped for lack
// of room: `Enqueue` waits while the queue is full (back-pressure). A batch the
// database rejects is retried row by row; rows that still fail are logged and
// dropped. While the database is pinned (a transactional test), `Enqueue` writes on
// the calling thread so the row is visible as soon as the call returns.
//
// Thread-safe. The Database and Clock must outlive the writer. The destructor writes
// everything queued and joins the thread; it never throws.
class RPCFORGE_EXPORT RequestLogWriter {
 public:
  RequestLogWriter(db::Database& db, const Clock& clock, RequestLogOptions options = {});
  ~RequestLogWriter();
  RequestLogWriter(const RequestLogWriter&) = delete;
  RequestLogWriter& operator=(const RequestLogWriter&) = delete;

  // Enqueue hands `entry` to the writer, waiting while the queue is full.
  void Enqueue(RequestLogEntry entry);

  // Flush returns once every row enqueued before the call is written (or failed and
  // was logged). Cheap when the queue is empty.
  void Flush();

  // PurgeExpired deletes rows created before `now - retention` (nothing when the
  // retention is zero) and returns how many. The writer thread calls it every
  // `purge_interval`; tests call it with a FakeClock's time.
  int64_t PurgeExpired(Clock::TimePoint now);

  // written counts rows inserted; pending the rows queued or being written.
  uint64_t written() const;
  size_t pending() const;
  // blocked_producers is how many Enqueue calls wait for room now.
  int blocked_producers() const;

  // TEST_SetBeforeBatchHook runs `hook` on the writer thread before each batch (tests
  // stall the writer with it to observe back-pressure). Null removes it.
  void TEST_SetBeforeBatchHook(std::function<void()> hook);
  // TEST_WaitForBlockedProducers waits (at most `timeout`) until `n` Enqueue calls
  // wait for room; returns whether they do.
  bool TEST_WaitForBlockedProducers(int n, std::chrono::milliseconds timeout);

  const RequestLogOptions& options() const { return options_; }

 private:
  void Run();
  void WriteBatch(const std::vector<RequestLogEntry>& batch);

  db::Database& db_;
  const Clock& clock_;
  const RequestLogOptions options_;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;     // writer waits for rows or stop
  std::condition_variable room_cv_;     // producers wait for room
  std::condition_variable done_cv_;     // Flush waits for progress
  std::condition_variable blocked_cv_;  // TEST_WaitForBlockedProducers
  std::deque<RequestLogEntry> queue_;
  uint64_t enqueued_ = 0;   // sequence numbers, guarded by mu_
  uint64_t completed_ = 0;  // rows written or given up on
  uint64_t written_ = 0;
  size_t in_flight_ = 0;   // rows taken by the writer, not yet completed
  int flush_waiters_ = 0;  // Flush() calls waiting: write now, don't linger
  int blocked_ = 0;
  bool stop_ = false;
  std::function<void()> before_batch_;
  std::mutex sync_mu_;  // serializes pinned-mode synchronous writes
  std::thread thread_;
};

// RequestLoggingMiddleware writes one row per call through a RequestLogWriter. It
// sets `call.stats().measure_sizes` before running the rest of the chain.
class RPCFORGE_EXPORT RequestLoggingMiddleware : public Middleware {
 public:
  RequestLoggingMiddleware(std::shared_ptr<RequestLogWriter> writer, const Clock* clock);
  // The writer flushes and stops when the last middleware holding it goes away.
  ~RequestLoggingMiddleware() override;

  grpc::Status Handle(ServerCall& call, Next next) override;

  RequestLogWriter& writer() { return *writer_; }

  // FromEnv is the "request_logging" factory: null (the middleware is skipped) when
  // the env has no database or `request_log.enabled` is false.
  static std::shared_ptr<Middleware> FromEnv(const MiddlewareEnv& env);

 private:
  std::shared_ptr<RequestLogWriter> writer_;
  const Clock* clock_;
};

// FlushRequestLogs flushes every live RequestLogWriter writing to `db` (the server
// calls it when it shuts down). Thread-safe.
RPCFORGE_EXPORT void FlushRequestLogs(const db::Database* db);

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
