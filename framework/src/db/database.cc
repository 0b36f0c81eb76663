// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/db/database.h"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>

#include "core/logging.h"
#include "db/sqlite_errors.h"
#include "rpcforge/errors.h"

namespace rpcforge::db {
namespace db_internal {

struct Scope {
  Connection* conn = nullptr;
  bool is_transaction = false;  // BEGIN IMMEDIATE (else SAVEPOINT)
  bool holds_writer = false;
  bool active = true;
  std::string savepoint;
  std::vector<std::function<void()>> callbacks;
};

class Connection {
 public:
  // Throws DatabaseError when the file cannot be opened or set up (SQLiteCpp's own
  // exceptions do not leave the db layer).
  Connection(const std::string& path, int busy_timeout_ms, bool memory, int cache_kib) try
      : db_(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE, busy_timeout_ms) {
    if (!memory) {
      // Switching a new file to WAL needs an exclusive lock, and SQLite does not always
      // consult busy_timeout for it when several connections open the file at once:
      // retry, bounded in count and by busy_timeout.
      const auto deadline = std::chrono::steady_clock::now() +
                            std::chrono::milliseconds(std::max(busy_timeout_ms, 100));
      for (int attempt = 0;; ++attempt) {
        const int rc = db_.tryExec("PRAGMA journal_mode=WAL");
        if (rc == SQLITE_OK) break;
        if ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED) {
          throw db_internal::SqliteError(handle(), rc);
        }
        if (attempt >= 1000 || std::chrono::steady_clock::now() >= deadline) {
          throw db_internal::SqliteError(handle(), rc);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1 + attempt % 10));
      }
    }
    db_.exec("PRAGMA synchronous=NORMAL");
    db_.exec("PRAGMA foreign_keys=ON");
    if (cache_kib > 0) db_.exec("PRAGMA cache_size=-" + std::to_string(cache_kib));
    // Every 1000 virtual-machine steps SQLite asks whether this thread's call is over
    // (CallInterrupt); a non-zero answer makes the statement fail with SQLITE_INTERRUPT.
    sqlite3_progress_handler(handle(), 1000, &Connection::OnProgress, nullptr);
  } catch (const SQLite::Exception& e) {
    throw DatabaseError(db_internal::KindOfSqliteCode(e.getExtendedErrorCode()), e.what(),
                        e.getExtendedErrorCode());
  }
  static int OnProgress(void*) { return CallInterrupt::Poll() != CallInterrupt::Reason::kNone; }
  ~Connection() {
    for (auto& [sql, cached] : cache_) sqlite3_finalize(cached->stmt);
  }
  sqlite3* handle() const { return db_.getHandle(); }
  bool autocommit() const { return sqlite3_get_autocommit(handle()) != 0; }

  // Take returns a prepared statement for `sql`, from the cache when it is idle. The
  // cache keeps each statement while it runs (marked busy) and is searched by a view
  // of `sql`: taking it out and putting it back copied the SQL into a new key every
  // time, 20 KiB twice for each of the request log's 64-row INSERTs.
  sqlite3_stmt* Take(std::string_view sql) {
    auto it = cache_.find(sql);
    if (it != cache_.end() && !it->second->busy) {
      it->second->busy = true;
      return it->second->stmt;
    }
    sqlite3_stmt* stmt = nullptr;
    const int rc =
        sqlite3_prepare_v2(handle(), sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(stmt);
      throw db_internal::SqliteError(handle(), rc);
    }
    return stmt;
  }
  // Give resets `stmt` and keeps it for the next Take of `sql` (or finalizes it when
  // another statement for `sql` is already kept, or the cache is full).
  void Give(std::string_view sql, sqlite3_stmt* stmt) {
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    auto it = cache_.find(sql);
    if (it != cache_.end()) {
      if (it->second->stmt == stmt) {
        it->second->busy = false;
        return;
      }
    } else if (cache_.size() < 256) {
      auto cached = std::make_unique<Cached>(Cached{std::string(sql), stmt, false});
      const std::string_view key = cached->sql;  // stable: the string lives in the node
      cache_.emplace(key, std::move(cached));
      return;
    }
    sqlite3_finalize(stmt);
  }

  int next_savepoint = 0;
  std::vector<std::shared_ptr<Scope>> scopes;
  // rolled_back_by is the error after which SQLite rolled back the transaction of
  // the open `scopes` itself (see CheckNotRolledBack); empty otherwise.
  std::string rolled_back_by;

