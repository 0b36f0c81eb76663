// SPDX-License-Identifier: Apache-2.0
// rpcforge::db::Database owns the SQLite connections of one database (a file or an
// in-memory database) and hands one out per unit of work: one statement, or one
// `Atomic()` scope. Readers run concurrently (WAL); writers are serialized inside the
// process, so callers never see SQLITE_BUSY. `Atomic()` nests as savepoints.
//
//   auto db = rpcforge::db::Database::Open("app.sqlite3");
//   {
//     rpcforge::db::Transaction tx = db->Atomic();
//     db->Execute("INSERT INTO blog_post (title) VALUES (?)", {"Hello"});
//     tx.OnCommit([] { NotifySubscribers(); });
//     tx.Commit();             // without Commit(), the destructor rolls back
//   }
//
// Testing support (used by rpcforge::fixtures): `Pin()` makes every unit of work on
// every thread use one connection, `SetAccessHook` can forbid access, and query
// observers count statements.
#ifndef RPCFORGE_DB_DATABASE_H_
#define RPCFORGE_DB_DATABASE_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rpcforge/clock.h"
#include "rpcforge/db/errors.h"
#include "rpcforge/db/value.h"
#include "rpcforge/export.h"

struct sqlite3;

namespace rpcforge::db {

class Database;

namespace db_internal {
struct Scope;
struct State;
class Dialect;
const Dialect& DialectOf(const Database& db);
}  // namespace db_internal

// IsPostgresUrl is true for a PostgreSQL URL ("postgresql://..." or "postgres://..."):
// a path the PostgreSQL backend opens, not a file.
RPCFORGE_EXPORT bool IsPostgresUrl(std::string_view path);

// WithPostgresDatabase is PostgreSQL `url` naming database `name` instead of its own,
// its parameters kept: ("postgresql://u@h:5432/postgres?sslmode=disable", "app") is
// "postgresql://u@h:5432/app?sslmode=disable".
RPCFORGE_EXPORT std::string WithPostgresDatabase(std::string_view url, std::string_view name);

// DatabaseOptions configures `Database`.
struct DatabaseOptions {
  // A file path ("sqlite:" before it is allowed), ":memory:" for a private in-memory
  // database, or a PostgreSQL URL ("postgresql://user@host:port/db", libpq's syntax;
  // docs/database.md). An in-memory database has exactly one connection, so its units
  // of work run one at a time.
  std::string path = ":memory:";
  // How long SQLite waits for a lock held by another process.
  int busy_timeout_ms = 5000;
  // Most connections open at once (file databases). Leases wait for a free one. Once
  // a write transaction has run, one connection is kept for write transactions, and
  // reads share the others (a pool of one shares it).
  int max_connections = 8;
  // SQLite's page cache per connection, in KiB. The operating system caches the
  // file as well, so a small cache keeps memory low at little cost.
  int cache_kib = 1024;
  // How long a unit of work waits for a connection, the pinned connection or the
  // writer lock before failing with rpcforge::Unavailable.
  std::chrono::milliseconds lease_timeout{30000};
  // journal_dir is the local directory of this database's journals
  // (rpcforge/db/journal.h: what the durable request log writes before a call is
  // answered). Empty: `<path>-rpcforge-journal` beside a database file, and none for a
  // PostgreSQL server or an in-memory database (durable calls then wait for their
  // commit). One directory per database; the instances of one database on a machine
  // may share it.
  std::string journal_dir;
};

// ExecResult is what a statement changed.
struct ExecResult {
  int64_t changes = 0;         // rows inserted, updated or deleted
  int64_t last_insert_id = 0;  // rowid of the connection's last INSERT
};

// QueryEvent describes one executed statement, for query observers.
struct QueryEvent {
  std::string_view sql;               // the statement text, with `?` placeholders
  std::chrono::nanoseconds duration;  // prepare + bind + all steps
  bool ok;                            // false when the statement failed
};

// CallInterrupt stops a call's database work when the call ends early. While one
// lives on a thread, a statement that thread runs is interrupted as soon as the
// `deadline` passes, or once `cancelled` returns true (asked at most every 10 ms while
// SQLite works), and throws rpcforge::DeadlineExceeded or rpcforge::Cancelled; waits
// for a connection or the writer lock end the same way. The dispatcher opens one
// around every handler with the call's deadline and cancellation, so a long query
// ends within milliseconds of its client giving up. Scopes nest (the innermost
// applies); `cancelled` must be callable from the creating thread for the scope's
// extent. Not copyable or movable; destroy it on the thread that created it.
class RPCFORGE_EXPORT CallInterrupt {
 public:
  using SteadyTime = std::chrono::steady_clock::time_point;
  CallInterrupt(std::optional<SteadyTime> deadline, std::function<bool()> cancelled);
  ~CallInterrupt();
  CallInterrupt(const CallInterrupt&) = delete;
  CallInterrupt& operator=(const CallInterrupt&) = delete;

