// SPDX-License-Identifier: Apache-2.0
// Atomic() scopes: transactions, savepoints, their end and their on-commit callbacks.
#include "core/logging.h"
#include "db/pool.h"
#include "rpcforge/db/errors.h"
#include "rpcforge/errors.h"

namespace rpcforge::db {
namespace db_internal {

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

// An engine may roll back the transaction itself after some errors (SQLite: SQLITE_FULL,
// e.g. an AUTOINCREMENT table past the largest rowid; SQLITE_IOERR, SQLITE_NOMEM). A write or a
// nested scope would otherwise wait for the writer lock that this thread's own scope
// holds (lease_timeout, then Unavailable) or, on a pinned connection, commit outside
// the scope. Only ending the scopes makes it usable again.
void CheckNotRolledBack(Connection& conn) {
  if (conn.scopes.empty() || conn.in_transaction()) return;
  throw FailedPrecondition("database: " + std::string(conn.engine()) +
                           " rolled the transaction back after an earlier error" +
                           (conn.rolled_back_by.empty() ? "" : " (" + conn.rolled_back_by + ")") +
                           "; end the Atomic() scope");
}

void RollBackToSavepoint(State& s, const std::string& savepoint) {
  const std::string rollback = "ROLLBACK TO SAVEPOINT " + savepoint;
  const std::string release = "RELEASE SAVEPOINT " + savepoint;
  if (s.backend->control_scripts()) {
    Run(s, rollback + "; " + release, {}, nullptr, /*control=*/true);
  } else {
    Run(s, rollback, {}, nullptr, /*control=*/true);
    Run(s, release, {}, nullptr, /*control=*/true);
  }
}

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
    if (!conn.in_transaction()) return;  // the engine already rolled it back
    if (scope->is_transaction) {
      Run(s, "ROLLBACK", {}, nullptr, true);
    } else {
      RollBackToSavepoint(s, scope->savepoint);
    }
  };
  try {
    if (commit) {
      Run(s, scope->is_transaction ? "COMMIT" : "RELEASE SAVEPOINT " + scope->savepoint, {},
          nullptr, true);
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

}  // namespace db_internal

using db_internal::Acquire;
using db_internal::CheckAccess;
using db_internal::CheckNotRolledBack;
using db_internal::Connection;
using db_internal::DivertToCapture;
using db_internal::EndScope;
using db_internal::Lease;
using db_internal::LeaseGuard;
using db_internal::Release;
using db_internal::Run;
using db_internal::RunCallbacks;
using db_internal::Scope;
using db_internal::State;
using db_internal::ThreadLease;

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

// --- Database: scopes ----------------------------------------------------------------

Transaction Database::Atomic() {
  State& s = *state_;
  CheckAccess(s, "BEGIN");
  ThreadLease& tl = Acquire(s, db_internal::Use::kWrite);
  Connection& conn = *tl.conn;
  auto scope = std::make_shared<Scope>();
  scope->conn = &conn;
  try {
    CheckNotRolledBack(conn);
    if (!conn.in_transaction()) {
      if (!tl.pinned && s.one_writer) {
        if (!s.writer.Acquire(s.options.lease_timeout)) {
          throw Unavailable("database: timed out waiting for the writer lock");
        }
        scope->holds_writer = true;
      }
      scope->is_transaction = true;
      Run(s, conn.BeginWriteSql(), {}, nullptr, true);
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

void Database::RunInTransaction(const std::function<void()>& fn) {
  const bool outermost = !in_atomic() && !pinned();
  for (int attempt = 1;; ++attempt) {
    try {
      Transaction tx = Atomic();
      fn();
      tx.Commit();
      return;
    } catch (const DatabaseError& e) {
      if (!db_internal::RetryConflict(e, outermost, attempt, "a transaction")) throw;
    }
    db_internal::WaitBeforeRetry(attempt);
  }
}

void Database::AtomicSchemaChange(const std::function<void()>& fn) {
  State& s = *state_;
  const db_internal::Dialect& dialect = s.backend->dialect();
  // The lease keeps this thread on one connection from enforcement off to the check.
  LeaseGuard guard(s);
  const std::string off = dialect.EnforceForeignKeysSql(false);
  const std::string on = dialect.EnforceForeignKeysSql(true);
  const bool toggles = !guard.tl.conn->in_transaction() && !off.empty();
  if (toggles) Run(s, off, {}, nullptr, /*control=*/true);
  try {
    Transaction tx = Atomic();
    // Another process's schema change waits here until this one commits.
    if (const std::string lock = dialect.SchemaLockSql(); !lock.empty()) Query(lock);
    fn();
    const std::vector<db_internal::ForeignKeyViolation> broken =
        dialect.ForeignKeyViolations(*this);
    if (!broken.empty()) {
      const db_internal::ForeignKeyViolation& v = broken.front();
      throw FailedPrecondition("foreign key check failed: " + std::to_string(broken.size()) +
                               " row(s), the first in table " + v.table + " (rowid " +
                               std::to_string(v.rowid) + ") references a missing row of " +
                               v.parent);
    }
    tx.Commit();
  } catch (...) {
    if (toggles) Run(s, on, {}, nullptr, /*control=*/true);
    throw;
  }
  if (toggles) Run(s, on, {}, nullptr, /*control=*/true);
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

}  // namespace rpcforge::db