 private:
  SQLite::Database db_;
  struct Cached {
    std::string sql;
    sqlite3_stmt* stmt;
    bool busy;  // handed out by Take, not yet given back
  };
  std::unordered_map<std::string_view, std::unique_ptr<Cached>> cache_;
};

// WriterLock serializes writers in the process. Unlike std::mutex it may be released
// by a thread other than the one that took it (a leaked scope cleaned up elsewhere).
class WriterLock {
 public:
  // Acquire waits at most `timeout`; false when it did not get the lock. A call that
  // ends meanwhile (CallInterrupt) throws instead.
  bool Acquire(std::chrono::milliseconds timeout);
  void Release() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      held_ = false;
    }
    cv_.notify_one();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool held_ = false;
};

struct ThreadLease {
  Connection* conn = nullptr;
  bool pinned = false;
  int refs = 0;            // statements and scopes of this thread using `conn`
  size_t scope_depth = 0;  // open Atomic() scopes of this thread
};

struct State {
  DatabaseOptions options;
  bool memory = false;
  uint64_t id = 0;
  std::atomic<const Clock*> clock{&Clock::Real()};

  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::unique_ptr<Connection>> all;  // guarded by mu
  std::vector<Connection*> idle;                 // guarded by mu
  Connection* pinned = nullptr;                  // guarded by mu
  bool pin_busy = false;                         // guarded by mu

  WriterLock writer;

  std::mutex hooks_mu;
  std::map<int, Database::QueryObserver> observers;  // guarded by hooks_mu
  int next_observer = 0;
  std::atomic<int> observer_count{0};
  std::shared_ptr<std::function<void(std::string_view)>> access_hook;  // hooks_mu
  std::atomic<bool> has_access_hook{false};
  std::function<void(std::function<void()>)> on_commit_capture;  // hooks_mu

  std::atomic<int64_t> query_count{0};
};

}  // namespace db_internal