  // Check throws DeadlineExceeded / Cancelled when this thread's innermost scope says
  // the call is over; otherwise (or without a scope) it returns. For long loops.
  static void Check();

  enum class Reason { kNone, kDeadline, kCancelled };
  // Poll returns why this thread's call is over (kNone: it is not, or no scope).
  static Reason Poll();
  // deadline of this thread's innermost scope, if any.
  static std::optional<SteadyTime> CurrentDeadline();

  // Suspended lifts this thread's scopes for its own lifetime, for work the thread
  // does on behalf of other calls (a group commit's batch). Not movable.
  class RPCFORGE_EXPORT Suspended {
   public:
    Suspended();
    ~Suspended();
    Suspended(const Suspended&) = delete;
    Suspended& operator=(const Suspended&) = delete;

   private:
    CallInterrupt* saved_;
  };

 private:
  std::optional<SteadyTime> deadline_;
  std::function<bool()> cancelled_;
  SteadyTime next_poll_;
  Reason reason_ = Reason::kNone;
  CallInterrupt* outer_;
};

// ReadOnlyScope forbids database writes on this thread for its lifetime: a statement
// that SQLite says would write (sqlite3_stmt_readonly is false: INSERT, UPDATE, DELETE,
// DDL, most PRAGMAs, a WITH ... INSERT) throws rpcforge::PermissionDenied "This service
// is read-only: database writes are not allowed" before it runs, on any Database.
// Reads, BEGIN/SAVEPOINT/COMMIT (so Atomic() scopes) run. The pipeline opens one around
// the handler of a method whose MethodPolicy says read_only. Scopes nest; destroy it
// on the thread that created it.
class RPCFORGE_EXPORT ReadOnlyScope {
 public:
  ReadOnlyScope();
  ~ReadOnlyScope();
  ReadOnlyScope(const ReadOnlyScope&) = delete;
  ReadOnlyScope& operator=(const ReadOnlyScope&) = delete;

  // active is true while this thread has a scope that is not suspended.
  static bool active();

  // Suspended lifts this thread's scopes for its own lifetime, for work the thread
  // does on behalf of other calls (a group commit's batch). Not movable.
  class RPCFORGE_EXPORT Suspended {
   public:
    Suspended();
    ~Suspended();
    Suspended(const Suspended&) = delete;
    Suspended& operator=(const Suspended&) = delete;

   private:
    int saved_;
  };
};

// Transaction is the scope `Database::Atomic()` returns: a transaction (BEGIN
// IMMEDIATE) when the connection has none open, otherwise a SAVEPOINT inside it.
// `Commit()` and `Rollback()` end it (COMMIT/RELEASE, ROLLBACK/ROLLBACK TO + RELEASE);
// the destructor rolls back a scope still active (an exception is unwinding or nobody
// committed) and logs, never throws, a failure. Scopes must end innermost first, on
// the thread that opened them. Move-only.
class RPCFORGE_EXPORT Transaction {
 public:
  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

  // Commit ends the scope keeping its work. Throws rpcforge::FailedPrecondition when
  // the scope is not active or an inner scope is still open; rethrows a failed COMMIT
  // after rolling back.
  void Commit();
  // Rollback ends the scope undoing its work (and only its work). Throws
  // rpcforge::FailedPrecondition when the scope is not active or not innermost.
  void Rollback();
  // active is true until Commit, Rollback or a request scope's clean-up ends it.
  bool active() const noexcept;

  // OnCommit is `Database::OnCommit`: `fn` runs after the outermost commit.
  void OnCommit(std::function<void()> fn);

