// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/db/migrate.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>
#include <thread>

#include "db/dialect.h"
#include "db/test_backends.h"
#include "db/test_models.h"
#include "rpcforge/db/framework_models.h"
#include "rpcforge/db/query.h"
#include "rpcforge/errors.h"

namespace {

namespace db = ::rpcforge::db;
namespace tmodels = ::rpcforge::db::testmodels;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::string> Tables(db::Database& d) {
  return db::db_internal::DialectOf(d).TableNames(d);
}

using ::rpcforge::db::testmodels::Columns;

std::string Statuses(db::Database& d, const db::Registry& r) {
  std::string out;
  for (const auto& m : db::ListMigrations(d, r)) {
    out += m.app + "." + m.name + (m.applied ? "=X " : "=_ ");
  }
  return out;
}

// On every backend (test_backends.h): SQLite always, PostgreSQL when
// RPCFORGE_TEST_POSTGRES names a server.
class Migrate : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    scratch_ = std::make_unique<tmodels::ScratchDatabase>(GetParam());
    database_ = scratch_->Open();
  }
  std::unique_ptr<tmodels::ScratchDatabase> scratch_;
  std::unique_ptr<db::Database> database_;
};

}  // namespace

TEST_P(Migrate, AppliesMissingMigrationsOnceAndIsIdempotent) {
  db::Database& d = *database_;
  db::Registry registry;
  tmodels::AddBlogApp(registry);
  std::ostringstream out;
  EXPECT_EQ(db::Migrate(d, registry, out), 1);
  EXPECT_EQ(out.str(), "Applying blog.0001_initial... OK\n");
  EXPECT_THAT(Tables(d),
              ElementsAre("blog_author", "blog_editor", "blog_post", "rpcforge_migrations"));
  std::ostringstream again;
  EXPECT_EQ(db::Migrate(d, registry, again), 0);
  EXPECT_EQ(again.str(), "No migrations to apply.\n");
}

TEST_P(Migrate, ListShowsAppliedAndPending) {
  db::Database& d = *database_;
  db::Registry registry;
  registry.app("blog").AddModel(tmodels::Author()).AddInitialMigration();
  std::ostringstream out;
  db::Migrate(d, registry, out);
  registry.app("blog").AddMigration(
      db::Migration::Sql("0002_author_bio", {"ALTER TABLE blog_author ADD COLUMN bio TEXT"}));
  EXPECT_EQ(Statuses(d, registry), "blog.0001_initial=X blog.0002_author_bio=_ ");
  std::ostringstream printed;
  db::PrintMigrations(d, registry, printed);
  EXPECT_EQ(printed.str(), "blog\n [X] 0001_initial\n [ ] 0002_author_bio\n");
  EXPECT_EQ(db::Migrate(d, registry, out), 1);
  EXPECT_EQ(Statuses(d, registry), "blog.0001_initial=X blog.0002_author_bio=X ");
  EXPECT_THAT(Columns(d, "blog_author"), testing::Contains("bio"));
  const auto list = db::ListMigrations(d, registry);
  EXPECT_TRUE(list[0].applied_at.has_value());
}

TEST_P(Migrate, FailingMigrationLeavesSchemaAsBefore) {
  db::Database& d = *database_;
  db::Registry registry;
  registry.app("blog")
      .AddModel(tmodels::Author())
      .AddInitialMigration()
      .AddMigration(db::Migration::Sql(
          "0002_broken",
          {"CREATE TABLE blog_tag (name TEXT)", "ALTER TABLE blog_author ADD COLUMN bio TEXT",
           "INSERT INTO no_such_table VALUES (1)"}));
  std::ostringstream out;
  try {
    db::Migrate(d, registry, out);
    FAIL() << "expected the migration to fail";
  } catch (const rpcforge::FailedPrecondition& e) {
    EXPECT_THAT(e.what(), HasSubstr("migration blog.0002_broken failed"));
    EXPECT_THAT(e.what(), HasSubstr("no_such_table"));
  }
  EXPECT_EQ(out.str(), "Applying blog.0001_initial... OK\nApplying blog.0002_broken... FAILED\n");
  // The first migration stays; nothing of the second remains.
  EXPECT_THAT(Tables(d), ElementsAre("blog_author", "rpcforge_migrations"));
  EXPECT_THAT(Columns(d, "blog_author"), ElementsAre("id", "name", "email"));
  EXPECT_EQ(Statuses(d, registry), "blog.0001_initial=X blog.0002_broken=_ ");
}

