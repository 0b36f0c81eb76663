// SPDX-License-Identifier: Apache-2.0
// The same behaviours on every backend (test_backends.h): SQLite always, PostgreSQL
// when RPCFORGE_TEST_POSTGRES names a server. Then what only PostgreSQL has: its
// placeholders, errors, lost connections, cancellation and schema lock.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <functional>
#include <future>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "db/dialect.h"
#include "db/postgres_sql.h"
#include "db/test_backends.h"
#include "rpcforge/db/fixture_data.h"
#include "rpcforge/db/migrate.h"
#include "rpcforge/db/query.h"
#include "rpcforge/db/registry.h"
#include "rpcforge/db/schema.h"
#include "rpcforge/errors.h"

namespace {

namespace db = ::rpcforge::db;
namespace tmodels = ::rpcforge::db::testmodels;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

class BackendTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    scratch_ = std::make_unique<tmodels::ScratchDatabase>(GetParam());
    database_ = scratch_->Open();
    tmodels::AddBlogApp(registry_);
    std::ostringstream out;
    db::Migrate(*database_, registry_, out);
  }
  db::Database& d() { return *database_; }
  db::QuerySet Posts() { return tmodels::Post().Objects(d()); }
  db::QuerySet Authors() { return tmodels::Author().Objects(d()); }

  std::unique_ptr<tmodels::ScratchDatabase> scratch_;
  std::unique_ptr<db::Database> database_;
  db::Registry registry_;
};

TEST_P(BackendTest, EveryFieldTypeRoundTrips) {
  const auto t = rpcforge::Clock::TimePoint(std::chrono::microseconds(1764687723123456));
  const db::Row author = Authors().Create({{"name", "Ann"}, {"email", "ann@example.com"}});
  const db::Row created = Posts().Create({{"title", "Hello"},
                                          {"body", "it's \"quoted\" ?"},
                                          {"views", int64_t{1} << 40},
                                          {"rating", 4.25},
                                          {"published", true},
                                          {"author", author["id"]},
                                          {"day", "2026-12-02"},
                                          {"data", db::Blob{0, 1, 0xfe, 0xff}},
                                          {"meta", R"({"b": 1, "a": [2]})"}});
  const db::Row row = Posts().Get("id", created["id"]);
  EXPECT_EQ(row["title"].AsText(), "Hello");
  EXPECT_EQ(row["body"].AsText(), "it's \"quoted\" ?");
  EXPECT_EQ(row["views"].AsInt(), int64_t{1} << 40);
  EXPECT_DOUBLE_EQ(row["rating"].AsDouble(), 4.25);
  EXPECT_TRUE(row["published"].AsBool());
  EXPECT_EQ(row["author_id"].AsInt(), author["id"].AsInt());
  EXPECT_EQ(row["day"].AsText(), "2026-12-02");
  EXPECT_EQ(row["data"].AsBlob(), (db::Blob{0, 1, 0xfe, 0xff}));
  EXPECT_EQ(row["meta"].AsText(), R"({"b": 1, "a": [2]})");
  EXPECT_EQ(row["status"].AsText(), "draft");
  EXPECT_EQ(row["created_at"].type(), db::Value::Type::kTime);
  // A time goes in and comes out to the microsecond, in UTC.
  Posts().Filter("id", created["id"]).Update({{"created_at", t}});
  EXPECT_EQ(Posts().Get("id", created["id"])["created_at"].AsTime(), t);
  EXPECT_EQ(Posts().Filter("created_at__gte", t).Count(), 1);
  EXPECT_EQ(Posts().Filter("created_at__gt", t).Count(), 0);
}

TEST_P(BackendTest, CreateReturnsTheGeneratedIds) {
  const int64_t a = Authors().Create({{"name", "A"}, {"email", "a@example.com"}})["id"].AsInt();
  const int64_t b = Authors().Create({{"name", "B"}, {"email", "b@example.com"}})["id"].AsInt();
  EXPECT_EQ(b, a + 1);
  const db::ExecResult r =
      d().Execute("INSERT INTO blog_author (name, email) VALUES (?, ?), (?, ?)",
                  {"C", "c@example.com", "D", "d@example.com"});
  EXPECT_EQ(r.changes, 2);
  EXPECT_EQ(r.last_insert_id, b + 2);
  const std::vector<int64_t> ids = Authors().BulkCreate(
      {{{"name", "E"}, {"email", "e@example.com"}}, {{"name", "F"}, {"email", "f@example.com"}}});
  EXPECT_THAT(ids, ElementsAre(b + 3, b + 4));
  EXPECT_EQ(d().Execute("UPDATE blog_author SET name = ? WHERE id > ?", {"X", a}).changes, 5);
}