 private:
  friend class Database;
  Transaction(Database* db, std::shared_ptr<db_internal::Scope> scope);
  Database* db_;
  std::shared_ptr<db_internal::Scope> scope_;
};

// Database is a pool of SQLite connections to one database, opened with WAL journal
// mode, `busy_timeout`, `foreign_keys=ON` and `synchronous=NORMAL`.
//
// Units of work: each statement run outside an `Atomic()` scope leases a connection
// for its duration; an `Atomic()` scope leases one for its whole extent, and every
// statement and nested `Atomic()` on the same thread inside it uses that connection.
// On SQLite, writes are serialized in-process by a writer lock (the outermost scope
// runs BEGIN IMMEDIATE under it), so concurrent writers wait instead of failing; on
// PostgreSQL they run concurrently under its row locks (a deadlock is retried: see
// RunInTransaction).
//
// Thread-safety: all methods are thread-safe. The Database must outlive every
// Transaction, RequestScope and PinnedConnection made from it. Errors from the database
// surface as `db::DatabaseError` (rpcforge/db/errors.h: a client-safe status, the
// backend's message for the log), never as the backend's own exception type.
class RPCFORGE_EXPORT Database {
 public:
  explicit Database(DatabaseOptions options);
  // Open is `Database(DatabaseOptions{path})`. Throws db::DatabaseError when the file
  // cannot be opened.
  static std::unique_ptr<Database> Open(const std::string& path);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  const std::string& path() const noexcept;
  // journal_dir is DatabaseOptions::journal_dir as given (empty: the default).
  const std::string& journal_dir() const noexcept;
  bool in_memory() const noexcept;
  // failed_statement_aborts_transaction is true on PostgreSQL, where a statement that
  // fails inside a transaction leaves it refusing every statement until it ends (run
  // the statement in a nested Atomic() to go on after its failure); false on SQLite,
  // which undoes the failed statement alone.
  bool failed_statement_aborts_transaction() const noexcept;

  // clock is the clock models read for auto_now/auto_now_add (default Clock::Real()).
  // SetClock stores a reference: `clock` must outlive the Database or the next
  // SetClock.
  const Clock& clock() const noexcept;
  void SetClock(const Clock& clock);

  // Execute runs one statement with `params` bound to its `?` placeholders.
  ExecResult Execute(std::string_view sql, const std::vector<Value>& params = {});
  // Query runs one statement and returns every row (column types as stored: null,
  // integer, real, text, blob).
  std::vector<Row> Query(std::string_view sql, const std::vector<Value>& params = {});
  // QueryEach streams the rows to `fn` one at a time without loading them all. The
  // connection stays leased while `fn` runs; `fn` may query on the same thread.
  void QueryEach(std::string_view sql, const std::vector<Value>& params,
                 const std::function<void(const Row&)>& fn);

  // Atomic opens a transaction scope (see Transaction). Throws rpcforge::Unavailable
  // when no connection or writer lock frees up within `lease_timeout`.
  Transaction Atomic();

  // RunInTransaction runs `fn` in an Atomic() scope and commits it. When the scope is
  // the outermost one (no Atomic() open on this thread, the database not pinned) and it
  // fails with a serialization failure or deadlock (DatabaseErrorKind::kConflict, which
  // PostgreSQL reports), it is rolled back and `fn` runs again: up to 4 attempts in all,
  // 2-8 ms apart (jittered, within the call's deadline); then the conflict propagates
  // (ABORTED). Inside another scope it is Atomic() alone: the conflict lost the whole
  // outer transaction, which only its owner can start over. `fn` may run more than
  // once: keep effects outside the database in OnCommit callbacks. A statement run
  // outside any scope is retried the same way by Execute/Query themselves.
  void RunInTransaction(const std::function<void()>& fn);

  // OnCommit registers `fn` to run after the outermost transaction on this thread
  // commits (dropped if it rolls back); outside any scope it runs at once. While the
  // database is pinned the test owns the outermost transaction, which never commits:
  // callbacks go to the on-commit capture when one is set, else they are dropped.
  // Callback exceptions are logged and swallowed.
  void OnCommit(std::function<void()> fn);

  // in_atomic is true when this thread is inside an Atomic() scope of this database.
  bool in_atomic() const;

  // AtomicSchemaChange runs `fn` in an Atomic() scope with foreign-key enforcement off
  // on this thread's connection (SQLite's table-rebuild procedure drops and recreates
  // tables other tables reference, which must neither cascade nor fail), then checks
  // every foreign key (PRAGMA foreign_key_check) before it commits: a violation throws
  // rpcforge::FailedPrecondition naming the table and keeps nothing. Inside an open
  // transaction (a test's) enforcement cannot change and stays on. Migrate runs each
  // migration in one.
  void AtomicSchemaChange(const std::function<void()>& fn);

  // --- Observation -------------------------------------------------------------
  using QueryObserver = std::function<void(const QueryEvent&)>;
  // AddQueryObserver calls `observer` after every statement, on the executing thread.
  // Returns an id for RemoveQueryObserver. Observers must be thread-safe and must not
  // use this database.
  int AddQueryObserver(QueryObserver observer);
  void RemoveQueryObserver(int id);
  // query_count is the number of statements executed since the Database opened.
  int64_t query_count() const noexcept;

