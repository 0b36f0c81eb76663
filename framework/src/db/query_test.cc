// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/db/query.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "db/test_backends.h"
#include "db/test_models.h"
#include "rpcforge/db/migrate.h"
#include "rpcforge/errors.h"

namespace {

namespace db = ::rpcforge::db;
namespace tmodels = ::rpcforge::db::testmodels;
using ::rpcforge::db::Row;
using ::rpcforge::db::Value;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

class FixedClock : public rpcforge::Clock {
 public:
  TimePoint Now() const override { return now; }
  SteadyTimePoint SteadyNow() const override { return {}; }
  TimePoint now = TimePoint(std::chrono::seconds(1'700'000'000));
};

// On every backend (test_backends.h): SQLite always, PostgreSQL when
// RPCFORGE_TEST_POSTGRES names a server.
class QueryTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    scratch_ = std::make_unique<tmodels::ScratchDatabase>(GetParam());
    database_ = scratch_->Open();
    Db().SetClock(clock_);
    tmodels::AddBlogApp(registry_);
    std::ostringstream out;
    db::Migrate(Db(), registry_, out);
    ada_ = Authors().Create({{"name", "Ada"}, {"email", "ada@example.com"}})["id"].AsInt();
    bob_ = Authors().Create({{"name", "Bob"}, {"email", "bob@example.com"}})["id"].AsInt();
    Posts().Create({{"title", "Hello gRPC"}, {"views", 10}, {"author", ada_}, {"published", true}});
    Posts().Create({{"title", "SQLite 100%"}, {"views", 5}, {"author", bob_}});
    Posts().Create({{"title", "hello again"}, {"views", 7}, {"author", nullptr}});
  }
  db::Database& Db() { return *database_; }
  db::QuerySet Posts() { return tmodels::Post().Objects(Db()); }
  db::QuerySet Authors() { return tmodels::Author().Objects(Db()); }
  std::vector<std::string> Titles(const db::QuerySet& q) {
    std::vector<std::string> out;
    for (const Row& r : q.All()) out.push_back(r["title"].AsText());
    return out;
  }

  FixedClock clock_;
  std::unique_ptr<tmodels::ScratchDatabase> scratch_;
  std::unique_ptr<db::Database> database_;
  db::Registry registry_;
  int64_t ada_ = 0;
  int64_t bob_ = 0;
};

}  // namespace

TEST_P(QueryTest, CreateFillsDefaultsAutoNowAndReturnsTypedRow) {
  Row row = Posts().Create({{"title", "New"}});
  EXPECT_EQ(row["id"].AsInt(), 4);
  EXPECT_EQ(row["body"].AsText(), "");
  EXPECT_EQ(row["views"].AsInt(), 0);
  EXPECT_EQ(row["published"], Value(false));
  EXPECT_EQ(row["status"].AsText(), "draft");
  EXPECT_TRUE(row["author_id"].is_null());
  EXPECT_EQ(row["created_at"], Value(clock_.now));
  EXPECT_EQ(row["updated_at"], Value(clock_.now));
  Row fetched = Posts().Get("id", 4);
  EXPECT_EQ(fetched.values(), row.values());
  EXPECT_EQ(fetched.columns(), row.columns());
}

TEST_P(QueryTest, CreateValidatesAndTranslatesConstraints) {
  EXPECT_THROW(Posts().Create({{"title", ""}, {"views", -2}}), rpcforge::ValidationError);
  try {
    Authors().Create({{"name", "Ada 2"}, {"email", "ada@example.com"}});
    FAIL();
  } catch (const rpcforge::AlreadyExists& e) {
    EXPECT_THAT(e.what(), HasSubstr("blog.author"));
    // The client sees the model, never the engine's text with table and column names.
    EXPECT_THAT(e.what(), Not(HasSubstr("constraint")));
    EXPECT_THAT(e.what(), Not(HasSubstr("email")));
  }
  try {
    Posts().Create({{"title", "x"}, {"author", 999}});
    FAIL();
  } catch (const rpcforge::FailedPrecondition& e) {
    EXPECT_THAT(e.what(), HasSubstr("blog.post"));
    EXPECT_THAT(e.what(), Not(HasSubstr("constraint")));
    EXPECT_THAT(e.what(), Not(HasSubstr("author_id")));
  }
  EXPECT_THROW(Posts().Create({{"title", "x"}, {"bogus", 1}}), rpcforge::InvalidArgument);
  EXPECT_EQ(Posts().Count(), 3);
}

