// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/logging/request_log.h"

#include <google/protobuf/message.h>
#include <openssl/rand.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <exception>
#include <iterator>
#include <mutex>
#include <optional>

#include "core/logging.h"
#include "rpcforge/config/config.h"
#include "rpcforge/db/database.h"
#include "rpcforge/db/errors.h"
#include "rpcforge/db/journal.h"
#include "rpcforge/errors.h"
#include "rpcforge/server/peer.h"
#include "server/commit_options.h"

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

// Columns of a row, in order.
const char* const kColumns =
    "INSERT INTO \"rpcforge_requestlog\" (\"request_id\", \"service\", \"method\", "
    "\"full_method\", \"status\", \"code\", \"error_message\", \"duration_ms\", \"user_id\", "
    "\"api_key_id\", \"is_authenticated\", \"peer\", \"peer_host\", \"peer_port\", "
    "\"request_messages\", \"response_messages\", \"request_size\", \"response_size\", "
    "\"created_at\", \"completed_at\") VALUES ";
// The usual form binds user_id and api_key_id as they are; the foreign keys check them.
const char* const kRowPlaceholders = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
// A user or key deleted while its call ran fails that check and with it the whole
// statement (SQLite undoes the statement, not the transaction): the rows of that one
// statement are then written again in this form, which stores such an id as NULL.
// The subselects are not in the usual form: they cost a second B-tree search per id and
// make the prepared 64-row statement several times larger.
const char* const kLinkCheckedRowPlaceholders =
    "(?, ?, ?, ?, ?, ?, ?, ?, (SELECT \"id\" FROM \"rpcforge_user\" WHERE \"id\" = ?), "
    "(SELECT \"id\" FROM \"rpcforge_apikey\" WHERE \"id\" = ?), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
constexpr size_t kParamsPerRow = 20;
// Rows per INSERT statement: batches are cut into pieces of 64, 8 and 1 rows, so a
// connection prepares at most three statements of the usual form whatever the batch
// sizes (seven shapes, 64 to 1, on each of the pool's connections were a fifth of the
// durable blog's resident memory under load); 64 x 20 parameters stays far below
// SQLite's limit of 32766.
constexpr size_t kMaxRowsPerInsert = 64;
constexpr size_t kInsertShapeStep = 8;

enum class Links { kChecked, kTrusted };

// InsertShapes are the INSERT statements for 1, 8 and 64 rows of the form `row`
// (indexed by row count; the other entries are empty).
std::vector<std::string> InsertShapes(const char* row) {
  std::vector<std::string> shapes(kMaxRowsPerInsert + 1);
  for (size_t n = 1; n <= kMaxRowsPerInsert; n *= kInsertShapeStep) {
    std::string sql = kColumns;
    for (size_t i = 0; i < n; ++i) sql += (i ? ", " : "") + std::string(row);
    shapes[n] = std::move(sql);
  }
  return shapes;
}

const std::string& InsertSql(size_t rows, Links links) {
  static const auto* checked =
      new std::vector<std::string>(InsertShapes(kLinkCheckedRowPlaceholders));
  static const auto* trusted = new std::vector<std::string>(InsertShapes(kRowPlaceholders));
  return (*(links == Links::kChecked ? checked : trusted))[rows];
}

void AppendParams(const RequestLogEntry& e, std::vector<db::Value>* out) {
  auto optional_int = [](const auto& v) -> db::Value {
    if (v) return db::Value(static_cast<int64_t>(*v));
    return db::Value(nullptr);
  };
  out->emplace_back(e.request_id);
  out->emplace_back(e.service);
  out->emplace_back(e.method);
  out->emplace_back(e.full_method);
  out->emplace_back(e.status);
  out->emplace_back(e.code);
  out->emplace_back(e.error_message);
  out->emplace_back(e.duration_ms);
  out->push_back(optional_int(e.user_id));
  out->push_back(optional_int(e.api_key_id));
  out->emplace_back(static_cast<int64_t>(e.is_authenticated ? 1 : 0));
  out->emplace_back(e.peer);
  out->emplace_back(e.peer_host);
  out->push_back(optional_int(e.peer_port));
  out->emplace_back(static_cast<int64_t>(e.request_messages));
  out->emplace_back(static_cast<int64_t>(e.response_messages));
  out->emplace_back(static_cast<int64_t>(e.request_size));
  out->emplace_back(static_cast<int64_t>(e.response_size));
  out->emplace_back(FormatTimestamp(e.created_at));
  out->emplace_back(FormatTimestamp(e.completed_at));
}