TEST_P(BackendTest, LookupsFilterOrderAndPage) {
  for (const char* title : {"Alpha", "beta", "Gamma", "alphabet"}) {
    Posts().Create({{"title", title}, {"views", static_cast<int64_t>(std::string(title).size())}});
  }
  EXPECT_EQ(Posts().Filter("title__icontains", "ALPHA").Count(), 2);
  EXPECT_EQ(Posts().Filter("title__contains", "lpha").Count(), 2);
  EXPECT_EQ(Posts().Filter("title__contains", "LPHA").Count(), 0);
  EXPECT_EQ(Posts().Filter("title__startswith", "al").Count(), 1);
  EXPECT_EQ(Posts().Filter("title__istartswith", "al").Count(), 2);
  EXPECT_EQ(Posts().Filter("title__iexact", "BETA").Count(), 1);
  EXPECT_EQ(Posts().Filter("title__contains", "50%").Count(), 0);
  EXPECT_EQ(Posts().Filter("title__in", std::vector<db::Value>{}).Count(), 0);
  EXPECT_EQ(Posts().Exclude("title__in", std::vector<db::Value>{}).Count(), 4);
  EXPECT_EQ(Posts().Filter("published", false).Count(), 4);
  EXPECT_EQ(Posts().Filter("views__gte", 5).Count(), 3);
  std::vector<std::string> titles;
  for (const db::Row& r : Posts().OrderBy({"-views", "title"}).Offset(1).Limit(2).All()) {
    titles.push_back(r["title"].AsText());
  }
  EXPECT_THAT(titles, ElementsAre("Alpha", "Gamma"));
}