TEST_P(QueryTest, Lookups) {
  EXPECT_THAT(Titles(Posts().Filter("title", "Hello gRPC")), ElementsAre("Hello gRPC"));
  EXPECT_THAT(Titles(Posts().Filter("title__iexact", "HELLO AGAIN")), ElementsAre("hello again"));
  EXPECT_THAT(Titles(Posts().Filter("views__gt", 5).OrderBy({"views"})),
              ElementsAre("hello again", "Hello gRPC"));
  EXPECT_THAT(Titles(Posts().Filter("views__gte", 7).Filter("views__lt", 10)),
              ElementsAre("hello again"));
  EXPECT_THAT(Titles(Posts().Filter("views__lte", 5)), ElementsAre("SQLite 100%"));
  EXPECT_THAT(Titles(Posts().Filter("id__in", std::vector<Value>{1, 3})),
              ElementsAre("Hello gRPC", "hello again"));
  EXPECT_THAT(Titles(Posts().Filter("id__in", std::vector<Value>{})), ElementsAre());
  EXPECT_THAT(Titles(Posts().Filter("title__contains", "ello")),
              ElementsAre("Hello gRPC", "hello again"));
  EXPECT_THAT(Titles(Posts().Filter("title__contains", "HELLO")), ElementsAre());
  EXPECT_THAT(Titles(Posts().Filter("title__icontains", "HELLO")),
              ElementsAre("Hello gRPC", "hello again"));
  // LIKE wildcards in values are literal.
  EXPECT_THAT(Titles(Posts().Filter("title__icontains", "0%")), ElementsAre("SQLite 100%"));
  EXPECT_THAT(Titles(Posts().Filter("title__icontains", "_")), ElementsAre());
  EXPECT_THAT(Titles(Posts().Filter("title__startswith", "Hello")), ElementsAre("Hello gRPC"));
  EXPECT_THAT(Titles(Posts().Filter("title__istartswith", "hello")),
              ElementsAre("Hello gRPC", "hello again"));
  EXPECT_THAT(Titles(Posts().Filter("author__isnull", true)), ElementsAre("hello again"));
  EXPECT_THAT(Titles(Posts().Filter("author", nullptr)), ElementsAre("hello again"));
  EXPECT_THAT(Titles(Posts().Filter("author_id", ada_)), ElementsAre("Hello gRPC"));
  EXPECT_THAT(Titles(Posts().Filter("published", true)), ElementsAre("Hello gRPC"));
  EXPECT_THAT(Titles(Posts().Exclude("author__isnull", true).Exclude("views", 10)),
              ElementsAre("SQLite 100%"));
  EXPECT_THAT(Titles(Posts().Filter("created_at__lte", Value(clock_.now))).size(), 3u);
}

TEST_P(QueryTest, OrderLimitOffsetSelect) {
  EXPECT_THAT(Titles(Posts().OrderBy({"-views"})),
              ElementsAre("Hello gRPC", "hello again", "SQLite 100%"));
  EXPECT_THAT(Titles(Posts().OrderBy({"published", "-id"})),
              ElementsAre("hello again", "SQLite 100%", "Hello gRPC"));
  EXPECT_THAT(Titles(Posts().OrderBy({"id"}).Limit(2)), ElementsAre("Hello gRPC", "SQLite 100%"));
  EXPECT_THAT(Titles(Posts().OrderBy({"id"}).Offset(1)), ElementsAre("SQLite 100%", "hello again"));
  EXPECT_THAT(Titles(Posts().OrderBy({"id"}).Limit(1).Offset(2)), ElementsAre("hello again"));
  EXPECT_EQ(Posts().Limit(2).Count(), 2);
  // An offset without a limit, in a count, a check and a write too.
  EXPECT_EQ(Posts().OrderBy({"id"}).Offset(1).Count(), 2);
  EXPECT_FALSE(Posts().OrderBy({"id"}).Offset(3).Exists());
  EXPECT_EQ(Posts().OrderBy({"id"}).Offset(2).Update({{"views", 42}}), 1);
  EXPECT_EQ(Posts().Get("id", 3)["views"].AsInt(), 42);
  auto rows = Posts().Select({"title", "views"}).OrderBy({"id"}).All();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_THAT(rows[0].columns(), ElementsAre("title", "views"));
  EXPECT_EQ(rows[0]["views"].AsInt(), 10);
}

TEST_P(QueryTest, GetFirstCountExists) {
  EXPECT_EQ(Posts().Get("title__startswith", "SQL")["views"].AsInt(), 5);
  try {
    Posts().Get("title", "missing");
    FAIL();
  } catch (const rpcforge::NotFound& e) {
    EXPECT_THAT(e.what(), HasSubstr("blog.post: object matching title='missing' not found"));
  }
  EXPECT_THROW(Posts().Filter("title__icontains", "hello").Get(), db::MultipleObjectsReturned);
  EXPECT_EQ((*Posts().First())["title"].AsText(), "Hello gRPC");
  EXPECT_FALSE(Posts().Filter("views", 1234).First().has_value());
  EXPECT_EQ(Posts().Count(), 3);
  EXPECT_EQ(Posts().Filter("views__gt", 6).Count(), 2);
  EXPECT_TRUE(Posts().Filter("views", 5).Exists());
  EXPECT_FALSE(Posts().Filter("views", 6).Exists());
}