// Where a row's user or key is gone (its foreign key fails), the statement is written
// again in the checked form. Where that failure aborts the caller's transaction
// (PostgreSQL), kRewrite pays a savepoint per statement to make that possible; kThrow
// lets the transaction fail instead: a GroupCommit batch, whose BatchFailed writes its
// rows again one by one, each by kRewrite.
enum class BadLinks { kRewrite, kThrow };

// InsertRows inserts `entries` with multi-row INSERTs on `db` (inside the caller's
// transaction, if any).
void InsertRows(db::Database& db, const std::vector<RequestLogEntry>& entries,
                BadLinks bad_links = BadLinks::kRewrite) {
  std::vector<db::Value> params;
  size_t at = 0;
  while (at < entries.size()) {
    size_t n = kMaxRowsPerInsert;  // the largest shape that fits what is left
    while (n > entries.size() - at) n /= kInsertShapeStep;
    params.clear();
    params.reserve(n * kParamsPerRow);
    for (size_t i = 0; i < n; ++i) AppendParams(entries[at + i], &params);
    // Where a failed statement aborts the whole transaction (PostgreSQL), the trusted
    // attempt runs in a savepoint so the checked one can follow it. A batch leaves that
    // rare case to BatchFailed instead: the savepoint was two of the five round trips
    // of a one-statement batch (BEGIN, SAVEPOINT, INSERT, RELEASE, COMMIT), and the
    // checked form is no cheaper to go first (perf under load: planning its per-row
    // subselects took PostgreSQL from 8 % to 22 % of the machine).
    const bool failure_aborts = db.in_atomic() && db.failed_statement_aborts_transaction();
    std::optional<db::Transaction> attempt;
    if (failure_aborts && bad_links == BadLinks::kRewrite) attempt.emplace(db.Atomic());
    try {
      db.Execute(InsertSql(n, Links::kTrusted), params);
      if (attempt) attempt->Commit();
    } catch (const db::DatabaseError& e) {
      if (e.kind() != db::DatabaseErrorKind::kForeignKeyViolation) throw;
      if (failure_aborts && !attempt) throw;  // the transaction is lost (kThrow)
      if (attempt) attempt->Rollback();
      db.Execute(InsertSql(n, Links::kChecked), params);
    }
    at += n;
  }
}

}  // namespace

// --- Parsing and ids ------------------------------------------------------------------

std::string NewRequestId() {
  // RFC 9562 version 7: 48 bits of Unix time in milliseconds, then 74 random bits
  // from OpenSSL's CSPRNG, drawn 4 KiB at a time per thread so a call costs no lock.
  struct Pool {
    unsigned char bytes[4096];
    size_t used = sizeof(bytes);
  };
  thread_local Pool pool;
  if (pool.used + 10 > sizeof(pool.bytes)) {
    if (RAND_bytes(pool.bytes, sizeof(pool.bytes)) != 1) {
      throw Internal("OpenSSL RAND_bytes failed");
    }
    pool.used = 0;
  }
  const unsigned char* r = pool.bytes + pool.used;
  pool.used += 10;
  const uint64_t ms = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                std::chrono::system_clock::now().time_since_epoch())
                                                .count());
  unsigned char b[16];
  for (int i = 0; i < 6; ++i) b[i] = static_cast<unsigned char>(ms >> (8 * (5 - i)));
  for (int i = 0; i < 10; ++i) b[6 + i] = r[i];
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x70);  // version 7
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 9562 variant
  static const char* kHex = "0123456789abcdef";
  std::string id(36, '-');
  size_t at = 0;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) ++at;
    id[at++] = kHex[b[i] >> 4];
    id[at++] = kHex[b[i] & 0x0f];
  }
  return id;
}