namespace {

using db_internal::Connection;
using db_internal::Scope;
using db_internal::State;
using db_internal::ThreadLease;

std::atomic<uint64_t> g_next_db_id{1};
thread_local std::unordered_map<uint64_t, ThreadLease> t_leases;
thread_local CallInterrupt* t_interrupt = nullptr;
thread_local int t_read_only_depth = 0;

constexpr std::chrono::milliseconds kCancelPollInterval{10};

[[noreturn]] void ThrowInterrupted(CallInterrupt::Reason reason) {
  if (reason == CallInterrupt::Reason::kCancelled) {
    throw Cancelled("The call was cancelled during database work");
  }
  throw DeadlineExceeded("Deadline exceeded during database work");
}

// WaitSlice bounds one wait on a condition variable: no later than `limit`, nor the
// call's deadline, and short enough to notice a cancellation.
std::chrono::steady_clock::time_point WaitSlice(std::chrono::steady_clock::time_point limit) {
  if (t_interrupt == nullptr) return limit;
  auto until = std::min(limit, std::chrono::steady_clock::now() + kCancelPollInterval * 2);
  if (auto d = CallInterrupt::CurrentDeadline()) until = std::min(until, *d);
  return until;
}

ThreadLease& Lease(const State& s) { return t_leases[s.id]; }

// PeekLease is Lease for read-only checks: it does not create an entry.
ThreadLease PeekLease(const State& s) {
  auto it = t_leases.find(s.id);
  return it == t_leases.end() ? ThreadLease{} : it->second;
}

// Acquire gives this thread a connection: the one it already uses, the pinned one, or
// one from the pool. Every Acquire is paired with a Release.
ThreadLease& Acquire(State& s) {
  ThreadLease& tl = Lease(s);
  if (tl.conn != nullptr) {
    ++tl.refs;
    return tl;
  }
  std::unique_lock<std::mutex> lock(s.mu);
  const auto deadline = std::chrono::steady_clock::now() + s.options.lease_timeout;
  while (true) {
    if (s.pinned != nullptr) {
      if (!s.pin_busy) {
        s.pin_busy = true;
        tl.conn = s.pinned;
        tl.pinned = true;
        break;
      }
    } else if (!s.idle.empty()) {
      tl.conn = s.idle.back();
      s.idle.pop_back();
      tl.pinned = false;
      break;
    } else if (static_cast<int>(s.all.size()) < (s.memory ? 1 : s.options.max_connections)) {
      s.all.push_back(std::make_unique<Connection>(s.options.path, s.options.busy_timeout_ms,
                                                   s.memory, s.options.cache_kib));
      tl.conn = s.all.back().get();
      tl.pinned = false;
      break;
    }
    s.cv.wait_until(lock, WaitSlice(deadline));
    if (const auto reason = CallInterrupt::Poll(); reason != CallInterrupt::Reason::kNone) {
      ThrowInterrupted(reason);
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      throw Unavailable(s.pinned != nullptr
                            ? "database: timed out waiting for the pinned connection"
                            : "database: timed out waiting for a free connection");
    }
  }
  tl.refs = 1;
  return tl;
}

void Release(State& s) {
  ThreadLease& tl = Lease(s);
  if (--tl.refs > 0) return;
  Connection* conn = tl.conn;
  const bool pinned = tl.pinned;
  t_leases.erase(s.id);  // keeps the map small for threads that outlive many databases
  if (!pinned && !conn->autocommit()) {
    // Hygiene: a raw BEGIN left open must not leak into the next unit of work.
    RPCFORGE_LOG_WARN("db", "connection returned with an open transaction; rolling back");
    sqlite3_exec(conn->handle(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
  {
    std::lock_guard<std::mutex> lock(s.mu);
    if (pinned) {
      s.pin_busy = false;
    } else {
      s.idle.push_back(conn);
    }
  }
  s.cv.notify_all();
}

struct LeaseGuard {
  explicit LeaseGuard(State& st) : s(st), tl(Acquire(st)) {}
  ~LeaseGuard() { Release(s); }
  LeaseGuard(const LeaseGuard&) = delete;
  LeaseGuard& operator=(const LeaseGuard&) = delete;
  State& s;
  ThreadLease& tl;
};

void Bind(sqlite3_stmt* stmt, sqlite3* handle, const std::vector<Value>& params) {
  const int expected = sqlite3_bind_parameter_count(stmt);
  if (expected != static_cast<int>(params.size())) {
    throw InvalidArgument("database: statement expects " + std::to_string(expected) +
                          " parameters, got " + std::to_string(params.size()));
  }
  for (size_t i = 0; i < params.size(); ++i) {
    const int idx = static_cast<int>(i) + 1;
    const Value& v = params[i];
    int rc = SQLITE_OK;
    switch (v.type()) {
      case Value::Type::kNull:
        rc = sqlite3_bind_null(stmt, idx);
        break;
      case Value::Type::kInt:
        rc = sqlite3_bind_int64(stmt, idx, v.AsInt());
        break;
      case Value::Type::kBool:
        rc = sqlite3_bind_int64(stmt, idx, v.AsBool() ? 1 : 0);
        break;
      case Value::Type::kDouble:
        rc = sqlite3_bind_double(stmt, idx, v.AsDouble());
        break;
      case Value::Type::kText:
        rc = sqlite3_bind_text(stmt, idx, v.AsText().data(), static_cast<int>(v.AsText().size()),
                               SQLITE_STATIC);
        break;
      case Value::Type::kBlob:
        rc = sqlite3_bind_blob(stmt, idx, v.AsBlob().data(), static_cast<int>(v.AsBlob().size()),
                               SQLITE_STATIC);
        break;
      case Value::Type::kTime: {
        const std::string text = FormatTimestamp(v.AsTime());
        rc = sqlite3_bind_text(stmt, idx, text.data(), static_cast<int>(text.size()),
                               SQLITE_TRANSIENT);
        break;
      }
    }
    if (rc != SQLITE_OK) throw db_internal::SqliteError(handle, rc);
  }
}

Value ColumnValue(sqlite3_stmt* stmt, int i) {
  switch (sqlite3_column_type(stmt, i)) {
    case SQLITE_INTEGER:
      return Value(static_cast<int64_t>(sqlite3_column_int64(stmt, i)));
    case SQLITE_FLOAT:
      return Value(sqlite3_column_double(stmt, i));
    case SQLITE_TEXT: {
      const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt, i));
      return Value(std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt, i))));
    }
    case SQLITE_BLOB: {
      const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(stmt, i));
      return Value(Blob(p, p + sqlite3_column_bytes(stmt, i)));
    }
    default:
      return Value();
  }
}

