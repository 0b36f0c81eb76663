// SPDX-License-Identifier: Apache-2.0
// The seam between the Database and a SQL engine (private to the db layer): a Backend
// opens Connections, a Connection prepares Statements and knows its engine's
// transaction SQL. The Database above it owns the pool, the leases, the writer lock,
// the Atomic() scopes and the query observers, and never names an engine; SQLite is
// the first backend (sqlite_connection.h), with its Dialect (schema_sqlite.h).
//
// Errors: every method throws db::DatabaseError (rpcforge/db/errors.h) with the
// engine's code classified, never an engine's own exception type, or
// rpcforge::Cancelled / DeadlineExceeded when the call's CallInterrupt ended the
// statement.
#ifndef RPCFORGE_SRC_DB_BACKEND_H_
#define RPCFORGE_SRC_DB_BACKEND_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "db/dialect.h"
#include "rpcforge/db/database.h"
#include "rpcforge/db/value.h"

namespace rpcforge::db::db_internal {

class Connection;

// Scope is one Atomic() scope open on a connection (a transaction or a savepoint).
struct Scope {
  Connection* conn = nullptr;
  bool is_transaction = false;  // a write transaction (else a savepoint)
  bool holds_writer = false;
  bool active = true;
  std::string savepoint;
  std::vector<std::function<void()>> callbacks;
};

// Statement is one prepared statement, taken from its Connection for one execution
// (Connection::Take) and given back after it (Connection::Give). Used by one thread.
class Statement {
 public:
  virtual ~Statement() = default;
  // read_only is true when the statement cannot change the database (the engine's own
  // judgement of the prepared statement, not a look at its text).
  virtual bool read_only() const = 0;
  // Bind binds `params` to the placeholders, in order; throws InvalidArgument when
  // their counts differ. The values must outlive the execution.
  virtual void Bind(const std::vector<Value>& params) = 0;
  // Step runs the statement to its next row: true when a row is ready, false when it
  // is done.
  virtual bool Step() = 0;
  // Columns of the current row.
  virtual int column_count() const = 0;
  virtual std::string column_name(int i) const = 0;
  virtual Value column(int i) const = 0;
};

// Connection is one connection of the pool, used by one thread at a time (its lease).
class Connection {
 public:
  virtual ~Connection() = default;

  // Take returns a prepared statement for `sql`; Give returns it after its execution
  // (reset, and kept for the next Take of the same text when the engine caches them).
  virtual Statement* Take(std::string_view sql) = 0;
  virtual void Give(std::string_view sql, Statement* stmt) = 0;

  // engine names the SQL engine in messages ("SQLite").
  virtual std::string_view engine() const = 0;
  // in_transaction is true while a transaction is open on the connection, whoever
  // opened it (the engine may also end one itself after some errors).
  virtual bool in_transaction() const = 0;
  // What the last statement changed.
  virtual int64_t changes() const = 0;
  virtual int64_t last_insert_id() const = 0;
  // last_error is the engine's message for the last failure on this connection.
  virtual std::string last_error() const = 0;

  // The engine's transaction SQL, run through the Database (so observers see it):
  // BeginWriteSql opens a transaction that holds the engine's write lock from its
  // start. Commit, rollback and savepoints use the standard SQL every supported
  // engine accepts (COMMIT, ROLLBACK, SAVEPOINT x, ROLLBACK TO SAVEPOINT x, RELEASE
  // SAVEPOINT x).
  virtual std::string_view BeginWriteSql() const = 0;
  // ExecControl runs one transaction-control statement (no parameters, no rows) outside
  // the Database's statement path: query observers do not see it. For the transaction
  // the Database wraps around a lone write.
  virtual void ExecControl(std::string_view sql) = 0;
  // CanWrapInTransaction is false for statements the engine refuses inside one.
  virtual bool CanWrapInTransaction(std::string_view sql) const = 0;
  // RollbackQuietly rolls back an open transaction outside the Database's statement
  // path (returning a leaked lease, unpinning); errors are ignored.
  virtual void RollbackQuietly() noexcept = 0;
  // ReleaseCache frees what the engine caches for this connection (pages) and returns
  // the bytes freed; 0 when it keeps no such cache.
  virtual int64_t ReleaseCache() = 0;

  // The Database's own bookkeeping for this connection (the engine never reads it).
  int next_savepoint = 0;
  std::vector<std::shared_ptr<Scope>> scopes;
  // rolled_back_by is the error after which the engine rolled back the transaction of
  // the open `scopes` itself (see CheckNotRolledBack); empty otherwise.
  std::string rolled_back_by;
};

// Backend opens the connections of one database.
class Backend {
 public:
  virtual ~Backend() = default;
  // Open opens a new connection; throws DatabaseError when it cannot.
  virtual std::unique_ptr<Connection> Open() = 0;
  // max_connections is how many connections the pool may open (an engine's private
  // in-memory database has one).
  virtual int max_connections() const = 0;
  // in_memory is true for a database that lives only in this process.
  virtual bool in_memory() const = 0;
  // failed_statement_aborts_transaction: see Database's.
  virtual bool failed_statement_aborts_transaction() const = 0;
  // one_writer is true for an engine that lets one transaction write at a time
  // (SQLite): the Database then serializes its writers in-process with the writer
  // lock, so they wait their turn instead of failing with SQLITE_BUSY. An engine with
  // row locks (PostgreSQL) runs them concurrently and says false.
  virtual bool one_writer() const = 0;
  // control_scripts is true for an engine that runs a transaction-control text of
  // several statements ("ROLLBACK TO SAVEPOINT x; RELEASE SAVEPOINT x") in one round
  // trip (PostgreSQL's simple protocol). SQLite compiles the first statement only.
  virtual bool control_scripts() const = 0;
  // dialect is the engine's SQL for migrations, foreign keys and the catalog.
  virtual const Dialect& dialect() const = 0;
};

// ThrowInterrupted throws Cancelled or DeadlineExceeded for `reason` (call_scopes.cc).
[[noreturn]] void ThrowInterrupted(CallInterrupt::Reason reason);

// OpenBackend chooses the backend for `options.path`: PostgreSQL for a
// "postgresql://" (or "postgres://") URL, else SQLite (a file path or ":memory:").
std::unique_ptr<Backend> OpenBackend(const DatabaseOptions& options);

// CanonicalDatabasePath is `path` without a "sqlite:" scheme ("sqlite:app.db",
// "sqlite:///abs/app.db"; "sqlite:" alone is ":memory:"); other paths are unchanged.
std::string CanonicalDatabasePath(const std::string& path);

}  // namespace rpcforge::db::db_internal

#endif  // RPCFORGE_SRC_DB_BACKEND_H_