// --- Storage --------------------------------------------------------------------------

void ApplyRequestLogRecords(db::Database& db, const std::vector<std::string>& payloads) {
  std::vector<RequestLogEntry> entries;
  entries.reserve(payloads.size());
  for (const std::string& p : payloads) {
    RequestLogEntry e;
    if (DecodeRequestLogEntry(p, &e)) {
      entries.push_back(std::move(e));
    } else {
      RPCFORGE_LOG_WARN("request_log", "skipping a journal record that is not a log row");
    }
  }
  InsertRows(db, entries);
}

void WriteRequestLogs(db::Database& db, const std::vector<RequestLogEntry>& entries) {
  if (entries.empty()) return;
  db::Transaction tx = db.Atomic();
  InsertRows(db, entries);
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
  const db::GroupCommit::Options commit = server_internal::CommitOptionsFromConfig(&c);
  RequestLogOptions o;
  o.mode = commit.mode;
  o.queue_size = commit.max_pending;
  o.batch_size = commit.batch_size;
  o.retention = config::RequestLogRetention(c);
  return o;
}

db::GroupCommit::Options RequestLogOptions::CommitOptions() const {
  db::GroupCommit::Options o;
  o.mode = mode;
  o.max_pending = queue_size;
  o.batch_size = batch_size;
  return o;
}

// --- Writer ---------------------------------------------------------------------------

// Sink: the rows of one writer. `pending_` is guarded by the GroupCommit's lock;
// `taken_` belongs to the GroupCommit's writer thread between TakePending and the
// end of the batch.
class RequestLogWriter::Sink final : public db::GroupCommit::Sink {
 public:
  void Add(RequestLogEntry entry) { pending_.push_back(std::move(entry)); }

  void TakePending() override {
    taken_.swap(pending_);
    pending_.clear();
  }
  void WriteTaken(db::Database& db) override { InsertRows(db, taken_, BadLinks::kThrow); }
  void BatchCommitted() noexcept override {
    written_.fetch_add(taken_.size());
    done_.fetch_add(taken_.size());
    taken_.clear();
  }
  void BatchFailed(db::Database& db, const std::exception& error) noexcept override {
    if (!taken_.empty()) {
      // Find the bad rows; keep the good ones. Even a lone row gets its second try:
      // the batch may have failed on its user or key being gone (BadLinks::kThrow),
      // which the row's own transaction writes unlinked.
      RPCFORGE_LOG_WARN("request_log", "batch of {} rows failed ({}); retrying one by one",
                        taken_.size(), error.what());
      for (const RequestLogEntry& entry : taken_) {
        try {
          WriteRequestLogs(db, {entry});
          written_.fetch_add(1);
        } catch (const std::exception& e) {
          RPCFORGE_LOG_ERROR("request_log", "cannot write the log row of {}: {}", entry.full_method,
                             e.what());
        }
      }
    }
    done_.fetch_add(taken_.size());
    taken_.clear();
  }

  std::atomic<uint64_t> enqueued_{0};
  std::atomic<uint64_t> done_{0};  // rows written or given up on
  std::atomic<uint64_t> written_{0};

 private:
  std::vector<RequestLogEntry> pending_;
  std::vector<RequestLogEntry> taken_;
};

RequestLogWriter::RequestLogWriter(db::Database& db, const Clock& clock, RequestLogOptions options)
    : own_commit_(std::make_unique<db::GroupCommit>(db, options.CommitOptions())),
      commit_(own_commit_.get()),
      clock_(clock),
      options_(std::move(options)),
      sink_(std::make_unique<Sink>()) {
  Register();
}