TEST_P(Migrate, CodeMigrationsUseModels) {
  db::Database& d = *database_;
  db::Registry registry;
  registry.app("blog")
      .AddModel(tmodels::Author())
      .AddInitialMigration()
      .AddMigration(db::Migration::Code("0002_seed", [](db::Database& conn) {
        tmodels::Author().Objects(conn).Create({{"name", "Root"}, {"email", "root@example.com"}});
      }));
  std::ostringstream out;
  db::Migrate(d, registry, out);
  EXPECT_EQ(tmodels::Author().Objects(d).Get("name", "Root")["email"].AsText(), "root@example.com");
}

TEST_P(Migrate, ConcurrentMigrationsOfOneDatabaseApplyOnce) {
  db::Registry registry;
  tmodels::AddBlogApp(registry);
  std::vector<std::thread> threads;
  std::atomic<int> applied{0};
  std::atomic<int> failures{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      try {
        db::Database d([&] {
          db::DatabaseOptions o;
          o.path = scratch_->path();
          return o;
        }());
        std::ostringstream out;
        applied += db::Migrate(d, registry, out);
      } catch (const std::exception& e) {
        ADD_FAILURE() << e.what();
        ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(applied.load(), 1);
}

TEST_P(Migrate, GlobalRegistryMigratesFrameworkTables) {
  db::Database& d = *database_;
  std::ostringstream out;
  db::Migrate(d, db::Registry::Global(), out);
  EXPECT_THAT(out.str(), HasSubstr("Applying rpcforge.0001_initial... OK"));
  EXPECT_THAT(Tables(d), testing::IsSupersetOf({"rpcforge_user", "rpcforge_apikey",
                                                "rpcforge_requestlog", "rpcforge_serverstatus"}));
  auto user = db::UserModel().Objects(d).Create({{"username", "ada"}, {"email", "ada@x.io"}});
  EXPECT_EQ(user["is_active"], db::Value(true));
  auto key = db::ApiKeyModel().Objects(d).Create({{"name", "ci"},
                                                  {"user", user["id"]},
                                                  {"prefix", "rf_ab12"},
                                                  {"key_hash", std::string(64, 'a')}});
  EXPECT_EQ(key["request_count"].AsInt(), 0);
  EXPECT_TRUE(key["revoked_at"].is_null());
  EXPECT_THROW(
      db::ApiKeyModel().Objects(d).Create(
          {{"name", "bad"}, {"user", user["id"]}, {"prefix", "x"}, {"key_hash", "nothex"}}),
      rpcforge::ValidationError);
  auto log = db::RequestLogModel().Objects(d).Create({{"request_id", "r1"},
                                                      {"service", "blog.v1.Blog"},
                                                      {"method", "Get"},
                                                      {"full_method", "/blog.v1.Blog/Get"},
                                                      {"user", user["id"]},
                                                      {"api_key", key["id"]}});
  db::ServerStatusModel().Objects(d).Create(
      {{"instance_id", "h:50051:42"},
       {"host", "h"},
       {"port", 50051},
       {"pid", 42},
       {"started_at", db::Value(rpcforge::Clock::Real().Now())},
       {"services", R"(["blog.v1.Blog"])"}});
  // Deleting the user cascades to keys and keeps the log with NULL references.
  db::UserModel().Objects(d).Filter("id", user["id"]).Delete();
  EXPECT_EQ(db::ApiKeyModel().Objects(d).Count(), 0);
  auto kept = db::RequestLogModel().Objects(d).Get("id", log["id"]);
  EXPECT_TRUE(kept["user_id"].is_null());
  EXPECT_TRUE(kept["api_key_id"].is_null());
  EXPECT_EQ(db::Registry::Global().apps().front()->label(), "rpcforge");
}

TEST_P(Migrate, FlushEmptiesTablesAndResetsSequencesKeepingMigrations) {
  db::Database& d = *database_;
  db::Registry registry;
  tmodels::AddBlogApp(registry);
  std::ostringstream out;
  db::Migrate(d, registry, out);
  auto author = tmodels::Author().Objects(d).Create({{"name", "A"}, {"email", "a@b.io"}});
  tmodels::Post().Objects(d).Create({{"title", "t"}, {"author", author["id"]}});
  tmodels::Editor().Objects(d).Create({{"author", author["id"]}});  // PROTECT reference
  EXPECT_EQ(db::Flush(d), 3);
  EXPECT_EQ(tmodels::Post().Objects(d).Count(), 0);
  EXPECT_EQ(tmodels::Author().Objects(d).Count(), 0);
  EXPECT_EQ(tmodels::Author().Objects(d).Create({{"name", "B"}, {"email", "b@b.io"}})["id"].AsInt(),
            1);
  EXPECT_EQ(Statuses(d, registry), "blog.0001_initial=X ");
}

INSTANTIATE_TEST_SUITE_P(Backends, Migrate, ::testing::ValuesIn(tmodels::TestBackends()),
                         [](const auto& info) { return info.param; });