void CheckAccess(State& s, std::string_view sql) {
  if (!s.has_access_hook.load(std::memory_order_acquire)) return;
  std::shared_ptr<std::function<void(std::string_view)>> hook;
  {
    std::lock_guard<std::mutex> lock(s.hooks_mu);
    hook = s.access_hook;
  }
  if (hook && *hook) (*hook)(sql);
}

void Notify(State& s, std::string_view sql, std::chrono::nanoseconds duration, bool ok) {
  s.query_count.fetch_add(1, std::memory_order_relaxed);
  RPCFORGE_LOG_DEBUG("db", "({:.3f} ms){} {}", duration.count() / 1e6, ok ? "" : " FAILED", sql);
  if (s.observer_count.load(std::memory_order_acquire) == 0) return;
  std::vector<Database::QueryObserver> observers;
  {
    std::lock_guard<std::mutex> lock(s.hooks_mu);
    for (const auto& [id, fn] : s.observers) observers.push_back(fn);
  }
  const QueryEvent event{sql, duration, ok};
  for (const auto& fn : observers) fn(event);
}

// CanWrapInTransaction is false for statements SQLite refuses inside a transaction.
bool CanWrapInTransaction(std::string_view sql) {
  size_t i = 0;
  while (i < sql.size() && (sql[i] == ' ' || sql[i] == '\n' || sql[i] == '\t')) ++i;
  std::string word;
  while (i < sql.size() && std::isalpha(static_cast<unsigned char>(sql[i]))) {
    word += static_cast<char>(std::toupper(static_cast<unsigned char>(sql[i++])));
  }
  return word != "PRAGMA" && word != "VACUUM" && word != "ATTACH" && word != "DETACH" &&
         word != "BEGIN" && word != "COMMIT" && word != "END" && word != "ROLLBACK" &&
         word != "SAVEPOINT" && word != "RELEASE";
}

}  // namespace

bool db_internal::WriterLock::Acquire(std::chrono::milliseconds timeout) {
  const auto limit = std::chrono::steady_clock::now() + timeout;
  std::unique_lock<std::mutex> lock(mu_);
  while (held_) {
    cv_.wait_until(lock, WaitSlice(limit));
    if (!held_) break;
    if (const auto reason = CallInterrupt::Poll(); reason != CallInterrupt::Reason::kNone) {
      ThrowInterrupted(reason);
    }
    if (std::chrono::steady_clock::now() >= limit) return false;
  }
  held_ = true;
  return true;
}

// --- CallInterrupt -------------------------------------------------------------------

CallInterrupt::CallInterrupt(std::optional<SteadyTime> deadline, std::function<bool()> cancelled)
    : deadline_(deadline),
      cancelled_(std::move(cancelled)),
      next_poll_(std::chrono::steady_clock::now() + kCancelPollInterval),
      outer_(t_interrupt) {
  t_interrupt = this;
}

CallInterrupt::~CallInterrupt() { t_interrupt = outer_; }

CallInterrupt::Reason CallInterrupt::Poll() {
  CallInterrupt* self = t_interrupt;
  if (self == nullptr) return Reason::kNone;
  if (self->reason_ != Reason::kNone) return self->reason_;
  const auto now = std::chrono::steady_clock::now();
  if (self->deadline_ && now >= *self->deadline_) {
    self->reason_ = Reason::kDeadline;
  } else if (self->cancelled_ && now >= self->next_poll_) {
    self->next_poll_ = now + kCancelPollInterval;
    if (self->cancelled_()) self->reason_ = Reason::kCancelled;
  }
  return self->reason_;
}

void CallInterrupt::Check() {
  if (const Reason reason = Poll(); reason != Reason::kNone) ThrowInterrupted(reason);
}

std::optional<CallInterrupt::SteadyTime> CallInterrupt::CurrentDeadline() {
  return t_interrupt == nullptr ? std::nullopt : t_interrupt->deadline_;
}

CallInterrupt::Suspended::Suspended() : saved_(t_interrupt) { t_interrupt = nullptr; }
CallInterrupt::Suspended::~Suspended() { t_interrupt = saved_; }

// --- ReadOnlyScope -------------------------------------------------------------------