RequestLogWriter::RequestLogWriter(db::GroupCommit& commit, const Clock& clock,
                                   RequestLogOptions options)
    : commit_(&commit),
      clock_(clock),
      options_(std::move(options)),
      sink_(std::make_unique<Sink>()) {
  Register();
}

void RequestLogWriter::Register() {
  commit_->AddSink(sink_.get());
  if (options_.retention.count() > 0) {
    purge_task_ = commit_->AddPeriodic(options_.purge_interval, [this] {
      // Pinned: a test owns the connection's transaction; don't purge behind its back.
      if (commit_->database().pinned()) return;
      try {
        PurgeExpired(clock_.Now());
      } catch (const std::exception& e) {
        RPCFORGE_LOG_WARN("request_log", "purging expired rows failed: {}", e.what());
      }
    });
  }
  std::lock_guard<std::mutex> lock(RegistryMutex());
  Registry().emplace_back(&commit_->database(), this);
}

RequestLogWriter::~RequestLogWriter() {
  {
    std::lock_guard<std::mutex> lock(RegistryMutex());
    auto& writers = Registry();
    writers.erase(std::remove_if(writers.begin(), writers.end(),
                                 [&](const auto& w) { return w.second == this; }),
                  writers.end());
  }
  if (purge_task_ != 0) commit_->RemovePeriodic(purge_task_);
  commit_->RemoveSink(sink_.get());  // writes what is queued
  own_commit_.reset();
}

uint64_t RequestLogWriter::Enqueue(RequestLogEntry entry, bool* journaled) {
  sink_->enqueued_.fetch_add(1);
  if (commit_->options().journal == nullptr) {
    if (journaled != nullptr) *journaled = false;
    return commit_->Submit(*sink_, [&] { sink_->Add(std::move(entry)); });
  }
  const std::string record = EncodeRequestLogEntry(entry);
  return commit_->Submit(
      *sink_, [&] { sink_->Add(std::move(entry)); }, db::kJournalRequestLogRow, record, journaled);
}

void RequestLogWriter::Flush() { commit_->Flush(); }

int64_t RequestLogWriter::PurgeExpired(Clock::TimePoint now) {
  if (options_.retention.count() <= 0) return 0;
  const int64_t deleted = DeleteRequestLogsBefore(commit_->database(), now - options_.retention);
  if (deleted > 0) {
    RPCFORGE_LOG_DEBUG("request_log", "purged {} row(s) older than {} ms", deleted,
                       options_.retention.count());
  }
  return deleted;
}

uint64_t RequestLogWriter::written() const { return sink_->written_.load(); }

size_t RequestLogWriter::pending() const {
  return static_cast<size_t>(sink_->enqueued_.load() - sink_->done_.load());
}

uint64_t RequestLogWriter::dropped() const {
  // Rows given up on: done (written or failed) but not written.
  const uint64_t done = sink_->done_.load();
  const uint64_t written = sink_->written_.load();
  return done > written ? done - written : 0;
}

int RequestLogWriter::blocked_producers() const { return commit_->blocked_producers(); }

void RequestLogWriter::TEST_SetBeforeBatchHook(std::function<void()> hook) {
  commit_->TEST_SetBeforeBatchHook(std::move(hook));
}

bool RequestLogWriter::TEST_WaitForBlockedProducers(int n, std::chrono::milliseconds timeout) {
  return commit_->TEST_WaitForBlockedProducers(n, timeout);
}

void FlushRequestLogs(const db::Database* db) {
  std::lock_guard<std::mutex> lock(RegistryMutex());
  for (const auto& [database, writer] : Registry()) {
    if (database == db) writer->Flush();
  }
}

RequestLogTotals RequestLogTotalsFor(const db::Database* db) {
  RequestLogTotals totals;
  std::lock_guard<std::mutex> lock(RegistryMutex());
  for (const auto& [database, writer] : Registry()) {
    if (database != db) continue;
    totals.written += writer->written();
    totals.dropped += writer->dropped();
    totals.pending += writer->pending();
    totals.blocked_producers += writer->blocked_producers();
  }
  return totals;
}

}  // namespace rpcforge::logging
