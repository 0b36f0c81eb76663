// SPDX-License-Identifier: Apache-2.0
// The Database facade and statement execution (Run).
#include "rpcforge/db/database.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <utility>

#include "core/logging.h"
#include "db/pool.h"
#include "rpcforge/db/errors.h"
#include "rpcforge/errors.h"

namespace rpcforge::db {
namespace {

std::atomic<uint64_t> g_next_db_id{1};

}  // namespace

namespace db_internal {

const Dialect& DialectOf(const Database& db) { return db.state_->backend->dialect(); }

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

namespace {

// RunOnce runs the statement once. `*retryable` says whether a failure of it may be
// retried as it stands: it ran in a transaction of its own (no Atomic() scope, no pinned
// connection) and delivered no row to the caller.
ExecResult RunOnce(State& s, std::string_view sql, const std::vector<Value>& params,
                   const std::function<void(const Row&)>* on_row, bool control, bool* retryable) {
  LeaseGuard lease(s);
  Connection& conn = *lease.tl.conn;
  *retryable = !control && !lease.tl.pinned && conn.scopes.empty() && !conn.in_transaction();
  const auto start = std::chrono::steady_clock::now();
  bool ok = false;
  bool holds_writer = false;
  bool wrapped = false;
  Statement* stmt = nullptr;
  ExecResult result;
  try {
    stmt = conn.Take(sql);
    const bool writes = !stmt->read_only();
    if (!control && writes && ReadOnlyScope::active()) {
      throw PermissionDenied("This service is read-only: database writes are not allowed");
    }
    stmt->Bind(params);
    if (!control && writes) CheckNotRolledBack(conn);
    if (!control && writes && s.one_writer && !lease.tl.pinned && !conn.in_transaction()) {
      if (!s.writer.Acquire(s.options.lease_timeout)) {
        throw Unavailable("database: timed out waiting for the writer lock");
      }
      holds_writer = true;
      if (conn.CanWrapInTransaction(sql)) {
        // A lone write runs in a transaction that takes the engine's write lock first
        // (SQLite: a lone write upgrades a read snapshot to a write lock, and fails with
        // SQLITE_BUSY_SNAPSHOT, without waiting, when another process wrote in between).
        conn.ExecControl(conn.BeginWriteSql());
        wrapped = true;
      }
    }
    std::shared_ptr<std::vector<std::string>> columns;
    while (stmt->Step()) {
      if (on_row == nullptr) continue;
      const int n = stmt->column_count();
      if (!columns) {
        columns = std::make_shared<std::vector<std::string>>();
        for (int i = 0; i < n; ++i) columns->push_back(stmt->column_name(i));
      }
      std::vector<Value> values;
      values.reserve(static_cast<size_t>(n));
      for (int i = 0; i < n; ++i) values.push_back(stmt->column(i));
      *retryable = false;
      (*on_row)(Row(columns, std::move(values)));
    }
    result.changes = conn.changes();
    result.last_insert_id = conn.last_insert_id();
    if (wrapped) {
      conn.Give(sql, stmt);  // a pending statement would keep COMMIT from finishing
      stmt = nullptr;
      conn.ExecControl("COMMIT");
      wrapped = false;
    }
    ok = true;
  } catch (...) {
    if (!conn.scopes.empty() && !conn.in_transaction() && conn.rolled_back_by.empty()) {
      conn.rolled_back_by = conn.last_error();
    }
    if (stmt != nullptr) conn.Give(sql, stmt);  // resets it, so ROLLBACK can finish
    if (wrapped && conn.in_transaction()) conn.RollbackQuietly();
    if (holds_writer) s.writer.Release();
    Notify(s, sql, std::chrono::steady_clock::now() - start, false);
    throw;
  }
  if (stmt != nullptr) conn.Give(sql, stmt);
  if (holds_writer) s.writer.Release();
  Notify(s, sql, std::chrono::steady_clock::now() - start, ok);
  return result;
}

// ConflictBackoff is how long to wait before attempt `attempt` + 1 after a conflict:
// 2, 4, 8 ms times a random factor in [0.5, 1.5), so the transactions that deadlocked do
// not meet again in step; never past the call's deadline.
std::chrono::microseconds ConflictBackoff(int attempt) {
  thread_local std::minstd_rand rng(static_cast<unsigned>(
      std::hash<std::thread::id>()(std::this_thread::get_id()) ^
      static_cast<size_t>(std::chrono::steady_clock::now().time_since_epoch().count())));
  std::uniform_real_distribution<double> jitter(0.5, 1.5);
  return std::chrono::microseconds(
      static_cast<int64_t>(1000.0 * static_cast<double>(1 << attempt) * jitter(rng)));
}

}  // namespace

bool RetryConflict(const DatabaseError& e, bool retryable, int attempt, const char* what) {
  if (!retryable || attempt >= kConflictAttempts || e.kind() != DatabaseErrorKind::kConflict) {
    return false;
  }
  RPCFORGE_LOG_INFO("db", "{} conflicted (attempt {} of {}); retrying: {}", what, attempt,
                    kConflictAttempts, e.backend_message());
  return true;
}

void WaitBeforeRetry(int attempt) {
  auto until = std::chrono::steady_clock::now() + ConflictBackoff(attempt);
  if (auto deadline = CallInterrupt::CurrentDeadline()) until = std::min(until, *deadline);
  std::this_thread::sleep_until(until);
  CallInterrupt::Check();  // a call that ended meanwhile stops here, not in the statement
}

ExecResult Run(State& s, std::string_view sql, const std::vector<Value>& params,
               const std::function<void(const Row&)>* on_row, bool control) {
  // `control` statements (BEGIN/SAVEPOINT/COMMIT/...) are issued by the scopes, which
  // check access and take the writer lock themselves.
  if (!control) CheckAccess(s, sql);
  // A serialization failure or deadlock (PostgreSQL) undid the statement and only it
  // when it ran in a transaction of its own: run it again, a bounded number of times.
  // Inside an Atomic() scope the whole transaction is lost; Database::RunInTransaction
  // retries that.
  for (int attempt = 1;; ++attempt) {
    bool retryable = false;
    try {
      return RunOnce(s, sql, params, on_row, control, &retryable);
    } catch (const DatabaseError& e) {
      if (!RetryConflict(e, retryable, attempt, "a statement")) throw;
    }
    WaitBeforeRetry(attempt);
  }
}

}  // namespace db_internal

using db_internal::Connection;
using db_internal::PeekLease;
using db_internal::Run;
using db_internal::State;

Database::Database(DatabaseOptions options) : state_(std::make_unique<State>()) {
  state_->options = std::move(options);
  state_->options.path = db_internal::CanonicalDatabasePath(state_->options.path);
  state_->backend = db_internal::OpenBackend(state_->options);
  state_->one_writer = state_->backend->one_writer();
  if (state_->backend->in_memory()) state_->options.path = ":memory:";
  state_->id = g_next_db_id.fetch_add(1);
  // Open one connection now so a bad path fails here, not at the first query.
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->all.push_back(state_->backend->Open());
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
  state_->writes_on = nullptr;
  state_->all.clear();
}

const std::string& Database::path() const noexcept { return state_->options.path; }
const std::string& Database::journal_dir() const noexcept { return state_->options.journal_dir; }
bool Database::in_memory() const noexcept { return state_->backend->in_memory(); }
bool Database::failed_statement_aborts_transaction() const noexcept {
  return state_->backend->failed_statement_aborts_transaction();
}
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

}  // namespace rpcforge::db