TEST_P(BackendTest, ConstraintErrorsMapToStatusesWithoutSchemaNames) {
  Authors().Create({{"name", "A"}, {"email", "a@example.com"}});
  try {
    d().Execute("INSERT INTO blog_author (name, email) VALUES (?, ?)", {"B", "a@example.com"});
    FAIL() << "no unique violation";
  } catch (const db::DatabaseError& e) {
    EXPECT_EQ(e.kind(), db::DatabaseErrorKind::kUniqueViolation);
    EXPECT_EQ(e.code(), grpc::StatusCode::ALREADY_EXISTS);
    EXPECT_THAT(e.ToStatus().error_message(), Not(HasSubstr("blog_author")));
  }
  try {
    d().Execute("INSERT INTO blog_editor (author_id) VALUES (?)", {424242});
    FAIL() << "no foreign-key violation";
  } catch (const db::DatabaseError& e) {
    EXPECT_EQ(e.kind(), db::DatabaseErrorKind::kForeignKeyViolation);
    EXPECT_EQ(e.code(), grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_THAT(e.ToStatus().error_message(), Not(HasSubstr("blog_")));
  }
  // PROTECT: the author an editor references cannot go.
  const int64_t id = Authors().Get("email", "a@example.com")["id"].AsInt();
  d().Execute("INSERT INTO blog_editor (author_id) VALUES (?)", {id});
  EXPECT_THROW(Authors().Filter("id", id).Delete(), rpcforge::Error);
  EXPECT_EQ(Authors().Count(), 1);
}

TEST_P(BackendTest, AtomicCommitsRollsBackNestsAndRunsOnCommit) {
  int committed = 0;
  {
    db::Transaction outer = d().Atomic();
    Authors().Create({{"name", "kept"}, {"email", "k@example.com"}});
    {
      db::Transaction inner = d().Atomic();
      Authors().Create({{"name", "undone"}, {"email", "u@example.com"}});
      inner.OnCommit([&] { committed += 100; });  // goes with the savepoint it rolled back
    }
    {
      // A failed statement inside a savepoint leaves the outer transaction usable.
      db::Transaction inner = d().Atomic();
      EXPECT_THROW(Authors().Create({{"name", "dup"}, {"email", "k@example.com"}}),
                   rpcforge::Error);
    }
    outer.OnCommit([&] { ++committed; });
    EXPECT_EQ(committed, 0);
    outer.Commit();
  }
  EXPECT_EQ(committed, 1);
  EXPECT_EQ(Authors().Count(), 1);
  {
    db::Transaction tx = d().Atomic();
    Authors().Create({{"name", "gone"}, {"email", "g@example.com"}});
  }  // rolled back
  EXPECT_EQ(Authors().Count(), 1);
}

// Rolling back to a savepoint also releases it, so savepoints never pile up under a
// long-lived transaction (a pinned test connection). PostgreSQL does both in one round
// trip; SQLite runs its two statements in-process.
TEST_P(BackendTest, ARolledBackSavepointIsReleasedInOneRoundTripOnPostgres) {
  const bool postgres = GetParam() == "postgres";
  std::vector<std::string> rollbacks;
  std::mutex mu;
  const int observer = d().AddQueryObserver([&](const db::QueryEvent& e) {
    std::lock_guard<std::mutex> lock(mu);
    if (e.sql.rfind("ROLLBACK TO", 0) == 0 || e.sql.rfind("RELEASE", 0) == 0) {
      rollbacks.emplace_back(e.sql);
    }
  });
  db::Transaction outer = d().Atomic();
  for (int i = 0; i < 3; ++i) {
    db::Transaction inner = d().Atomic();
    Authors().Create({{"name", "undone"}, {"email", "u" + std::to_string(i) + "@example.com"}});
  }
  d().RemoveQueryObserver(observer);
  ASSERT_EQ(rollbacks.size(), postgres ? 3u : 6u);
  const std::string first = rollbacks[0];
  const std::string prefix = "ROLLBACK TO SAVEPOINT ";
  ASSERT_EQ(first.rfind(prefix, 0), 0u) << first;
  std::string name = first.substr(prefix.size());
  name = name.substr(0, name.find(';'));
  if (postgres) {
    EXPECT_EQ(first, "ROLLBACK TO SAVEPOINT " + name + "; RELEASE SAVEPOINT " + name);
  } else {
    EXPECT_EQ(rollbacks[1], "RELEASE SAVEPOINT " + name);
  }
  EXPECT_EQ(Authors().Count(), 0);
  Authors().Create({{"name", "kept"}, {"email", "k@example.com"}});
  // Released: the engine no longer knows it.
  EXPECT_THROW(d().Execute("RELEASE SAVEPOINT " + name), rpcforge::Error);
}

TEST_P(BackendTest, ConcurrentWritersEachCommitOnce) {
  constexpr int kThreads = 4;
  constexpr int kEach = 25;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, t] {
      for (int i = 0; i < kEach; ++i) {
        db::Transaction tx = d().Atomic();
        const std::string name = std::to_string(t) + "-" + std::to_string(i);
        Authors().Create({{"name", name}, {"email", name + "@example.com"}});
        tx.Commit();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(Authors().Count(), kThreads * kEach);
}

TEST_P(BackendTest, MigrationsChangeFieldsForwardAndBackKeepingRows) {
  db::Registry registry;
  db::App& app = registry.app("notes");
  const db::Model note("notes.note", {db::CharField("title", 20)});
  app.AddModel(note).AddInitialMigration();
  app.AddMigration(db::Migration::Operations(
      "0002_changes", {db::Operation::AddField("notes.note", db::BoolField("pinned").Default(true)),
                       db::Operation::AddField("notes.note", db::IntegerField("stars").Null()),
                       db::Operation::AlterField("notes.note", db::CharField("title", 40).Unique()),
                       db::Operation::RenameField("notes.note", "stars", "rating"),
                       db::Operation::AddIndex("notes.note", {"pinned", "rating"})}));
  std::ostringstream out;
  ASSERT_EQ(db::MigrateApp(d(), registry, "notes", "0001_initial", out), 1);
  d().Execute("INSERT INTO notes_note (title) VALUES (?)", {"first"});
  ASSERT_EQ(db::Migrate(d(), registry, out), 1);
  const std::vector<db::Row> rows = d().Query("SELECT title, pinned, rating FROM notes_note");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["title"].AsText(), "first");
  EXPECT_TRUE(rows[0]["pinned"].AsBool());  // the default filled the existing row
  EXPECT_TRUE(rows[0]["rating"].is_null());
  d().Execute("INSERT INTO notes_note (title, pinned) VALUES (?, ?)",
              {std::string(40, 'x'), false});
  EXPECT_THROW(d().Execute("INSERT INTO notes_note (title, pinned) VALUES (?, ?)", {"first", true}),
               db::DatabaseError);  // the new UNIQUE
  // Back to 0001: the columns go, the rows stay.
  ASSERT_EQ(db::MigrateApp(d(), registry, "notes", "0001_initial", out), 1);
  EXPECT_EQ(d().Query("SELECT title FROM notes_note ORDER BY id").size(), 2u);
  EXPECT_THAT(db::db_internal::DialectOf(d()).ColumnNames(d(), "notes_note"),
              ElementsAre("id", "title"));
  ASSERT_EQ(db::Migrate(d(), registry, out), 1);  // and forward again
}

TEST_P(BackendTest, LoaddataKeepsIdsAndTheNextIdFollowsThem) {
  const std::string fixture =
      R"([{"model": "blog.author", "pk": 7, "fields": {"name": "A", "email": "a@example.com"}}])";
  std::ostringstream out;
  db::LoadFixtures(d(), registry_, {{"authors.json", fixture}}, out);
  EXPECT_EQ(Authors().Get("id", 7)["name"].AsText(), "A");
  EXPECT_EQ(Authors().Create({{"name", "B"}, {"email", "b@example.com"}})["id"].AsInt(), 8);
  db::Flush(d());
  EXPECT_EQ(Authors().Count(), 0);
  EXPECT_EQ(Authors().Create({{"name", "C"}, {"email", "c@example.com"}})["id"].AsInt(), 1);
}

TEST_P(BackendTest, ReadOnlyScopeRefusesWrites) {
  db::ReadOnlyScope read_only;
  EXPECT_EQ(Authors().Count(), 0);
  EXPECT_THROW(Authors().Create({{"name", "A"}, {"email", "a@example.com"}}),
               rpcforge::PermissionDenied);
  EXPECT_THROW(d().Execute("WITH x AS (SELECT 1 AS one) DELETE FROM blog_author"),
               rpcforge::PermissionDenied);
}

TEST_P(BackendTest, TwoProcessesMigratingAtOnceApplyEachMigrationOnce) {
  // Two Databases are two processes' worth of connections: the engine, not the
  // in-process writer lock, has to keep them apart.
  auto other = scratch_->Open();
  db::Registry registry;
  registry.app("notes")
      .AddModel(db::Model("notes.note", {db::CharField("title", 20)}))
      .AddInitialMigration();
  int applied = 0;
  std::thread t([&] {
    std::ostringstream out;
    applied += db::Migrate(*other, registry, out);
  });
  std::ostringstream out;
  const int mine = db::Migrate(d(), registry, out);
  t.join();
  EXPECT_EQ(mine + applied, 1);
  EXPECT_EQ(d().Query("SELECT 1 FROM rpcforge_migrations WHERE app = ?", {"notes"}).size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Backends, BackendTest, ::testing::ValuesIn(tmodels::TestBackends()),
                         [](const auto& info) { return info.param; });

// --- PostgreSQL alone ------------------------------------------------------------------

TEST(PostgresPlaceholders, QuestionMarksOutsideLiteralsBecomeNumbered) {
  int n = 0;
  EXPECT_EQ(db::db_internal::ToDollarPlaceholders(
                "SELECT '?', \"a?\" FROM t WHERE x = ? AND y = ? -- ?\n AND z = ? /* ? */", &n),
            "SELECT '?', \"a?\" FROM t WHERE x = $1 AND y = $2 -- ?\n AND z = $3 /* ? */");
  EXPECT_EQ(n, 3);
  EXPECT_EQ(db::db_internal::ToDollarPlaceholders("SELECT 'it''s ?', ?", &n),
            "SELECT 'it''s ?', $1");
  EXPECT_EQ(n, 1);
  EXPECT_EQ(db::db_internal::ToDollarPlaceholders("SELECT 'unterminated ?", &n),
            "SELECT 'unterminated ?");
  EXPECT_EQ(n, 0);
}

TEST(PostgresUrl, RedactsThePasswordAndNamesAnotherDatabase) {
  EXPECT_EQ(db::db_internal::RedactUrl("postgresql://bob:s3cret@db:5432/app"),
            "postgresql://bob@db:5432/app");
  EXPECT_EQ(db::db_internal::RedactUrl("postgresql://bob@db/app"), "postgresql://bob@db/app");
  EXPECT_EQ(db::WithPostgresDatabase("postgresql://u@h:5432/postgres?sslmode=disable", "app"),
            "postgresql://u@h:5432/app?sslmode=disable");
  EXPECT_EQ(db::WithPostgresDatabase("postgresql://u@h:5432", "app"), "postgresql://u@h:5432/app");
  EXPECT_EQ(db::WithPostgresDatabase("postgresql://u@h/x?options=-ca%3Db/c", "app"),
            "postgresql://u@h/app?options=-ca%3Db/c");
  EXPECT_TRUE(db::IsPostgresUrl("postgres://x"));
  EXPECT_FALSE(db::IsPostgresUrl("app.sqlite3"));
}

TEST(PostgresBackend, ServerDownAtStartIsUnavailableNamingHostAndPort) {
  // A port nobody listens on: bound, then closed.
  try {
    db::Database::Open("postgresql://bob:s3cret@127.0.0.1:1/app");
    FAIL() << "opened";
  } catch (const rpcforge::Unavailable& e) {
    EXPECT_THAT(e.what(), HasSubstr("127.0.0.1"));
    EXPECT_THAT(e.what(), HasSubstr("postgresql://bob@127.0.0.1:1/app"));
    EXPECT_THAT(e.what(), Not(HasSubstr("s3cret")));
  }
}

class PostgresOnly : public ::testing::Test {
 protected:
  void SetUp() override {
    if (tmodels::PostgresUrl().empty()) GTEST_SKIP() << "RPCFORGE_TEST_POSTGRES is unset";
    scratch_ = std::make_unique<tmodels::ScratchDatabase>("postgres");
    database_ = scratch_->Open(2);
  }
  std::unique_ptr<tmodels::ScratchDatabase> scratch_;
  std::unique_ptr<db::Database> database_;
};

TEST_F(PostgresOnly, ALostConnectionIsUnavailableAndThePoolReconnects) {
  db::Database& d = *database_;
  const int64_t pid = d.Query("SELECT pg_backend_pid() AS pid")[0]["pid"].AsInt();
  scratch_->admin()->Query("SELECT pg_terminate_backend(?)", {pid});
  try {
    d.Query("SELECT 1");
    FAIL() << "the terminated connection answered";
  } catch (const db::DatabaseError& e) {
    EXPECT_EQ(e.kind(), db::DatabaseErrorKind::kConnectionLost);
    EXPECT_EQ(e.code(), grpc::StatusCode::UNAVAILABLE);
  }
  EXPECT_EQ(d.Query("SELECT 1 AS one")[0]["one"].AsInt(), 1);
  EXPECT_NE(d.Query("SELECT pg_backend_pid() AS pid")[0]["pid"].AsInt(), pid);
}

TEST_F(PostgresOnly, AConnectionLostInsideATransactionFailsItsScopeThenReconnects) {
  db::Database& d = *database_;
  d.Execute("CREATE TABLE t (id BIGINT PRIMARY KEY)");
  {
    db::Transaction tx = d.Atomic();
    d.Execute("INSERT INTO t (id) VALUES (1)");
    const int64_t pid = d.Query("SELECT pg_backend_pid() AS pid")[0]["pid"].AsInt();
    scratch_->admin()->Query("SELECT pg_terminate_backend(?)", {pid});
    // Neither this statement nor a later one of the scope runs on a new connection
    // outside the transaction.
    EXPECT_THROW(d.Execute("INSERT INTO t (id) VALUES (2)"), db::DatabaseError);
    EXPECT_THROW(d.Execute("INSERT INTO t (id) VALUES (3)"), rpcforge::Error);
    EXPECT_THROW(tx.Commit(), rpcforge::Error);
  }
  EXPECT_TRUE(d.Query("SELECT id FROM t").empty());  // nothing of it committed
  d.Execute("INSERT INTO t (id) VALUES (4)");        // and the pool goes on
  EXPECT_EQ(d.Query("SELECT id FROM t").size(), 1u);
}

TEST_F(PostgresOnly, ADeadlineCancelsARunningStatement) {
  const auto start = std::chrono::steady_clock::now();
  {
    rpcforge::db::CallInterrupt interrupt(start + std::chrono::milliseconds(100), nullptr);
    EXPECT_THROW(database_->Query("SELECT pg_sleep(10)"), rpcforge::DeadlineExceeded);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(database_->Query("SELECT 2 AS two")[0]["two"].AsInt(), 2);  // still usable
}

TEST_F(PostgresOnly, AFailedStatementAbortsTheTransactionUntilItEnds) {
  db::Database& d = *database_;
  d.Execute("CREATE TABLE t (id BIGINT PRIMARY KEY)");
  {
    db::Transaction tx = d.Atomic();
    d.Execute("INSERT INTO t (id) VALUES (1)");
    EXPECT_THROW(d.Execute("INSERT INTO t (id) VALUES (1)"), db::DatabaseError);
    EXPECT_THROW(d.Query("SELECT 1"), db::DatabaseError);  // "current transaction is aborted"
  }
  EXPECT_TRUE(d.Query("SELECT id FROM t").empty());
  EXPECT_EQ(d.Query("SELECT 3 AS three")[0]["three"].AsInt(), 3);
}

// Flush truncates with RESTART IDENTITY the tables that have a row or whose ids moved
// (rows since deleted), and the tables that refer to those (CASCADE); it leaves the
// others alone: TRUNCATE costs milliseconds per table even when it is empty.
TEST_F(PostgresOnly, FlushTruncatesTheTablesUsedAndRestartsTheirIds) {
  db::Database& d = *database_;
  db::Registry registry;
  tmodels::AddBlogApp(registry);
  std::ostringstream out;
  db::Migrate(d, registry, out);
  auto filenode = [&](const std::string& table) {
    return d.Query("SELECT pg_relation_filenode(?) AS f", {table})[0]["f"].AsInt();
  };
  auto post = [&] { return tmodels::Post().Objects(d).Create({{"title", "t"}})["id"].AsInt(); };
  // blog_post: a row written, then deleted: empty, but its ids moved on.
  post();
  d.Execute("DELETE FROM blog_post");
  const int64_t post_before = filenode("blog_post");
  const int64_t author_before = filenode("blog_author");
  const int64_t editor_before = filenode("blog_editor");
  db::Flush(d);
  // Only TRUNCATE gives a table a new file; a DELETE visits and keeps the old one.
  EXPECT_NE(filenode("blog_post"), post_before);
  EXPECT_EQ(filenode("blog_author"), author_before);  // never written
  EXPECT_EQ(filenode("blog_editor"), editor_before);
  EXPECT_EQ(post(), 1);

  // A row in blog_author: it and the tables referring to it go.
  tmodels::Author().Objects(d).Create({{"name", "A"}, {"email", "a@example.com"}});
  db::Flush(d);
  EXPECT_NE(filenode("blog_author"), author_before);
  EXPECT_EQ(tmodels::Author().Objects(d).Count(), 0);
  EXPECT_EQ(tmodels::Post().Objects(d).Count(), 0);
  EXPECT_EQ(tmodels::Author()
                .Objects(d)
                .Create({{"name", "B"}, {"email", "b@example.com"}})["id"]
                .AsInt(),
            1);
  EXPECT_FALSE(d.Query("SELECT 1 FROM rpcforge_migrations").empty());  // records kept

  // Nothing written since the last flush: nothing truncated.
  db::Flush(d);
  const int64_t post_after = filenode("blog_post");
  db::Flush(d);
  EXPECT_EQ(filenode("blog_post"), post_after);
}

// Deadlock makes a deadlock between `retrying`, which runs `statement_or_scope` (it
// updates row 1 then row 2 of t in one statement or scope), and a transaction of a
// second Database (another process) that holds row 2 and then asks for row 1, once
// the first waits for row 2. The first one's deadlock check fires after 200 ms, the
// other's after 20 s: the first is the one the server aborts, every time.
class PostgresDeadlock : public PostgresOnly {
 protected:
  void SetUp() override {
    PostgresOnly::SetUp();
    if (IsSkipped()) return;
    database_ = scratch_->Open(1);  // one connection: the SET below holds for every statement
    database_->Execute("SET deadlock_timeout = '200ms'");
    other_ = scratch_->Open(1);
    other_->Execute("SET deadlock_timeout = '20s'");
    database_->Execute("CREATE TABLE t (id BIGINT PRIMARY KEY, n BIGINT NOT NULL)");
    database_->Execute("INSERT INTO t (id, n) VALUES (1, 0), (2, 0)");
    pid_ = database_->Query("SELECT pg_backend_pid() AS pid")[0]["pid"].AsInt();
    database_->AddQueryObserver([this](const db::QueryEvent& e) {
      if (!e.ok) failures_.fetch_add(1);
    });
  }

  // Run runs `fn` on a thread while this one deadlocks it, `times` times at most.
  // Returns what `fn` threw (nullptr when it succeeded).
  std::exception_ptr Run(const std::function<void()>& fn, int times) {
    std::exception_ptr error;
    for (int round = 0; round < times; ++round) {
      db::Transaction tx = other_->Atomic();
      other_->Execute("UPDATE t SET n = n + 10 WHERE id = 2");
      std::atomic<bool> done{false};
      std::thread t([&] {
        try {
          fn();
        } catch (...) {
          error = std::current_exception();
        }
        done = true;
      });
      // Until the first waits for row 2 (bounded: 10 s).
      bool waiting = false;
      for (int i = 0; i < 2000 && !waiting && !done; ++i) {
        waiting = !scratch_->admin()
                       ->Query(
                           "SELECT 1 FROM pg_stat_activity WHERE pid = ? AND "
                           "wait_event_type = 'Lock'",
                           {pid_})
                       .empty();
        if (!waiting) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      if (waiting) other_->Execute("UPDATE t SET n = n + 10 WHERE id = 1");
      tx.Commit();
      t.join();
      if (!waiting) ADD_FAILURE() << "the statement never waited for row 2";
      if (error) break;
    }
    return error;
  }
  int64_t N(int id) {
    return database_->Query("SELECT n FROM t WHERE id = ?", {id})[0]["n"].AsInt();
  }

  std::unique_ptr<db::Database> other_;
  int64_t pid_ = 0;
  std::atomic<int> failures_{0};
};

TEST_F(PostgresDeadlock, AStatementOfItsOwnIsRetriedAndSucceeds) {
  // The sequential scan locks row 1, then waits for row 2.
  EXPECT_EQ(Run([&] { database_->Execute("UPDATE t SET n = n + 1 WHERE id IN (1, 2)"); }, 1),
            nullptr);
  EXPECT_GE(failures_.load(), 1);  // the deadlocked attempt, then the one that committed
  EXPECT_EQ(N(1), 11);
  EXPECT_EQ(N(2), 11);
}

TEST_F(PostgresDeadlock, AStatementInsideAnAtomicScopeIsNotRetried) {
  std::exception_ptr error = Run(
      [&] {
        db::Transaction tx = database_->Atomic();
        database_->Execute("UPDATE t SET n = n + 1 WHERE id IN (1, 2)");
        tx.Commit();
      },
      1);
  ASSERT_NE(error, nullptr);
  try {
    std::rethrow_exception(error);
  } catch (const db::DatabaseError& e) {
    EXPECT_EQ(e.kind(), db::DatabaseErrorKind::kConflict);
    EXPECT_EQ(e.code(), grpc::StatusCode::ABORTED);
  }
  EXPECT_EQ(N(1), 10);  // only the other transaction's
  EXPECT_EQ(N(2), 10);
}

TEST_F(PostgresDeadlock, RunInTransactionStartsTheTransactionOver) {
  int runs = 0;
  EXPECT_EQ(Run(
                [&] {
                  database_->RunInTransaction([&] {
                    ++runs;
                    database_->Execute("UPDATE t SET n = n + 1 WHERE id = 1");
                    database_->Execute("UPDATE t SET n = n + 1 WHERE id = 2");
                  });
                },
                1),
            nullptr);
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(N(1), 11);
  EXPECT_EQ(N(2), 11);
}

TEST_F(PostgresOnly, WritersOfOneProcessRunConcurrently) {
  // SQLite's writers take turns under the in-process writer lock; PostgreSQL's row
  // locks let a second writer go on while a first transaction is open.
  db::Database& d = *database_;
  d.Execute("CREATE TABLE a (id BIGINT PRIMARY KEY)");
  d.Execute("CREATE TABLE b (id BIGINT PRIMARY KEY)");
  db::Transaction tx = d.Atomic();
  d.Execute("INSERT INTO a (id) VALUES (1)");
  std::promise<void> wrote;
  std::thread other([&] {
    db::Transaction mine = d.Atomic();
    d.Execute("INSERT INTO b (id) VALUES (1)");
    mine.Commit();
    d.Execute("INSERT INTO b (id) VALUES (2)");
    wrote.set_value();
  });
  const bool done =
      wrote.get_future().wait_for(std::chrono::seconds(10)) == std::future_status::ready;
  tx.Commit();
  other.join();
  EXPECT_TRUE(done) << "the second writer waited for the first transaction";
  EXPECT_EQ(d.Query("SELECT id FROM b").size(), 2u);
}

// conflict() fails with a serialization failure on its first `fail` calls; the
// sequence counts the calls (nextval is never rolled back).
void CreateConflictFunction(db::Database& d, int fail) {
  d.Execute("CREATE SEQUENCE calls");
  d.Execute(
      "CREATE FUNCTION conflict() RETURNS BIGINT LANGUAGE plpgsql AS $$ DECLARE n BIGINT; "
      "BEGIN n := nextval('calls'); IF n <= " +
      std::to_string(fail) +
      " THEN RAISE EXCEPTION 'conflict' USING ERRCODE = 'serialization_failure'; END IF; "
      "RETURN n; END $$");
}
int64_t Calls(db::Database& d) {
  return d.Query("SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS n FROM calls")[0]["n"]
      .AsInt();
}

TEST_F(PostgresOnly, ConflictsPastTheBoundAreAbortedAfterFourAttempts) {
  db::Database& d = *database_;
  CreateConflictFunction(d, 100);
  try {
    d.Query("SELECT conflict() AS n");
    FAIL() << "no conflict";
  } catch (const db::DatabaseError& e) {
    EXPECT_EQ(e.kind(), db::DatabaseErrorKind::kConflict);
    EXPECT_EQ(e.code(), grpc::StatusCode::ABORTED);
  }
  EXPECT_EQ(Calls(d), 4);
  int runs = 0;
  EXPECT_THROW(d.RunInTransaction([&] {
    ++runs;
    d.Query("SELECT conflict() AS n");
  }),
               db::DatabaseError);
  EXPECT_EQ(runs, 4);
  EXPECT_EQ(Calls(d), 8);
}

TEST_F(PostgresOnly, AConflictThatClearsIsRetriedAndTheRowsAreTheLastAttempts) {
  db::Database& d = *database_;
  CreateConflictFunction(d, 2);
  EXPECT_EQ(d.Query("SELECT conflict() AS n")[0]["n"].AsInt(), 3);
  EXPECT_EQ(Calls(d), 3);
}

TEST(PostgresDialect, SqlmigratePrintsPostgresDdlForAUrl) {
  db::Registry registry;
  tmodels::AddBlogApp(registry);
  const std::string sql =
      db::MigrationSql(registry, "blog", "0001_initial", false, "postgresql://x@h/db");
  EXPECT_THAT(sql, HasSubstr("GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"));
  EXPECT_THAT(sql, HasSubstr("TIMESTAMPTZ"));
  EXPECT_THAT(sql, HasSubstr("DEFERRABLE INITIALLY IMMEDIATE"));
  EXPECT_THAT(db::MigrationSql(registry, "blog", "0001_initial", false, "blog.sqlite3"),
              HasSubstr("AUTOINCREMENT"));
}

}  // namespace
