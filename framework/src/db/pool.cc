// SPDX-License-Identifier: Apache-2.0
// The connection pool: each thread's lease, the writer lock, pinning (tests) and
// RequestScope.
#include "db/pool.h"

#include <algorithm>
#include <unordered_map>

#include "core/logging.h"
#include "rpcforge/errors.h"

namespace rpcforge::db {
namespace {

thread_local std::unordered_map<uint64_t, db_internal::ThreadLease> t_leases;

}  // namespace

namespace db_internal {

ThreadLease& Lease(const State& s) { return t_leases[s.id]; }

ThreadLease PeekLease(const State& s) {
  auto it = t_leases.find(s.id);
  return it == t_leases.end() ? ThreadLease{} : it->second;
}

namespace {

// Pick removes from the pool and returns the connection `use` takes now, opening one
// when the pool may grow; null when the caller must wait (`s.mu` held). Writes take
// `s.writes_on` when it is idle, and wait while another write holds it. Reads take the
// most recently returned (warmest) other idle connection or open one; they never take
// `s.writes_on` unless the pool has one connection, so with the pool full they wait
// for one of the others (under concurrent Creates, reads that took it moved the
// writes to another connection, which then prepared the request log's INSERTs too).
// An engine with concurrent writers (Backend::one_writer false) gets no such
// affinity: a write waiting for `s.writes_on` would serialize what the engine runs
// side by side.
Connection* Pick(State& s, Use use) {
  if (!s.one_writer) use = Use::kAny;
  auto take = [&s](std::vector<Connection*>::iterator it) {
    Connection* conn = *it;
    s.idle.erase(it);
    return conn;
  };
  const auto writer = std::find(s.idle.begin(), s.idle.end(), s.writes_on);
  const int max = s.backend->max_connections();
  Connection* conn = nullptr;
  const bool writer_idle = writer != s.idle.end();  // never when writes_on is null
  if (use == Use::kWrite && writer_idle) {
    conn = take(writer);
  } else if (use == Use::kWrite && s.writing_on_writes_on) {
    return nullptr;
  } else if (s.idle.size() > (writer_idle ? 1u : 0u)) {
    auto it = s.idle.end() - 1;
    if (it == writer) --it;
    conn = take(it);
  } else if (static_cast<int>(s.all.size()) < max) {
    s.all.push_back(s.backend->Open());
    conn = s.all.back().get();
  } else if (writer_idle && max == 1) {
    conn = take(writer);  // a read in a pool of one shares the writing connection
  }
  if (conn != nullptr && use == Use::kWrite) {
    s.writes_on = conn;
    s.writing_on_writes_on = true;
  }
  return conn;
}

}  // namespace

ThreadLease& Acquire(State& s, Use use) {
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
    } else if (Connection* conn = Pick(s, use); conn != nullptr) {
      tl.conn = conn;
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
  if (!pinned && conn->in_transaction()) {
    // Hygiene: a raw BEGIN left open must not leak into the next unit of work.
    RPCFORGE_LOG_WARN("db", "connection returned with an open transaction; rolling back");
    conn->RollbackQuietly();
  }
  {
    std::lock_guard<std::mutex> lock(s.mu);
    if (pinned) {
      s.pin_busy = false;
    } else {
      s.idle.push_back(conn);
      if (conn == s.writes_on) s.writing_on_writes_on = false;
    }
  }
  s.cv.notify_all();
}

bool WriterLock::Acquire(std::chrono::milliseconds timeout) {
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

}  // namespace db_internal

using db_internal::Acquire;
using db_internal::Connection;
using db_internal::EndScope;
using db_internal::Lease;
using db_internal::PeekLease;
using db_internal::Release;
using db_internal::State;
using db_internal::ThreadLease;

// --- Pinning -------------------------------------------------------------------------

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

void Database::PinnedConnection::BeginTransaction() {
  db_internal::Run(*db_->state_, "BEGIN", {}, nullptr, /*control=*/true);
}

std::unique_ptr<Database::PinnedConnection::Savepoint>
Database::PinnedConnection::BeginSavepoint() {
  std::string name = "rpcforge_pinned_" + std::to_string(++savepoints_);
  db_internal::Run(*db_->state_, "SAVEPOINT " + name, {}, nullptr, /*control=*/true);
  return std::unique_ptr<Savepoint>(new Savepoint(db_, std::move(name)));
}

Database::PinnedConnection::Savepoint::~Savepoint() {
  try {
    db_internal::RollBackToSavepoint(*db_->state_, name_);
  } catch (const std::exception& e) {
    RPCFORGE_LOG_ERROR("db", "cannot roll back to savepoint {}: {}", name_, e.what());
  }
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
    if (conn->in_transaction()) conn->RollbackQuietly();
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

int64_t Database::ReleaseWriteCache() {
  State& s = *state_;
  std::lock_guard<std::mutex> lock(s.mu);  // an idle connection stays idle meanwhile
  if (s.writes_on == nullptr ||
      std::find(s.idle.begin(), s.idle.end(), s.writes_on) == s.idle.end()) {
    return 0;
  }
  return s.writes_on->ReleaseCache();
}

Database::PoolUse Database::pool_use() const {
  State& s = *state_;
  std::lock_guard<std::mutex> lock(s.mu);
  PoolUse use;
  use.open = static_cast<int>(s.all.size());
  use.in_use = use.open - static_cast<int>(s.idle.size());
  use.max = s.backend->max_connections();
  return use;
}

}  // namespace rpcforge::db
