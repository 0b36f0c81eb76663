// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/logging/request_log.h"

#include <google/protobuf/message.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <exception>
#include <iterator>
#include <random>

#include "core/logging.h"
#include "rpcforge/config/config.h"
#include "rpcforge/db/database.h"
#include "rpcforge/errors.h"
#include "rpcforge/server/peer.h"

namespace rpcforge::logging {
namespace {

// The writers alive in the process, so a server shutting down can flush the ones
// writing to its database.
std::mutex& RegistryMutex() {
  static auto* mu = new std::mutex();
  return *mu;
}
std::vector<std::pair<const db::Database*, RequestLogWriter*>>& Registry() {
  static auto* writers = new std::vector<std::pair<const db::Database*, RequestLogWriter*>>();
  return *writers;
}

const char* kInsertSql =
    "INSERT INTO \"rpcforge_requestlog\" (\"request_id\", \"service\", \"method\", "
    "\"full_method\", \"status\", \"code\", \"error_message\", \"duration_ms\", \"user_id\", "
    "\"api_key_id\", \"is_authenticated\", \"peer\", \"peer_host\", \"peer_port\", "
    "\"request_messages\", \"response_messages\", \"request_size\", \"response_size\", "
    "\"created_at\", \"completed_at\") VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
    // A user or key deleted meanwhile (or the secret-key identity, id 0) is stored as
    // NULL instead of failing the foreign key and with it the whole batch.
    "(SELECT \"id\" FROM \"rpcforge_user\" WHERE \"id\" = ?), "
    "(SELECT \"id\" FROM \"rpcforge_apikey\" WHERE \"id\" = ?), "
    "?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

std::vector<db::Value> InsertParams(const RequestLogEntry& e) {
  auto optional_int = [](const auto& v) -> db::Value {
    if (v) return db::Value(static_cast<int64_t>(*v));
    return db::Value(nullptr);
  };
  return {e.request_id,
          e.service,
          e.method,
          e.full_method,
          e.status,
          e.code,
          e.error_message,
          e.duration_ms,
          optional_int(e.user_id),
          optional_int(e.api_key_id),
          static_cast<int64_t>(e.is_authenticated ? 1 : 0),
          e.peer,
          e.peer_host,
          optional_int(e.peer_port),
          static_cast<int64_t>(e.request_messages),
          static_cast<int64_t>(e.response_messages),
          static_cast<int64_t>(e.request_size),
          static_cast<int64_t>(e.response_size),
          FormatTimestamp(e.created_at),
          FormatTimestamp(e.completed_at)};
}

double ToMs(std::chrono::nanoseconds d) { return static_cast<double>(d.count()) / 1e6; }

}  // namespace

// --- Parsing and ids ------------------------------------------------------------------

std::string NewRequestId() {
  // Request ids must be unique, not unpredictable: a per-thread generator seeded once
  // from OpenSSL's CSPRNG avoids a locked CSPRNG call per request.
  thread_local std::mt19937_64 rng = [] {
    std::seed_seq::result_type seed[8];
    if (RAND_bytes(reinterpret_cast<unsigned char*>(seed), sizeof(seed)) != 1) {
      throw Internal("OpenSSL RAND_bytes failed");
    }
    std::seed_seq seq(std::begin(seed), std::end(seed));
    return std::mt19937_64(seq);
  }();
  unsigned char b[16];
  const uint64_t hi = rng(), lo = rng();
  for (int i = 0; i < 8; ++i) {
    b[i] = static_cast<unsigned char>(hi >> (8 * i));
    b[8 + i] = static_cast<unsigned char>(lo >> (8 * i));
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  static const char* kHex = "0123456789abcdef";
  std::string id;
  id.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) id += '-';
    id += kHex[b[i] >> 4];
    id += kHex[b[i] & 0x0f];
  }
  return id;
}

// --- Storage --------------------------------------------------------------------------

void WriteRequestLogs(db::Database& db, const std::vector<RequestLogEntry>& entries) {
  if (entries.empty()) return;
  db::Transaction tx = db.Atomic();
  for (const RequestLogEntry& e : entries) db.Execute(kInsertSql, InsertParams(e));
  tx.Commit();
}