TEST_P(QueryTest, UnknownFieldsAndLookupsAreRefusedByName) {
  try {
    Posts().Filter("title\" OR 1=1 --", 1);
    FAIL();
  } catch (const rpcforge::InvalidArgument& e) {
    EXPECT_THAT(e.what(), HasSubstr("blog.post has no field"));
  }
  try {
    Posts().Filter("title__regex", ".*");
    FAIL();
  } catch (const rpcforge::InvalidArgument& e) {
    EXPECT_THAT(e.what(), HasSubstr("unknown lookup 'regex'"));
  }
  EXPECT_THROW(Posts().OrderBy({"-nope"}), rpcforge::InvalidArgument);
  EXPECT_THROW(Posts().Select({"nope"}), rpcforge::InvalidArgument);
  EXPECT_THROW(Posts().Filter("id__in", 1), rpcforge::InvalidArgument);
}

TEST_P(QueryTest, UpdateValidatesAndRefreshesAutoNow) {
  clock_.now += std::chrono::hours(1);
  EXPECT_EQ(Posts().Filter("author__isnull", false).Update({{"views", 0}}), 2);
  EXPECT_EQ(Posts().Filter("views", 0).Count(), 2);
  EXPECT_EQ(Posts().Get("title", "Hello gRPC")["updated_at"], Value(clock_.now));
  EXPECT_NE(Posts().Get("title", "hello again")["updated_at"], Value(clock_.now));
  EXPECT_THROW(Posts().Update({{"views", -1}}), rpcforge::ValidationError);
  EXPECT_EQ(Posts().OrderBy({"id"}).Limit(1).Update({{"views", 99}}), 1);
  EXPECT_EQ(Posts().Get("id", 1)["views"].AsInt(), 99);
}

TEST_P(QueryTest, DeleteCascadesAndProtects) {
  tmodels::Editor().Objects(Db()).Create({{"author", bob_}});
  EXPECT_THROW(Authors().Filter("id", bob_).Delete(), rpcforge::FailedPrecondition);
  EXPECT_EQ(Authors().Filter("id", ada_).Delete(), 1);
  EXPECT_EQ(Posts().Count(), 2);  // Ada's post cascaded
  EXPECT_EQ(Posts().Filter("views__lt", 6).Delete(), 1);
  EXPECT_EQ(Posts().Count(), 1);
}

TEST_P(QueryTest, BulkCreateIsAllOrNothing) {
  EXPECT_THROW(Posts().BulkCreate({{{"title", "ok"}}, {{"title", ""}}}), rpcforge::ValidationError);
  EXPECT_EQ(Posts().Count(), 3);
  auto ids = Posts().BulkCreate({{{"title", "a"}}, {{"title", "b"}}});
  EXPECT_THAT(ids, ElementsAre(4, 5));
  try {
    Posts().BulkCreate({{{"title", "ok"}}, {{"views", -1}}});
    FAIL();
  } catch (const rpcforge::ValidationError& e) {
    std::vector<std::string> fields;
    for (const auto& v : e.violations()) fields.push_back(v.field);
    EXPECT_THAT(fields, testing::UnorderedElementsAre("[1].views", "[1].title"));
  }
}

TEST_P(QueryTest, ForEachStreamsInOrder) {
  std::vector<int64_t> ids;
  Posts().OrderBy({"-id"}).ForEach([&](const Row& r) { ids.push_back(r["id"].AsInt()); });
  EXPECT_THAT(ids, ElementsAre(3, 2, 1));
}

TEST_P(QueryTest, ForEachDeliversRowsOneAtATime) {
  std::vector<db::Values> rows(500, db::Values{{"title", "bulk"}});
  Posts().BulkCreate(rows);
  int calls = 0;
  struct Stop {};
  try {
    Posts().ForEach([&](const Row&) {
      ++calls;
      throw Stop{};  // stopping at the first row: the rest were never fetched
    });
  } catch (const Stop&) {
  }
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(Posts().Count(), 503);  // the connection is usable afterwards
}

TEST_P(QueryTest, AllTypesRoundTrip) {
  Row row = Posts().Create({{"title", "types"},
                            {"rating", 4},
                            {"day", "2026-11-22"},
                            {"data", db::Blob{0, 255}},
                            {"meta", R"({"k": [1, 2]})"}});
  Row back = Posts().Get("id", row["id"]);
  EXPECT_EQ(back["rating"], Value(4.0));
  EXPECT_EQ(back["day"].AsText(), "2026-11-22");
  EXPECT_EQ(back["data"].AsBlob(), (db::Blob{0, 255}));
  EXPECT_EQ(back["meta"].AsText(), R"({"k": [1, 2]})");
}

INSTANTIATE_TEST_SUITE_P(Backends, QueryTest, ::testing::ValuesIn(tmodels::TestBackends()),
                         [](const auto& info) { return info.param; });
