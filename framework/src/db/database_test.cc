// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/db/database.h"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "db/test_models.h"
#include "rpcforge/errors.h"

namespace {

using ::rpcforge::db::Database;
using ::rpcforge::db::DatabaseOptions;
using ::rpcforge::db::Row;
using ::rpcforge::db::Transaction;
using ::rpcforge::db::Value;
using ::testing::HasSubstr;

using ::rpcforge::db::testmodels::TempDir;  // a database file in a fresh directory

std::unique_ptr<Database> OpenWithTable(const TempDir& dir, int busy_timeout_ms = 5000) {
  DatabaseOptions options;
  options.path = dir.File("test.sqlite3");
  options.busy_timeout_ms = busy_timeout_ms;
  auto db = std::make_unique<Database>(options);
  db->Execute("CREATE TABLE item (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL)");
  return db;
}

int64_t Count(Database& db) { return db.Query("SELECT COUNT(*) FROM item")[0].at(0).AsInt(); }

std::vector<std::string> Names(Database& db) {
  std::vector<std::string> names;
  for (const Row& r : db.Query("SELECT name FROM item ORDER BY id")) {
    names.push_back(r["name"].AsText());
  }
  return names;
}

}  // namespace

TEST(Database, OpensWithWalForeignKeysNormalSyncAndTempStoreInMemory) {
  TempDir dir;
  auto db = OpenWithTable(dir);
  EXPECT_EQ(db->Query("PRAGMA journal_mode")[0].at(0).AsText(), "wal");
  EXPECT_EQ(db->Query("PRAGMA foreign_keys")[0].at(0).AsInt(), 1);
  EXPECT_EQ(db->Query("PRAGMA synchronous")[0].at(0).AsInt(), 1);  // NORMAL
  EXPECT_EQ(db->Query("PRAGMA temp_store")[0].at(0).AsInt(), 2);   // MEMORY
}

TEST(Database, BindsEveryValueTypeAsParameters) {
  Database db(DatabaseOptions{});
  db.Execute("CREATE TABLE t (i INTEGER, d REAL, s TEXT, b BLOB, f INTEGER, n TEXT)");
  const std::string evil = "x'); DROP TABLE t; --";
  auto result = db.Execute("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?)",
                           {42, 1.5, evil, rpcforge::db::Blob{1, 2}, true, nullptr});
  EXPECT_EQ(result.changes, 1);
  EXPECT_EQ(result.last_insert_id, 1);
  auto rows = db.Query("SELECT * FROM t WHERE s = ?", {evil});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["i"].AsInt(), 42);
  EXPECT_EQ(rows[0]["d"].AsDouble(), 1.5);
  EXPECT_EQ(rows[0]["s"].AsText(), evil);
  EXPECT_EQ(rows[0]["b"].AsBlob(), (rpcforge::db::Blob{1, 2}));
  EXPECT_TRUE(rows[0]["f"].AsBool());
  EXPECT_TRUE(rows[0]["n"].is_null());
  EXPECT_THROW(rows[0]["nope"], rpcforge::InvalidArgument);
}

TEST(Database, WrongParameterCountIsInvalidArgument) {
  Database db(DatabaseOptions{});
  EXPECT_THROW(db.Query("SELECT ?", {}), rpcforge::InvalidArgument);
}

TEST(Database, SqlErrorsAreSqliteExceptions) {
  Database db(DatabaseOptions{});
  EXPECT_THROW(db.Execute("SELECT * FROM missing"), rpcforge::db::DatabaseError);
  // The connection is usable afterwards.
  EXPECT_EQ(db.Query("SELECT 1")[0].at(0).AsInt(), 1);
}