ReadOnlyScope::ReadOnlyScope() { ++t_read_only_depth; }
ReadOnlyScope::~ReadOnlyScope() { --t_read_only_depth; }
bool ReadOnlyScope::active() { return t_read_only_depth > 0; }
ReadOnlyScope::Suspended::Suspended() : saved_(t_read_only_depth) { t_read_only_depth = 0; }
ReadOnlyScope::Suspended::~Suspended() { t_read_only_depth = saved_; }

namespace {

// CheckNotRolledBack throws when SQLite has rolled back the transaction of the
// connection's open Atomic() scopes on its own, as it does after some errors
// (SQLITE_FULL: e.g. an AUTOINCREMENT table past the largest rowid; SQLITE_IOERR,
// SQLITE_NOMEM). A write or a nested scope would otherwise wait for the writer lock
// that this thread's own scope holds (lease_timeout, then Unavailable) or, on a pinned
// connection, commit outside the scope. Only ending the scopes makes it usable again.
void CheckNotRolledBack(Connection& conn) {
  if (conn.scopes.empty() || !conn.autocommit()) return;
  throw FailedPrecondition("database: SQLite rolled the transaction back after an earlier error" +
                           (conn.rolled_back_by.empty() ? "" : " (" + conn.rolled_back_by + ")") +
                           "; end the Atomic() scope");
}

// Run executes one statement on this thread's connection (leasing one if needed).
ExecResult Run(State& s, std::string_view sql, const std::vector<Value>& params,
               const std::function<void(const Row&)>* on_row, bool control = false) {
  // `control` statements (BEGIN/SAVEPOINT/COMMIT/...) are issued by the scopes, which
  // check access and take the writer lock themselves.
  if (!control) CheckAccess(s, sql);
  LeaseGuard lease(s);
  Connection& conn = *lease.tl.conn;
  const auto start = std::chrono::steady_clock::now();
  bool ok = false;
  bool holds_writer = false;
  bool wrapped = false;
  sqlite3_stmt* stmt = nullptr;
  ExecResult result;
  try {
    stmt = conn.Take(sql);
    if (!control && t_read_only_depth > 0 && !sqlite3_stmt_readonly(stmt)) {
      throw PermissionDenied("This service is read-only: database writes are not allowed");
    }
    Bind(stmt, conn.handle(), params);
    if (!control && !sqlite3_stmt_readonly(stmt)) CheckNotRolledBack(conn);
    if (!control && !lease.tl.pinned && conn.autocommit() && !sqlite3_stmt_readonly(stmt)) {
      if (!s.writer.Acquire(s.options.lease_timeout)) {
        throw Unavailable("database: timed out waiting for the writer lock");
      }
      holds_writer = true;
      if (CanWrapInTransaction(sql)) {
        // A lone write statement upgrades a read snapshot to a write lock; when another
        // process wrote in between, SQLite fails with SQLITE_BUSY_SNAPSHOT without
        // consulting busy_timeout. BEGIN IMMEDIATE takes the write lock first (waiting
        // under busy_timeout), so the statement cannot hit that.
        const int rc = sqlite3_exec(conn.handle(), "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
        if (rc != SQLITE_OK) throw db_internal::SqliteError(conn.handle(), rc);
        wrapped = true;
      }
    }
    std::shared_ptr<std::vector<std::string>> columns;
    while (true) {
      const int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) break;
      if (rc == SQLITE_INTERRUPT && CallInterrupt::Poll() != CallInterrupt::Reason::kNone) {
        ThrowInterrupted(CallInterrupt::Poll());
      }
      if (rc != SQLITE_ROW) throw db_internal::SqliteError(conn.handle(), rc);
      if (on_row == nullptr) continue;
      const int n = sqlite3_column_count(stmt);
      if (!columns) {
        columns = std::make_shared<std::vector<std::string>>();
        for (int i = 0; i < n; ++i) columns->emplace_back(sqlite3_column_name(stmt, i));
      }
      std::vector<Value> values;
      values.reserve(static_cast<size_t>(n));
      for (int i = 0; i < n; ++i) values.push_back(ColumnValue(stmt, i));
      (*on_row)(Row(columns, std::move(values)));
    }
    result.changes = sqlite3_changes(conn.handle());
    result.last_insert_id = sqlite3_last_insert_rowid(conn.handle());
    if (wrapped) {
      conn.Give(sql, stmt);  // a pending statement would keep COMMIT from finishing
      stmt = nullptr;
      const int rc = sqlite3_exec(conn.handle(), "COMMIT", nullptr, nullptr, nullptr);
      if (rc != SQLITE_OK) throw db_internal::SqliteError(conn.handle(), rc);
      wrapped = false;
    }
    ok = true;
  } catch (...) {
    if (!conn.scopes.empty() && conn.autocommit() && conn.rolled_back_by.empty()) {
      conn.rolled_back_by = sqlite3_errmsg(conn.handle());
    }
    if (wrapped && !conn.autocommit()) {
      if (stmt != nullptr) sqlite3_reset(stmt);
      sqlite3_exec(conn.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
    }
    if (stmt != nullptr) conn.Give(sql, stmt);
    if (holds_writer) s.writer.Release();
    Notify(s, sql, std::chrono::steady_clock::now() - start, false);
    throw;
  }
  if (stmt != nullptr) conn.Give(sql, stmt);
  if (holds_writer) s.writer.Release();
  Notify(s, sql, std::chrono::steady_clock::now() - start, ok);
  return result;
}

void RunCallbacks(std::vector<std::function<void()>>& callbacks) {
  for (auto& fn : callbacks) {
    try {
      fn();
    } catch (const std::exception& e) {
      RPCFORGE_LOG_ERROR("db", "on-commit callback failed: {}", e.what());
    } catch (...) {
      RPCFORGE_LOG_ERROR("db", "on-commit callback failed with a non-standard exception");
    }
  }
}

void DivertToCapture(State& s, std::vector<std::function<void()>> callbacks) {
  std::function<void(std::function<void()>)> capture;
  {
    std::lock_guard<std::mutex> lock(s.hooks_mu);
    capture = s.on_commit_capture;
  }
  if (!capture) return;  // the test's transaction never commits: dropped
  for (auto& fn : callbacks) capture(std::move(fn));
}

// EndScope commits or rolls back `scope`, which must be this thread's innermost.
void EndScope(State& s, const std::shared_ptr<Scope>& scope, bool commit) {
  if (!scope->active) throw FailedPrecondition("database: transaction is not active");
  Connection& conn = *scope->conn;
  if (PeekLease(s).conn != &conn) {
    throw FailedPrecondition("database: a transaction must end on the thread that opened it");
  }
  if (conn.scopes.empty() || conn.scopes.back() != scope) {
    throw FailedPrecondition("database: an inner Atomic() scope is still open");
  }
  std::exception_ptr error;
  auto rollback = [&] {
    if (conn.autocommit()) return;  // SQLite already rolled the transaction back
    if (scope->is_transaction) {
      Run(s, "ROLLBACK", {}, nullptr, true);
    } else {
      Run(s, "ROLLBACK TO " + scope->savepoint, {}, nullptr, true);
      Run(s, "RELEASE " + scope->savepoint, {}, nullptr, true);
    }
  };
  try {
    if (commit) {
      Run(s, scope->is_transaction ? "COMMIT" : "RELEASE " + scope->savepoint, {}, nullptr, true);
    } else {
      rollback();
    }
  } catch (...) {
    error = std::current_exception();
    if (commit) {
      try {
        rollback();
      } catch (const std::exception& e) {
        RPCFORGE_LOG_ERROR("db", "rollback after a failed commit failed: {}", e.what());
      }
      commit = false;
    }
  }
  scope->active = false;
  conn.scopes.pop_back();
  if (conn.scopes.empty()) conn.rolled_back_by.clear();
  std::vector<std::function<void()>> to_run;
  if (commit) {
    if (scope->is_transaction) {
      to_run = std::move(scope->callbacks);
    } else if (!conn.scopes.empty()) {
      auto& parent = conn.scopes.back()->callbacks;
      for (auto& fn : scope->callbacks) parent.push_back(std::move(fn));
    } else {
      DivertToCapture(s, std::move(scope->callbacks));
    }
  }
  scope->callbacks.clear();
  if (scope->holds_writer) s.writer.Release();
  ThreadLease& tl = Lease(s);
  if (tl.scope_depth > 0) --tl.scope_depth;
  Release(s);
  if (error) std::rethrow_exception(error);
  RunCallbacks(to_run);
}

}  // namespace

// --- Transaction -------------------------------------------------------------------

Transaction::Transaction(Database* db, std::shared_ptr<db_internal::Scope> scope)
    : db_(db), scope_(std::move(scope)) {}

Transaction::Transaction(Transaction&& other) noexcept
    : db_(other.db_), scope_(std::move(other.scope_)) {}

Transaction::~Transaction() {
  if (!scope_ || !scope_->active) return;
  try {
    EndScope(*db_->state_, scope_, /*commit=*/false);
  } catch (const std::exception& e) {
    RPCFORGE_LOG_ERROR("db", "rolling back an abandoned transaction failed: {}", e.what());
  }
}

void Transaction::Commit() {
  if (!scope_) throw FailedPrecondition("database: transaction was moved from");
  EndScope(*db_->state_, scope_, /*commit=*/true);
}

void Transaction::Rollback() {
  if (!scope_) throw FailedPrecondition("database: transaction was moved from");
  EndScope(*db_->state_, scope_, /*commit=*/false);
}

bool Transaction::active() const noexcept { return scope_ && scope_->active; }

void Transaction::OnCommit(std::function<void()> fn) { db_->OnCommit(std::move(fn)); }

// --- Database ----------------------------------------------------------------------

Database::Database(DatabaseOptions options) : state_(std::make_unique<State>()) {
  state_->options = std::move(options);
  state_->memory = state_->options.path.empty() || state_->options.path == ":memory:";
  if (state_->memory) state_->options.path = ":memory:";
  state_->id = g_next_db_id.fetch_add(1);
  // Open one connection now so a bad path fails here, not at the first query.
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->all.push_back(std::make_unique<Connection>(state_->options.path,
                                                     state_->options.busy_timeout_ms,
                                                     state_->memory, state_->options.cache_kib));
  state_->idle.push_back(state_->all.back().get());
}

std::unique_ptr<Database> Database::Open(const std::string& path) {
  DatabaseOptions options;
  options.path = path;
  return std::make_unique<Database>(std::move(options));
}

Database::~Database() {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->idle.clear();
  state_->pinned = nullptr;
  state_->all.clear();
}

const std::string& Database::path() const noexcept { return state_->options.path; }
bool Database::in_memory() const noexcept { return state_->memory; }
const Clock& Database::clock() const noexcept { return *state_->clock.load(); }
void Database::SetClock(const Clock& clock) { state_->clock.store(&clock); }

ExecResult Database::Execute(std::string_view sql, const std::vector<Value>& params) {
  return Run(*state_, sql, params, nullptr);
}

std::vector<Row> Database::Query(std::string_view sql, const std::vector<Value>& params) {
  std::vector<Row> rows;
  const std::function<void(const Row&)> fn = [&rows](const Row& r) { rows.push_back(r); };
  Run(*state_, sql, params, &fn);
  return rows;
}

void Database::QueryEach(std::string_view sql, const std::vector<Value>& params,
                         const std::function<void(const Row&)>& fn) {
  Run(*state_, sql, params, &fn);
}

Transaction Database::Atomic() {
  State& s = *state_;
  CheckAccess(s, "BEGIN IMMEDIATE");
  ThreadLease& tl = Acquire(s);
  Connection& conn = *tl.conn;
  auto scope = std::make_shared<Scope>();
  scope->conn = &conn;
  try {
    CheckNotRolledBack(conn);
    if (conn.autocommit()) {
      if (!tl.pinned) {
        if (!s.writer.Acquire(s.options.lease_timeout)) {
          throw Unavailable("database: timed out waiting for the writer lock");
        }
        scope->holds_writer = true;
      }
      scope->is_transaction = true;
      Run(s, "BEGIN IMMEDIATE", {}, nullptr, true);
    } else {
      scope->savepoint = "rpcforge_sp_" + std::to_string(++conn.next_savepoint);
      Run(s, "SAVEPOINT " + scope->savepoint, {}, nullptr, true);
    }
  } catch (...) {
    if (scope->holds_writer) s.writer.Release();
    Release(s);
    throw;
  }
  conn.scopes.push_back(scope);
  ++Lease(s).scope_depth;
  return Transaction(this, std::move(scope));
}

void Database::OnCommit(std::function<void()> fn) {
  State& s = *state_;
  const ThreadLease tl = PeekLease(s);
  if (tl.conn != nullptr && tl.scope_depth > 0 && !tl.conn->scopes.empty()) {
    tl.conn->scopes.back()->callbacks.push_back(std::move(fn));
    return;
  }
  if (pinned()) {
    std::vector<std::function<void()>> one;
    one.push_back(std::move(fn));
    DivertToCapture(s, std::move(one));
    return;
  }
  std::vector<std::function<void()>> one;
  one.push_back(std::move(fn));
  RunCallbacks(one);
}

bool Database::in_atomic() const { return PeekLease(*state_).scope_depth > 0; }

int Database::AddQueryObserver(QueryObserver observer) {
  std::lock_guard<std::mutex> lock(state_->hooks_mu);
  const int id = ++state_->next_observer;
  state_->observers.emplace(id, std::move(observer));
  state_->observer_count.store(static_cast<int>(state_->observers.size()));
  return id;
}

void Database::RemoveQueryObserver(int id) {
  std::lock_guard<std::mutex> lock(state_->hooks_mu);
  state_->observers.erase(id);
  state_->observer_count.store(static_cast<int>(state_->observers.size()));
}

int64_t Database::query_count() const noexcept { return state_->query_count.load(); }

void Database::SetAccessHook(std::function<void(std::string_view sql)> hook) {
  std::lock_guard<std::mutex> lock(state_->hooks_mu);
  if (hook) {
    state_->access_hook = std::make_shared<std::function<void(std::string_view)>>(std::move(hook));
  } else {
    state_->access_hook.reset();
  }
  state_->has_access_hook.store(state_->access_hook != nullptr);
}

void Database::SetOnCommitCapture(std::function<void(std::function<void()>)> capture) {
  std::lock_guard<std::mutex> lock(state_->hooks_mu);
  state_->on_commit_capture = std::move(capture);
}

std::unique_ptr<Database::PinnedConnection> Database::Pin() {
  State& s = *state_;
  if (PeekLease(s).conn != nullptr) {
    throw FailedPrecondition("database: Pin() called while this thread uses a connection");
  }
  ThreadLease& tl = Acquire(s);  // a pooled connection, unless already pinned
  if (tl.pinned) {
    Release(s);
    throw FailedPrecondition("database: already pinned");
  }
  Connection* conn = tl.conn;
  t_leases.erase(s.id);  // hand the connection over to the pin without returning it
  {
    std::lock_guard<std::mutex> lock(s.mu);
    s.pinned = conn;
    s.pin_busy = false;
  }
  s.cv.notify_all();
  return std::unique_ptr<PinnedConnection>(new PinnedConnection(this));
}

bool Database::pinned() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->pinned != nullptr;
}

