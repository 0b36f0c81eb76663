// SPDX-License-Identifier: Apache-2.0
// The Database's state, shared by its parts (private to the db layer): the connection
// pool with each thread's lease and the pinned connection (pool.cc), the call scopes
// (call_scopes.cc), transactions (transaction.cc) and statements (database.cc).
#ifndef RPCFORGE_SRC_DB_POOL_H_
#define RPCFORGE_SRC_DB_POOL_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "db/backend.h"
#include "rpcforge/db/database.h"

namespace rpcforge::db::db_internal {

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
  std::unique_ptr<Backend> backend;
  uint64_t id = 0;
  std::atomic<const Clock*> clock{&Clock::Real()};

  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::unique_ptr<Connection>> all;  // guarded by mu
  std::vector<Connection*> idle;                 // guarded by mu
  Connection* pinned = nullptr;                  // guarded by mu
  // The connection write transactions prefer: the one the last Atomic() used. Writes
  // keep to one connection, so only it holds the pages and prepared INSERTs of the
  // tables written (a request log's multi-row INSERTs on each of eight connections were
  // a tenth of the durable blog's resident memory under load). Once a write has
  // chosen it, reads leave it alone (unless the pool has one connection): they have
  // max_connections - 1 connections.
  Connection* writes_on = nullptr;  // guarded by mu
  // A write transaction holds `writes_on`, and with it the writer lock: another write
  // transaction waits for that connection rather than take one of its own (it would
  // wait for the writer lock anyway; under concurrent Creates the writes otherwise
  // rotated over the pool again).
  bool writing_on_writes_on = false;  // guarded by mu
  bool pin_busy = false;              // guarded by mu

  // writer serializes the writes of an engine with one writer (Backend::one_writer,
  // copied to one_writer at open); unused otherwise.
  WriterLock writer;
  bool one_writer = true;

  std::mutex hooks_mu;
  std::map<int, Database::QueryObserver> observers;  // guarded by hooks_mu
  int next_observer = 0;
  std::atomic<int> observer_count{0};
  std::shared_ptr<std::function<void(std::string_view)>> access_hook;  // hooks_mu
  std::atomic<bool> has_access_hook{false};
  std::function<void(std::function<void()>)> on_commit_capture;  // hooks_mu

  std::atomic<int64_t> query_count{0};
};

// Lease is this thread's lease on `s` (created empty when there is none).
ThreadLease& Lease(const State& s);
// PeekLease is Lease for read-only checks: it does not create an entry.
ThreadLease PeekLease(const State& s);
// Use says what a lease is for: a write transaction prefers `State::writes_on`.
enum class Use { kAny, kWrite };

// Acquire gives this thread a connection: the one it already uses, the pinned one, or
// one from the pool. Every Acquire is paired with a Release.
ThreadLease& Acquire(State& s, Use use = Use::kAny);
void Release(State& s);

struct LeaseGuard {
  explicit LeaseGuard(State& st) : s(st), tl(Acquire(st)) {}
  ~LeaseGuard() { Release(s); }
  LeaseGuard(const LeaseGuard&) = delete;
  LeaseGuard& operator=(const LeaseGuard&) = delete;
  State& s;
  ThreadLease& tl;
};

// WaitSlice bounds one wait on a condition variable: no later than `limit`, nor the
// call's deadline, and short enough to notice a cancellation.
std::chrono::steady_clock::time_point WaitSlice(std::chrono::steady_clock::time_point limit);

// CheckAccess runs the access hook, if any, for `sql`.
void CheckAccess(State& s, std::string_view sql);
// CheckNotRolledBack throws when SQLite rolled back the transaction of the connection's
// open Atomic() scopes on its own (see transaction.cc).
void CheckNotRolledBack(Connection& conn);
// kConflictAttempts bounds the attempts at a statement or transaction that failed with
// a serialization failure or deadlock (DatabaseErrorKind::kConflict).
inline constexpr int kConflictAttempts = 4;
// RetryConflict is the one retry rule of Run and Database::RunInTransaction: true (and
// logged) when failed attempt `attempt` (1-based) of `what` may run again, that is when
// `e` is a conflict, the attempt was `retryable` (it ran the whole transaction) and
// attempts remain. The caller then calls WaitBeforeRetry and runs it again.
bool RetryConflict(const DatabaseError& e, bool retryable, int attempt, const char* what);
// WaitBeforeRetry sleeps the jittered backoff after failed attempt `attempt` (1-based),
// no longer than the call's deadline, then throws if the call ended (CallInterrupt).
void WaitBeforeRetry(int attempt);
// Run executes one statement on this thread's connection (leasing one if needed),
// again (up to kConflictAttempts in all) when it failed with a conflict in a
// transaction of its own. `control` statements (BEGIN/SAVEPOINT/COMMIT/...) are issued
// by the scopes, which check access and take the writer lock themselves.
ExecResult Run(State& s, std::string_view sql, const std::vector<Value>& params,
               const std::function<void(const Row&)>* on_row, bool control = false);
// RollBackToSavepoint rolls the connection back to `savepoint` and releases it: in one
// round trip where the engine takes a control script (Backend::control_scripts), which
// saves one per rolled-back test on PostgreSQL.
void RollBackToSavepoint(State& s, const std::string& savepoint);
// EndScope commits or rolls back `scope` (innermost first) and runs or drops its
// on-commit callbacks.
void EndScope(State& s, const std::shared_ptr<Scope>& scope, bool commit);

}  // namespace rpcforge::db::db_internal

#endif  // RPCFORGE_SRC_DB_POOL_H_