int64_t DeleteRequestLogsBefore(db::Database& db, Clock::TimePoint cutoff) {
  return db
      .Execute("DELETE FROM \"rpcforge_requestlog\" WHERE \"created_at\" < ?",
               {FormatTimestamp(cutoff)})
      .changes;
}

RequestLogOptions RequestLogOptions::FromConfig(const config::v1::Config* config) {
  const config::v1::Config defaults;
  const config::v1::Config& c = config ? *config : defaults;
  RequestLogOptions o;
  o.queue_size = static_cast<size_t>(std::max(1, config::RequestLogQueueSize(c)));
  o.batch_size = static_cast<size_t>(std::max(1, config::RequestLogBatchSize(c)));
  o.retention = config::RequestLogRetention(c);
  return o;
}

// --- Writer ---------------------------------------------------------------------------

RequestLogWriter::RequestLogWriter(db::Database& db, const Clock& clock, RequestLogOptions options)
    : db_(db), clock_(clock), options_([&] {
        options.queue_size = std::max<size_t>(1, options.queue_size);
        options.batch_size = std::max<size_t>(1, options.batch_size);
        return options;
      }()) {
  {
    std::lock_guard<std::mutex> lock(RegistryMutex());
    Registry().emplace_back(&db_, this);
  }
  thread_ = std::thread([this] { Run(); });
}