Database::PinnedConnection::~PinnedConnection() {
  State& s = *db_->state_;
  std::unique_lock<std::mutex> lock(s.mu);
  const auto deadline = std::chrono::steady_clock::now() + s.options.lease_timeout;
  if (!s.cv.wait_until(lock, deadline, [&] { return !s.pin_busy; })) {
    RPCFORGE_LOG_ERROR("db", "unpinning while another thread still uses the connection");
  }
  Connection* conn = s.pinned;
  s.pinned = nullptr;
  s.pin_busy = false;
  if (conn != nullptr) {
    for (auto& scope : conn->scopes) scope->active = false;
    conn->scopes.clear();
    if (!conn->autocommit()) {
      sqlite3_exec(conn->handle(), "ROLLBACK", nullptr, nullptr, nullptr);
    }
    s.idle.push_back(conn);
  }
  lock.unlock();
  s.cv.notify_all();
}

Database::RequestScope::RequestScope(Database& db)
    : db_(&db), depth_at_start_(PeekLease(*db.state_).scope_depth) {}

Database::RequestScope::~RequestScope() {
  State& s = *db_->state_;
  size_t rolled_back = 0;
  // Bounded by the number of scopes this thread has open.
  for (size_t guard = PeekLease(s).scope_depth; guard > 0; --guard) {
    const ThreadLease tl = PeekLease(s);
    if (tl.conn == nullptr || tl.scope_depth <= depth_at_start_ || tl.conn->scopes.empty()) {
      break;
    }
    auto scope = tl.conn->scopes.back();
    try {
      EndScope(s, scope, /*commit=*/false);
    } catch (const std::exception& e) {
      RPCFORGE_LOG_ERROR("db", "request clean-up: rollback failed: {}", e.what());
      break;
    }
    ++rolled_back;
  }
  if (rolled_back > 0) {
    RPCFORGE_LOG_WARN("db", "request left {} Atomic() scope(s) open; rolled back", rolled_back);
  }
}

}  // namespace rpcforge::db