  // PoolUse is how the connection pool is used at one moment.
  struct PoolUse {
    int open = 0;    // connections opened (they stay open)
    int in_use = 0;  // leased now (the pinned one counts while pinned)
    int max = 0;     // DatabaseOptions::max_connections (1 in memory)
  };
  PoolUse pool_use() const;

  // Write transactions (`Atomic()`) keep to one connection while it is free, so the
  // pages and statements of the tables they write are cached once, not on every
  // pooled connection. ReleaseWriteCache frees that connection's cached pages (when
  // no thread holds it) and returns the bytes freed. For writers that only append,
  // such as the request log, whose pages are written once and rarely read again: the
  // GroupCommit calls it after each batch.
  int64_t ReleaseWriteCache();

  // SetAccessHook installs `hook`, called with the SQL before every statement
  // (including BEGIN/SAVEPOINT); when it throws, the statement does not run and the
  // exception propagates. An empty function removes it. Used by SimpleTestCase.
  void SetAccessHook(std::function<void(std::string_view sql)> hook);

  // SetOnCommitCapture installs where pinned-mode on-commit callbacks go (see
  // OnCommit). An empty function restores dropping them.
  void SetOnCommitCapture(std::function<void(std::function<void()>)> capture);

  // --- Pinning (tests) --------------------------------------------------------------
  // PinnedConnection is the RAII handle `Pin()` returns. While it lives every unit of
  // work, on any thread, gets the one pinned connection: statements one at a time, an
  // Atomic() scope exclusively for its extent (as a savepoint when the pinned
  // connection is inside a transaction). Destroying it rolls back anything still open
  // on the connection and returns it to the pool. Non-copyable, non-movable.
  //
  // The transactional fixtures hold their transactions as objects on it: the suite's
  // outer transaction (BeginTransaction; the destructor rolls it back) and one
  // Savepoint per test (its destructor rolls the test's changes back and releases it).
  class RPCFORGE_EXPORT PinnedConnection {
   public:
    ~PinnedConnection();
    PinnedConnection(const PinnedConnection&) = delete;
    PinnedConnection& operator=(const PinnedConnection&) = delete;

    // BeginTransaction opens a transaction on the pinned connection, kept until the
    // PinnedConnection is destroyed (then rolled back). Throws when one is open.
    void BeginTransaction();

    // Savepoint is a savepoint on the pinned connection: everything done after it,
    // on any thread, is undone when it is destroyed. Destroy it before its
    // PinnedConnection, innermost first; a failure is logged, not thrown.
    class RPCFORGE_EXPORT Savepoint {
     public:
      ~Savepoint();
      Savepoint(const Savepoint&) = delete;
      Savepoint& operator=(const Savepoint&) = delete;

     private:
      friend class PinnedConnection;
      Savepoint(Database* db, std::string name) : db_(db), name_(std::move(name)) {}
      Database* db_;
      std::string name_;
    };
    std::unique_ptr<Savepoint> BeginSavepoint();

   private:
    friend class Database;
    explicit PinnedConnection(Database* db) : db_(db) {}
    Database* db_;
    int savepoints_ = 0;
  };
  // Pin pins a connection. Throws rpcforge::FailedPrecondition when already pinned or
  // when the calling thread is inside an Atomic() scope.
  std::unique_ptr<PinnedConnection> Pin();
  bool pinned() const;

  // --- Connection hygiene per request ---------------------------------------------
  // RequestScope brackets one RPC on the thread that runs it (the dispatcher opens it
  // around every handler). On destruction it rolls back every Atomic() scope the
  // request opened on this thread and left open (for example a Transaction moved into
  // an object that outlived the request) and returns the connection to the pool. It
  // only touches what the request opened, so a pinned test transaction survives.
  // Must be destroyed on the thread that created it. Non-copyable, non-movable.
  class RPCFORGE_EXPORT RequestScope {
   public:
    explicit RequestScope(Database& db);
    ~RequestScope();
    RequestScope(const RequestScope&) = delete;
    RequestScope& operator=(const RequestScope&) = delete;

   private:
    Database* db_;
    size_t depth_at_start_;
  };

 private:
  friend class Transaction;
  friend const db_internal::Dialect& db_internal::DialectOf(const Database& db);
  std::unique_ptr<db_internal::State> state_;
};

}  // namespace rpcforge::db

#endif  // RPCFORGE_DB_DATABASE_H_