TEST(Database, QueryEachStreamsRowsAndAllowsNestedQueries) {
  Database db(DatabaseOptions{});  // one connection: a nested lease would deadlock
  db.Execute("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT)");
  for (int i = 0; i < 5; ++i) db.Execute("INSERT INTO item (name) VALUES (?)", {"n"});
  int seen = 0;
  db.QueryEach("SELECT id FROM item", {}, [&](const Row& row) {
    ++seen;
    EXPECT_EQ(db.Query("SELECT COUNT(*) FROM item")[0].at(0).AsInt(), 5);
  });
  EXPECT_EQ(seen, 5);
}

// The statement cache keeps a statement while it runs: the same SQL run again inside
// it gets a statement of its own, and both give the right rows, here and afterwards.
TEST(Database, TheSameStatementNestedInItselfGetsItsOwn) {
  Database db(DatabaseOptions{});  // one connection, so both runs share its cache
  db.Execute("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT)");
  for (int i = 0; i < 3; ++i) db.Execute("INSERT INTO item (name) VALUES (?)", {"n"});
  const std::string sql = "SELECT id FROM item WHERE id >= ? ORDER BY id";
  std::vector<int64_t> outer;
  std::vector<size_t> inner;
  db.QueryEach(sql, {int64_t{1}}, [&](const Row& row) {
    outer.push_back(row.at(0).AsInt());
    inner.push_back(db.Query(sql, {row.at(0).AsInt()}).size());
  });
  EXPECT_EQ(outer, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(inner, (std::vector<size_t>{3, 2, 1}));
  for (int round = 0; round < 3; ++round) EXPECT_EQ(db.Query(sql, {int64_t{2}}).size(), 2u);
}

TEST(Atomic, CommitPersists) {
  TempDir dir;
  auto db = OpenWithTable(dir);
  {
    Transaction tx = db->Atomic();
    EXPECT_TRUE(db->in_atomic());
    db->Execute("INSERT INTO item (name) VALUES ('a')");
    tx.Commit();
    EXPECT_FALSE(tx.active());
  }
  EXPECT_FALSE(db->in_atomic());
  SQLite::Database other(dir.File("test.sqlite3"));
  EXPECT_EQ(other.execAndGet("SELECT COUNT(*) FROM item").getInt(), 1);
}

TEST(Atomic, DestructorRollsBackWhenNotCommitted) {
  TempDir dir;
  auto db = OpenWithTable(dir);
  {
    Transaction tx = db->Atomic();
    db->Execute("INSERT INTO item (name) VALUES ('a')");
  }
  EXPECT_EQ(Count(*db), 0);
}

TEST(Atomic, ExceptionRollsBack) {
  TempDir dir;
  auto db = OpenWithTable(dir);
  try {
    Transaction tx = db->Atomic();
    db->Execute("INSERT INTO item (name) VALUES ('a')");
    throw std::runtime_error("boom");
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(Count(*db), 0);
}

TEST(Atomic, RollbackToSavepointLeavesOuterTransactionUsable) {
  TempDir dir;
  auto db = OpenWithTable(dir);
  {
    Transaction outer = db->Atomic();
    db->Execute("INSERT INTO item (name) VALUES ('a')");
    {
      Transaction inner = db->Atomic();
      db->Execute("INSERT INTO item (name) VALUES ('b')");
      inner.Rollback();
    }
    // SQLiteCpp 3.2.1's Savepoint would have left the savepoint open here; ours
    // released it, so the outer transaction goes on and commits.
    db->Execute("INSERT INTO item (name) VALUES ('c')");
    outer.Commit();
  }
  EXPECT_EQ(Names(*db), (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(db->Query("PRAGMA foreign_keys")[0].at(0).AsInt(), 1);
}

// SQLite rolls the whole transaction back itself after SQLITE_FULL (here: an
// AUTOINCREMENT table past the largest rowid). The next write in the scope waited for
// the writer lock its own scope held, then failed with UNAVAILABLE after
// lease_timeout; found by tests/fuzz/fixture_fuzzer (a fixture with pk
// 9223372036854775807 and then an object without pk;
// corpus/fixture_fuzzer/regress_autoincrement_full_deadlock.json).
TEST(Atomic, WritesAfterSQLiteRolledTheTransactionBackFailAtOnce) {
  DatabaseOptions options;
  options.lease_timeout = std::chrono::seconds(2);
  Database db(options);
  db.Execute("CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT)");
  const auto start = std::chrono::steady_clock::now();
  {
    Transaction tx = db.Atomic();
    db.Execute("INSERT INTO t (id, v) VALUES (9223372036854775807, 'max')");
    EXPECT_THROW(db.Execute("INSERT INTO t (v) VALUES ('next')"), rpcforge::db::DatabaseError);
    try {
      db.Execute("INSERT INTO t (v) VALUES ('more')");
      FAIL() << "no error";
    } catch (const rpcforge::FailedPrecondition& e) {
      EXPECT_THAT(e.what(), HasSubstr("SQLite rolled the transaction back after an earlier "
                                      "error (database or disk is full)"));
    }
    EXPECT_THROW(db.Atomic(), rpcforge::FailedPrecondition);
    EXPECT_EQ(db.Query("SELECT COUNT(*) FROM t")[0].at(0).AsInt(), 0);  // reads still work
    tx.Rollback();  // ends the scope without an error
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  // The connection is usable again, and the writer lock was released.
  db.Execute("INSERT INTO t (id, v) VALUES (1, 'after')");
  Transaction tx = db.Atomic();
  db.Execute("INSERT INTO t (v) VALUES ('in a scope')");
  tx.Commit();
  EXPECT_EQ(db.Query("SELECT COUNT(*) FROM t")[0].at(0).AsInt(), 2);
}

TEST(Atomic, NestedCommitThenOuterRollbackUndoesBoth) {
  TempDir dir;
  auto db = OpenWithTable(dir);
  {
    Transaction outer = db->Atomic();
    Transaction inner = db->Atomic();
    db->Execute("INSERT INTO item (name) VALUES ('b')");
    inner.Commit();
    outer.Rollback();
  }
  EXPECT_EQ(Count(*db), 0);
}

TEST(Atomic, EndingOuterBeforeInnerIsRefused) {
  TempDir dir;
  auto db = OpenWithTable(dir);
  Transaction outer = db->Atomic();
  Transaction inner = db->Atomic();
  EXPECT_THROW(outer.Commit(), rpcforge::FailedPrecondition);
  inner.Commit();
  outer.Commit();
  EXPECT_THROW(outer.Commit(), rpcforge::FailedPrecondition);
}

TEST(Atomic, NestedScopeSeesOuterUncommittedRowsOtherThreadsDoNot) {
  TempDir dir;
  auto db = OpenWithTable(dir);
  Transaction outer = db->Atomic();
  db->Execute("INSERT INTO item (name) VALUES ('a')");
  {
    Transaction inner = db->Atomic();  // same connection on this thread
    EXPECT_EQ(Count(*db), 1);
    inner.Commit();
  }
  // A reader on another thread is not blocked by the open write transaction and does
  // not see its row.
  auto other = std::async(std::launch::async, [&] { return Count(*db); });
  ASSERT_EQ(other.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(other.get(), 0);
  outer.Commit();
}

TEST(Atomic, OnCommitRunsAfterOutermostCommitOnly) {
  TempDir dir;
  auto db = OpenWithTable(dir);
  std::vector<std::string> ran;
  {
    Transaction outer = db->Atomic();
    outer.OnCommit([&] { ran.push_back("outer"); });
    {
      Transaction inner = db->Atomic();
      db->OnCommit([&] {
        // Runs after COMMIT, outside any transaction, and may use the database.
        EXPECT_FALSE(db->in_atomic());
        EXPECT_EQ(Count(*db), 1);
        ran.push_back("inner");
      });
      db->Execute("INSERT INTO item (name) VALUES ('a')");
      inner.Commit();
    }
    EXPECT_TRUE(ran.empty());
    outer.Commit();
  }
  EXPECT_EQ(ran, (std::vector<std::string>{"outer", "inner"}));
}

TEST(Atomic, OnCommitDroppedOnRollback) {
  TempDir dir;
  auto db = OpenWithTable(dir);
  int ran = 0;
  {
    Transaction outer = db->Atomic();
    {
      Transaction inner = db->Atomic();
      inner.OnCommit([&] { ++ran; });
      inner.Rollback();  // the inner callback goes with it
    }
    outer.OnCommit([&] { ran += 10; });
    outer.Commit();
  }
  EXPECT_EQ(ran, 10);
  {
    Transaction tx = db->Atomic();
    tx.OnCommit([&] { ran += 100; });
  }
  EXPECT_EQ(ran, 10);
  db->OnCommit([&] { ran += 1000; });  // no transaction: runs at once
  EXPECT_EQ(ran, 1010);
}

TEST(Atomic, ConcurrentWritersNeverSeeBusy) {
  TempDir dir;
  // busy_timeout 0: only the in-process writer lock can keep writers from SQLITE_BUSY.
  auto db = OpenWithTable(dir, /*busy_timeout_ms=*/0);
  constexpr int kThreads = 8;
  constexpr int kPerThread = 40;
  std::atomic<int> failures{0};
  std::string first_error;
  std::mutex error_mu;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        try {
          if (i % 2 == 0) {
            Transaction tx = db->Atomic();
            Count(*db);
            db->Execute("INSERT INTO item (name) VALUES (?)", {"t" + std::to_string(t)});
            tx.Commit();
          } else {
            db->Execute("INSERT INTO item (name) VALUES (?)", {"t" + std::to_string(t)});
            Count(*db);
          }
        } catch (const std::exception& e) {
          ++failures;
          std::lock_guard<std::mutex> lock(error_mu);
          first_error = e.what();
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0) << first_error;
  EXPECT_EQ(Count(*db), kThreads * kPerThread);
}

TEST(Database, QueryObserverSeesEveryStatementWithTiming) {
  Database db(DatabaseOptions{});
  std::vector<std::string> seen;
  std::mutex mu;
  const int id = db.AddQueryObserver([&](const rpcforge::db::QueryEvent& e) {
    std::lock_guard<std::mutex> lock(mu);
    seen.emplace_back(e.sql);
    EXPECT_GE(e.duration.count(), 0);
  });
  const int64_t before = db.query_count();
  db.Execute("CREATE TABLE t (x)");
  {
    Transaction tx = db.Atomic();
    db.Execute("INSERT INTO t VALUES (?)", {1});
    tx.Commit();
  }
  db.RemoveQueryObserver(id);
  db.Query("SELECT * FROM t");
  EXPECT_THAT(seen, ::testing::ElementsAre("CREATE TABLE t (x)", "BEGIN IMMEDIATE",
                                           "INSERT INTO t VALUES (?)", "COMMIT"));
  EXPECT_EQ(db.query_count() - before, 5);
}

TEST(Database, AccessHookCanForbidQueries) {
  Database db(DatabaseOptions{});
  db.SetAccessHook([](std::string_view sql) {
    throw rpcforge::FailedPrecondition("no database access: " + std::string(sql));
  });
  try {
    db.Query("SELECT 42");
    FAIL() << "expected the hook to throw";
  } catch (const rpcforge::FailedPrecondition& e) {
    EXPECT_THAT(e.what(), HasSubstr("SELECT 42"));
  }
  EXPECT_THROW(db.Atomic(), rpcforge::FailedPrecondition);
  db.SetAccessHook(nullptr);
  EXPECT_EQ(db.Query("SELECT 42")[0].at(0).AsInt(), 42);
}

// The database's errors leave the db layer as DatabaseError, whose status is client-safe:
// the kind decides the code, the backend's message (tables, columns) stays in what().
TEST(Database, ErrorsAreDatabaseErrorsWithAClientSafeStatus) {
  Database db(DatabaseOptions{});
  db.Execute("CREATE TABLE a (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL)");
  db.Execute("CREATE TABLE b (a_id INTEGER REFERENCES a(id))");
  db.Execute("INSERT INTO a (id, name) VALUES (1, 'x')");
  using Kind = rpcforge::db::DatabaseErrorKind;
  struct Case {
    const char* sql;
    Kind kind;
    grpc::StatusCode code;
    const char* backend;  // in what(), never in the status
  };
  for (const Case& c :
       std::vector<Case>{{"INSERT INTO a (id, name) VALUES (2, 'x')", Kind::kUniqueViolation,
                          grpc::StatusCode::ALREADY_EXISTS, "a.name"},
                         {"INSERT INTO a (id, name) VALUES (1, 'y')", Kind::kUniqueViolation,
                          grpc::StatusCode::ALREADY_EXISTS, "a.id"},
                         {"INSERT INTO a (id, name) VALUES (3, NULL)", Kind::kConstraint,
                          grpc::StatusCode::FAILED_PRECONDITION, "a.name"},
                         {"INSERT INTO b (a_id) VALUES (99)", Kind::kForeignKeyViolation,
                          grpc::StatusCode::FAILED_PRECONDITION, "FOREIGN KEY"},
                         {"SELEC nonsense", Kind::kOther, grpc::StatusCode::INTERNAL, "SELEC"}}) {
    try {
      db.Execute(c.sql);
      ADD_FAILURE() << "no error: " << c.sql;
    } catch (const rpcforge::db::DatabaseError& e) {
      EXPECT_EQ(e.kind(), c.kind) << c.sql;
      EXPECT_THAT(e.what(), HasSubstr(c.backend)) << c.sql;
      const grpc::Status s = rpcforge::StatusFromException(std::current_exception(), "/t.S/M");
      EXPECT_EQ(s.error_code(), c.code) << c.sql;
      EXPECT_THAT(s.error_message(), ::testing::Not(HasSubstr(c.backend))) << c.sql;
    }
  }
  try {
    Database missing(DatabaseOptions{"/nonexistent-dir/x/db.sqlite3"});
    ADD_FAILURE() << "opened a file in a missing directory";
  } catch (const rpcforge::db::DatabaseError& e) {
    EXPECT_EQ(e.kind(), Kind::kOther);
  }
}

// A read-only scope asks SQLite whether each statement writes: no SQL lexer to fool.
TEST(Database, ReadOnlyScopeRejectsWhatSQLiteSaysWrites) {
  Database db(DatabaseOptions{});
  db.Execute("CREATE TABLE t (a, updated_at)");
  db.Execute("INSERT INTO t VALUES (1, 2)");
  rpcforge::db::ReadOnlyScope read_only;
  EXPECT_TRUE(rpcforge::db::ReadOnlyScope::active());
  for (const char* read : {"SELECT 1", "  select * from t", "-- c\nSELECT 1", "/* x */ SELECT 1",
                           "WITH a AS (SELECT 1) SELECT * FROM a",
                           "WITH a AS (SELECT updated_at FROM t) SELECT * FROM a",
                           "SELECT 'INSERT INTO t VALUES (1)'", "PRAGMA foreign_keys"}) {
    EXPECT_NO_THROW(db.Query(read)) << read;
  }
  for (const char* write :
       {"INSERT INTO t VALUES (1, 1)", "update t set a=1", "DELETE FROM t",
        "REPLACE INTO t VALUES (1, 1)", "CREATE TABLE x (a)", "DROP TABLE t", "ALTER TABLE t ADD b",
        "WITH a AS (SELECT 1) DELETE FROM t", "PRAGMA user_version = 3"}) {
    try {
      db.Execute(write);
      ADD_FAILURE() << "ran in a read-only scope: " << write;
    } catch (const rpcforge::PermissionDenied& e) {
      EXPECT_THAT(e.what(), HasSubstr("read-only")) << write;
    }
  }
  {
    Transaction tx = db.Atomic();  // transactions are not writes
    EXPECT_EQ(db.Query("SELECT COUNT(*) FROM t")[0].at(0).AsInt(), 1);
    tx.Commit();
  }
  {
    rpcforge::db::ReadOnlyScope::Suspended for_others;
    EXPECT_FALSE(rpcforge::db::ReadOnlyScope::active());
    db.Execute("INSERT INTO t VALUES (2, 2)");
  }
  EXPECT_TRUE(rpcforge::db::ReadOnlyScope::active());
  // Another thread is not in this thread's scope.
  std::thread([&] { db.Execute("INSERT INTO t VALUES (3, 3)"); }).join();
  EXPECT_EQ(db.Query("SELECT COUNT(*) FROM t")[0].at(0).AsInt(), 3);
}

TEST(Pin, EveryThreadUsesThePinnedConnectionAndItsTransaction) {
  TempDir dir;
  auto db = OpenWithTable(dir);
  {
    auto pin = db->Pin();
    EXPECT_TRUE(db->pinned());
    EXPECT_THROW(db->Pin(), rpcforge::FailedPrecondition);
    db->Execute("BEGIN");
    db->Execute("INSERT INTO item (name) VALUES ('test')");
    // Another thread sees the uncommitted row and writes into the same transaction;
    // its Atomic() becomes a savepoint and its on-commit callback is dropped.
    std::atomic<int> callbacks{0};
    std::thread handler([&] {
      EXPECT_EQ(Count(*db), 1);
      Transaction tx = db->Atomic();
      db->Execute("INSERT INTO item (name) VALUES ('handler')");
      tx.OnCommit([&] { ++callbacks; });
      tx.Commit();
    });
    handler.join();
    EXPECT_EQ(callbacks.load(), 0);
    EXPECT_EQ(Names(*db), (std::vector<std::string>{"test", "handler"}));
    // Nothing was committed: a separate connection sees nothing.
    SQLite::Database other(dir.File("test.sqlite3"));
    EXPECT_EQ(other.execAndGet("SELECT COUNT(*) FROM item").getInt(), 0);
  }  // unpinning rolls back the open transaction
  EXPECT_FALSE(db->pinned());
  EXPECT_EQ(Count(*db), 0);
}

// The fixtures' transactions as objects: the suite's transaction on the pin, a
// savepoint per test; what any thread does after the savepoint goes with it.
TEST(Pin, ATransactionAndSavepointsUndoWhatWasDoneAfterThem) {
  TempDir dir;
  auto db = OpenWithTable(dir);
  auto count = [&] { return db->Query("SELECT COUNT(*) FROM item")[0].at(0).AsInt(); };
  {
    auto pin = db->Pin();
    pin->BeginTransaction();
    db->Execute("INSERT INTO item (name) VALUES ('suite')");
    for (int test = 0; test < 2; ++test) {
      auto savepoint = pin->BeginSavepoint();
      std::thread([&] { db->Execute("INSERT INTO item (name) VALUES ('server thread')"); }).join();
      db->Execute("INSERT INTO item (name) VALUES ('test')");
      {
        auto inner = pin->BeginSavepoint();
        db->Execute("INSERT INTO item (name) VALUES ('nested')");
        EXPECT_EQ(count(), 4);
      }
      EXPECT_EQ(count(), 3);
    }
    EXPECT_EQ(count(), 1);  // each test's rows went with its savepoint
  }
  EXPECT_EQ(count(), 0);  // and the suite's with the pin
  EXPECT_FALSE(db->pinned());
}

TEST(Pin, HandlerAtomicRolledBackByExceptionKeepsOuterRows) {
  TempDir dir;
  auto db = OpenWithTable(dir);
  auto pin = db->Pin();
  db->Execute("BEGIN");
  db->Execute("INSERT INTO item (name) VALUES ('fixture')");
  std::thread handler([&] {
    try {
      Transaction tx = db->Atomic();
      db->Execute("INSERT INTO item (name) VALUES ('doomed')");
      throw std::runtime_error("handler failed");
    } catch (const std::runtime_error&) {
    }
  });
  handler.join();
  EXPECT_EQ(Names(*db), (std::vector<std::string>{"fixture"}));
  db->Execute("ROLLBACK");
}

TEST(Pin, AtomicHoldsThePinnedConnectionExclusively) {
  TempDir dir;
  auto db = OpenWithTable(dir);
  auto pin = db->Pin();
  db->Execute("BEGIN");
  std::promise<void> inside;
  std::promise<void> release;
  std::thread holder([&] {
    Transaction tx = db->Atomic();
    db->Execute("INSERT INTO item (name) VALUES ('in scope')");
    inside.set_value();
    release.get_future().wait_for(std::chrono::seconds(10));
    tx.Rollback();
  });
  inside.get_future().wait();
  auto reader = std::async(std::launch::async, [&] { return Count(*db); });
  // The reader waits for the scope to end, so it can never see the row.
  EXPECT_EQ(reader.wait_for(std::chrono::milliseconds(100)), std::future_status::timeout);
  release.set_value();
  ASSERT_EQ(reader.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(reader.get(), 0);
  holder.join();
  db->Execute("ROLLBACK");
}

TEST(Pin, OnCommitCaptureReceivesPinnedCallbacks) {
  TempDir dir;
  auto db = OpenWithTable(dir);
  auto pin = db->Pin();
  db->Execute("BEGIN");
  std::vector<std::function<void()>> captured;
  db->SetOnCommitCapture([&](std::function<void()> fn) { captured.push_back(std::move(fn)); });
  int ran = 0;
  {
    Transaction tx = db->Atomic();
    tx.OnCommit([&] { ++ran; });
    tx.Commit();
  }
  db->OnCommit([&] { ran += 10; });
  {
    Transaction tx = db->Atomic();
    tx.OnCommit([&] { ran += 100; });
  }  // rolled back: not captured
  db->SetOnCommitCapture(nullptr);
  ASSERT_EQ(captured.size(), 2u);
  EXPECT_EQ(ran, 0);
  for (auto& fn : captured) fn();
  EXPECT_EQ(ran, 11);
  db->Execute("ROLLBACK");
}

TEST(RequestScope, RollsBackScopesTheRequestLeftOpen) {
  TempDir dir;
  auto db = OpenWithTable(dir);
  std::unique_ptr<Transaction> leaked;
  {
    Database::RequestScope request(*db);
    leaked = std::make_unique<Transaction>(db->Atomic());
    db->Execute("INSERT INTO item (name) VALUES ('leaked')");
  }
  EXPECT_FALSE(leaked->active());
  EXPECT_FALSE(db->in_atomic());
  leaked.reset();  // destroying the ended scope is harmless
  EXPECT_EQ(Count(*db), 0);
  // The writer lock and the connection were released: writes still work.
  db->Execute("INSERT INTO item (name) VALUES ('after')");
  EXPECT_EQ(Count(*db), 1);
}

TEST(RequestScope, KeepsThePinnedTestTransaction) {
  TempDir dir;
  auto db = OpenWithTable(dir);
  auto pin = db->Pin();
  db->Execute("BEGIN");
  db->Execute("INSERT INTO item (name) VALUES ('fixture')");
  std::unique_ptr<Transaction> leaked;
  std::thread handler([&] {
    Database::RequestScope request(*db);
    db->Execute("INSERT INTO item (name) VALUES ('request')");
    leaked = std::make_unique<Transaction>(db->Atomic());
    db->Execute("INSERT INTO item (name) VALUES ('leaked')");
  });
  handler.join();
  EXPECT_FALSE(leaked->active());
  // Only what the request left open was rolled back; the test's rows remain.
  EXPECT_EQ(Names(*db), (std::vector<std::string>{"fixture", "request"}));
  db->Execute("ROLLBACK");
}

TEST(Database, InMemoryDatabaseIsSharedByThreads) {
  Database db(DatabaseOptions{});
  EXPECT_TRUE(db.in_memory());
  db.Execute("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT)");
  std::thread t([&] { db.Execute("INSERT INTO item (name) VALUES ('x')"); });
  t.join();
  EXPECT_EQ(Count(db), 1);
}

TEST(Atomic, EndingOnAnotherThreadIsRefused) {
  Database db(DatabaseOptions{});
  db.Execute("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT)");
  Transaction tx = db.Atomic();
  db.Execute("INSERT INTO item (name) VALUES ('a')");
  std::thread other([&] { EXPECT_THROW(tx.Commit(), rpcforge::FailedPrecondition); });
  other.join();
  EXPECT_TRUE(tx.active());
  tx.Rollback();
  EXPECT_EQ(Count(db), 0);
}

// A temporary table lives on one connection: Atomic() finding it there means the
// transaction ran on the connection that made it.
bool OnConnectionWithTempTable(Database& db) {
  return db.Query("SELECT COUNT(*) FROM temp.sqlite_master WHERE name = 'here'")[0].at(0).AsInt() ==
         1;
}

TEST(Pool, WriteTransactionsKeepToOneConnectionWhileReadsRunBeside) {
  TempDir dir;
  auto db = OpenWithTable(dir);
  {
    Transaction tx = db->Atomic();
    db->Execute("CREATE TEMP TABLE here (x)");
    tx.Commit();
  }
  // Readers return their connections after the writer returned its own, so without the
  // preference the most recently returned connection a write takes is a reader's.
  std::atomic<bool> stop{false};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      for (int i = 0; i < 100000 && !stop.load(); ++i) Count(*db);
    });
  }
  // Concurrent write transactions wait for the one connection rather than take others.
  std::atomic<int> elsewhere{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < 3; ++t) {
    writers.emplace_back([&] {
      for (int i = 0; i < 70; ++i) {
        Transaction tx = db->Atomic();
        if (!OnConnectionWithTempTable(*db)) ++elsewhere;
        db->Execute("INSERT INTO item (name) VALUES (?)", {"w"});
        tx.Commit();
      }
    });
  }
  for (auto& w : writers) w.join();
  stop = true;
  for (auto& r : readers) r.join();
  EXPECT_EQ(elsewhere.load(), 0);
  EXPECT_EQ(Count(*db), 210);
  EXPECT_GE(db->pool_use().open, 2);  // the readers had connections of their own
}

TEST(Pool, ReleaseWriteCacheFreesTheWritingConnectionsPagesWhenItIsFree) {
  TempDir dir;
  auto db = OpenWithTable(dir);
  {
    Transaction tx = db->Atomic();
    for (int i = 0; i < 2000; ++i) {
      db->Execute("INSERT INTO item (name) VALUES (?)", {std::string(200, 'a' + i % 26)});
    }
    tx.Commit();
  }
  // Held by another thread: nothing is freed under it.
  std::promise<void> holding;
  std::promise<void> release;
  std::thread holder([&] {
    Transaction tx = db->Atomic();
    holding.set_value();
    release.get_future().wait();
    tx.Commit();
  });
  holding.get_future().wait();
  EXPECT_EQ(db->ReleaseWriteCache(), 0);
  release.set_value();
  holder.join();

  const int64_t freed = db->ReleaseWriteCache();
  EXPECT_GT(freed, 100 * 1024);  // most of 2000 rows of 200 bytes
  EXPECT_LT(db->ReleaseWriteCache(), freed);
  EXPECT_EQ(Count(*db), 2000);  // read back from the file
}