RequestLogWriter::~RequestLogWriter() {
  {
    std::lock_guard<std::mutex> lock(RegistryMutex());
    auto& writers = Registry();
    writers.erase(std::remove_if(writers.begin(), writers.end(),
                                 [&](const auto& w) { return w.second == this; }),
                  writers.end());
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  room_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void RequestLogWriter::Enqueue(RequestLogEntry entry) {
  if (db_.pinned()) {
    // A transactional test: write on this thread so the test sees the row when the
    // call returns. Earlier queued rows go first to keep the order.
    Flush();
    std::lock_guard<std::mutex> sync(sync_mu_);
    WriteBatch({std::move(entry)});
    return;
  }
  std::unique_lock<std::mutex> lock(mu_);
  if (queue_.size() >= options_.queue_size && !stop_) {
    ++blocked_;
    blocked_cv_.notify_all();
    room_cv_.wait(lock, [&] { return queue_.size() < options_.queue_size || stop_; });
    --blocked_;
  }
  if (stop_) {
    // Only reachable when a call outlives its server's pipeline; don't lose the row.
    lock.unlock();
    WriteBatch({std::move(entry)});
    return;
  }
  queue_.push_back(std::move(entry));
  ++enqueued_;
  // Wake the writer only to start a batch or when one is full: a notify per row would
  // wake it per row under load and turn batches into single-row transactions.
  const bool wake = queue_.size() == 1 || queue_.size() >= options_.batch_size;
  lock.unlock();
  if (wake) work_cv_.notify_one();
}

void RequestLogWriter::Flush() {
  std::unique_lock<std::mutex> lock(mu_);
  const uint64_t target = enqueued_;
  if (completed_ >= target) return;
  ++flush_waiters_;
  work_cv_.notify_one();
  done_cv_.wait(lock, [&] { return completed_ >= target; });
  --flush_waiters_;
}

int64_t RequestLogWriter::PurgeExpired(Clock::TimePoint now) {
  if (options_.retention.count() <= 0) return 0;
  const int64_t deleted = DeleteRequestLogsBefore(db_, now - options_.retention);
  if (deleted > 0) {
    RPCFORGE_LOG_DEBUG("request_log", "purged {} row(s) older than {} ms", deleted,
                       options_.retention.count());
  }
  return deleted;
}

uint64_t RequestLogWriter::written() const {
  std::lock_guard<std::mutex> lock(mu_);
  return written_;
}

size_t RequestLogWriter::pending() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size() + in_flight_;
}

int RequestLogWriter::blocked_producers() const {
  std::lock_guard<std::mutex> lock(mu_);
  return blocked_;
}

void RequestLogWriter::TEST_SetBeforeBatchHook(std::function<void()> hook) {
  std::lock_guard<std::mutex> lock(mu_);
  before_batch_ = std::move(hook);
}

bool RequestLogWriter::TEST_WaitForBlockedProducers(int n, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return blocked_cv_.wait_for(lock, timeout, [&] { return blocked_ >= n; });
}

void RequestLogWriter::WriteBatch(const std::vector<RequestLogEntry>& batch) {
  size_t ok = 0;
  try {
    WriteRequestLogs(db_, batch);
    ok = batch.size();
  } catch (const std::exception& e) {
    if (batch.size() == 1) {
      RPCFORGE_LOG_ERROR("request_log", "cannot write the log row of {}: {}", batch[0].full_method,
                         e.what());
    } else {
      // Find the bad rows; keep the good ones.
      RPCFORGE_LOG_WARN("request_log", "batch of {} rows failed ({}); retrying one by one",
                        batch.size(), e.what());
      for (const RequestLogEntry& entry : batch) {
        try {
          WriteRequestLogs(db_, {entry});
          ++ok;
        } catch (const std::exception& e2) {
          RPCFORGE_LOG_ERROR("request_log", "cannot write the log row of {}: {}", entry.full_method,
                             e2.what());
        }
      }
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  written_ += ok;
}

// How long the writer waits for a batch to fill before writing what it has.
constexpr std::chrono::milliseconds kLinger{20};

void RequestLogWriter::Run() {
  // The purge runs on the clock's steady time; the thread itself wakes on real time.
  auto next_purge = clock_.SteadyNow();
  const auto wake = std::min<std::chrono::milliseconds>(
      std::chrono::seconds(60), std::max(options_.purge_interval, std::chrono::milliseconds(1)));
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (queue_.empty() && !stop_ && options_.retention.count() > 0 &&
        clock_.SteadyNow() >= next_purge) {
      next_purge = clock_.SteadyNow() + options_.purge_interval;
      lock.unlock();
      // Pinned: a test owns the connection's transaction; don't write behind its back.
      if (!db_.pinned()) {
        try {
          PurgeExpired(clock_.Now());
        } catch (const std::exception& e) {
          RPCFORGE_LOG_WARN("request_log", "purging expired rows failed: {}", e.what());
        }
      }
      lock.lock();
      continue;
    }
    if (queue_.empty()) {
      if (stop_) break;
      work_cv_.wait_for(lock, wake, [&] { return stop_ || !queue_.empty(); });
      continue;
    }
    if (queue_.size() < options_.batch_size && !stop_ && flush_waiters_ == 0) {
      // Linger briefly so rows arriving together share one transaction.
      work_cv_.wait_for(lock, kLinger, [&] {
        return stop_ || flush_waiters_ > 0 || queue_.size() >= options_.batch_size;
      });
    }
    std::vector<RequestLogEntry> batch;
    const size_t n = std::min(queue_.size(), options_.batch_size);
    batch.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    in_flight_ = n;
    room_cv_.notify_all();
    auto hook = before_batch_;
    lock.unlock();
    if (hook) hook();
    WriteBatch(batch);
    lock.lock();
    in_flight_ = 0;
    completed_ += n;
    done_cv_.notify_all();
  }
}

void FlushRequestLogs(const db::Database* db) {
  std::lock_guard<std::mutex> lock(RegistryMutex());
  for (const auto& [database, writer] : Registry()) {
    if (database == db) writer->Flush();
  }
}

// --- Middleware -----------------------------------------------------------------------

RequestLoggingMiddleware::RequestLoggingMiddleware(std::shared_ptr<RequestLogWriter> writer,
                                                   const Clock* clock)
    : writer_(std::move(writer)), clock_(clock ? clock : &Clock::Real()) {}

RequestLoggingMiddleware::~RequestLoggingMiddleware() = default;

std::shared_ptr<Middleware> RequestLoggingMiddleware::FromEnv(const MiddlewareEnv& env) {
  if (env.database == nullptr) return nullptr;
  const config::v1::Config defaults;
  const config::v1::Config& c = env.config ? *env.config : defaults;
  if (!config::RequestLogEnabled(c)) return nullptr;
  const Clock* clock = env.clock ? env.clock : &Clock::Real();
  auto writer =
      std::make_shared<RequestLogWriter>(*env.database, *clock, RequestLogOptions::FromConfig(&c));
  return std::make_shared<RequestLoggingMiddleware>(std::move(writer), clock);
}

grpc::Status RequestLoggingMiddleware::Handle(ServerCall& call, Next next) {
  call.stats().measure_sizes = true;
  // The dispatcher counted the request of unary and server-streaming calls before the
  // pipeline ran, so before sizes were measured: add it here.
  const uint64_t bytes_received_before = call.stats().bytes_received;
  grpc::Status status = next();

  RequestLogEntry e;
  try {
    const Context& ctx = call.context();
    const MethodInfo& m = call.method();
    e.request_id = NewRequestId();
    e.service = m.service;
    e.method = m.method;
    e.full_method = m.full_name;
    grpc::StatusCode code = status.error_code();
    e.error_message = status.error_message();
    // grpc's sync IsCancelled() polls the completion queue (tens of microseconds), so
    // ask only when the answer can matter: the call failed, took at least a
    // millisecond, or its deadline passed. A call completed in under a millisecond
    // that the client cancelled meanwhile is logged with the handler's status.
    const auto deadline_at = ctx.deadline();
    const bool maybe_cancelled = !status.ok() || call.elapsed() >= std::chrono::milliseconds(1) ||
                                 (deadline_at && std::chrono::system_clock::now() >= *deadline_at);
    if (maybe_cancelled && ctx.IsCancelled()) {
      // The client is gone: whatever the handler returned, it saw CANCELLED or
      // DEADLINE_EXCEEDED. Deadlines are the transport's, in real time.
      const auto deadline = ctx.deadline();
      const bool expired = deadline && std::chrono::system_clock::now() >= *deadline;
      if (expired || code == grpc::StatusCode::DEADLINE_EXCEEDED) {
        code = grpc::StatusCode::DEADLINE_EXCEEDED;
        if (e.error_message.empty() || status.ok()) e.error_message = "Deadline exceeded";
      } else {
        code = grpc::StatusCode::CANCELLED;
        if (e.error_message.empty() || status.ok()) e.error_message = "Cancelled by the client";
      }
    }
    switch (code) {
      case grpc::StatusCode::OK:
        e.status = "success";
        break;
      case grpc::StatusCode::CANCELLED:
        e.status = "cancelled";
        break;
      case grpc::StatusCode::DEADLINE_EXCEEDED:
        e.status = "timeout";
        break;
      default:
        e.status = "error";
    }
    e.code = StatusCodeName(code);
    e.duration_ms = ToMs(call.elapsed());
    // Identity is read now, after the rest of the chain (auth included) ran.
    if (ctx.user() && ctx.user()->id > 0) e.user_id = ctx.user()->id;
    if (ctx.api_key() && !ctx.api_key()->is_secret_key && ctx.api_key()->id > 0) {
      e.api_key_id = ctx.api_key()->id;
    }
    e.is_authenticated = ctx.is_authenticated();
    e.peer = ctx.peer();
    rpcforge::PeerAddress peer = rpcforge::ParsePeer(e.peer);
    e.peer_host = std::move(peer.host);
    e.peer_port = peer.port;
    const CallStats& stats = call.stats();
    e.request_messages = stats.messages_received;
    e.response_messages = stats.messages_sent;
    e.request_size = stats.bytes_received - bytes_received_before +
                     (call.request() ? call.request()->ByteSizeLong() : 0);
    e.response_size = stats.bytes_sent;
    e.created_at = call.started_at();
    e.completed_at = clock_->Now();
    writer_->Enqueue(std::move(e));
  } catch (const std::exception& ex) {
    // Logging must never change the outcome of the call.
    RPCFORGE_LOG_ERROR("request_log", "cannot log {}: {}", call.method().full_name, ex.what());
  }
  return status;
}

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
