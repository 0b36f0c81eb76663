// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/db/model.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "db/test_models.h"
#include "rpcforge/errors.h"

namespace {

using ::rpcforge::db::Model;
using ::rpcforge::db::Value;
using ::rpcforge::db::Values;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
namespace tmodels = ::rpcforge::db::testmodels;
namespace db = ::rpcforge::db;

// Violations as "field: message" strings.
std::vector<std::string> Violations(const Model& model, const Values& values,
                                    bool partial = false) {
  try {
    model.Validate(values, partial);
  } catch (const rpcforge::ValidationError& e) {
    std::vector<std::string> out;
    for (const auto& v : e.violations()) out.push_back(v.field + ": " + v.description);
    return out;
  }
  return {};
}

}  // namespace

TEST(Model, DerivesTableAndAddsAutoId) {
  const Model& post = tmodels::Post();
  EXPECT_EQ(post.label(), "blog.post");
  EXPECT_EQ(post.app_label(), "blog");
  EXPECT_EQ(post.table(), "blog_post");
  EXPECT_EQ(post.pk().name(), "id");
  EXPECT_EQ(post.fields().front().name(), "id");
  EXPECT_EQ(post.GetField("author").column(), "author_id");
  EXPECT_EQ(&post.GetField("author_id"), &post.GetField("author"));
  EXPECT_EQ(&post.GetField("pk"), &post.pk());
}

TEST(Model, RejectsBadDeclarations) {
  EXPECT_THROW(Model("nodot", {}), rpcforge::InvalidArgument);
  EXPECT_THROW(Model("a.b.c", {}), rpcforge::InvalidArgument);
  EXPECT_THROW(Model("Blog.post", {}), rpcforge::InvalidArgument);
  EXPECT_THROW(Model("blog.post", {db::TextField("Title")}), rpcforge::InvalidArgument);
  EXPECT_THROW(Model("blog.post", {db::TextField("a"), db::IntegerField("a")}),
               rpcforge::InvalidArgument);
  EXPECT_THROW(Model("blog.post", {db::CharField("a", 0)}), rpcforge::InvalidArgument);
  EXPECT_THROW(Model("blog.post", {db::ForeignKey("a", "blog.x", db::OnDelete::kSetNull)}),
               rpcforge::InvalidArgument);
  EXPECT_THROW(Model("blog.post", {db::IntegerField("a").AutoNow()}), rpcforge::InvalidArgument);
  try {
    Model("blog.post", {db::TextField("a")}).Index({"nope"});
    FAIL();
  } catch (const rpcforge::InvalidArgument& e) {
    EXPECT_THAT(e.what(), HasSubstr("blog.post has no field 'nope'"));
  }
}

TEST(Model, CreateSqlDeclaresConstraints) {
  const auto sql = tmodels::Post().CreateSql();
  ASSERT_GE(sql.size(), 3u);
  EXPECT_THAT(sql[0], HasSubstr("CREATE TABLE \"blog_post\" ("));
  EXPECT_THAT(sql[0], HasSubstr("\"id\" INTEGER PRIMARY KEY AUTOINCREMENT"));
  EXPECT_THAT(sql[0], HasSubstr("\"title\" VARCHAR(20) NOT NULL"));
  EXPECT_THAT(sql[0], HasSubstr("\"rating\" REAL NULL"));
  EXPECT_THAT(sql[0], HasSubstr("\"author_id\" INTEGER NULL REFERENCES \"blog_author\" (\"id\") "
                                "ON DELETE CASCADE"));
  EXPECT_THAT(sql[0], HasSubstr("json_valid(\"meta\")"));
  // TEXT affinity, so JSON numbers are stored as the text written (not NUMERIC's 2 or
  // 15-digit REAL); see FixtureDataTest.JsonNumbersStayJsonText.
  EXPECT_THAT(sql[0], HasSubstr("\"meta\" TEXT NULL"));
  EXPECT_THAT(sql, testing::Contains(HasSubstr("CREATE INDEX \"blog_post_author_id_idx\"")));
  EXPECT_THAT(sql,
              testing::Contains("CREATE INDEX \"blog_post_status_created_at_idx\" ON \"blog_post\" "
                                "(\"status\", \"created_at\")"));
  EXPECT_THAT(tmodels::Author().CreateSql()[0],
              HasSubstr("\"email\" VARCHAR(254) NOT NULL UNIQUE"));
  EXPECT_THAT(tmodels::Editor().CreateSql()[0], testing::Not(HasSubstr("ON DELETE")));
}

TEST(Model, ValidateCollectsEveryFieldError) {
  auto errors = Violations(tmodels::Post(), {{"title", "this title is far too long"},
                                             {"views", -1},
                                             {"status", "gone"},
                                             {"published", "yes"},
                                             {"meta", "{not json"},
                                             {"day", "2026-02-30"}});
  EXPECT_THAT(errors,
              ElementsAre("title: Ensure this value has at most 20 characters (it has 26).",
                          "views: Ensure this value is greater than or equal to 0.",
                          "status: Value 'gone' is not a valid choice.",
                          "published: Expected a boolean, got text.", "meta: Enter valid JSON.",
                          "day: Enter a valid date (YYYY-MM-DD)."));
}

TEST(Model, ValidateRequiredNullAndBlank) {
  EXPECT_THAT(Violations(tmodels::Author(), {}),
              ElementsAre("name: This field is required.", "email: This field is required."));
  EXPECT_THAT(
      Violations(tmodels::Author(), {{"name", ""}, {"email", nullptr}}),
      ElementsAre("name: This field cannot be blank.", "email: This field cannot be null."));
  EXPECT_THAT(Violations(tmodels::Author(), {{"name", "x"}}, /*partial=*/true), ElementsAre());
  EXPECT_THAT(Violations(tmodels::Post(), {{"title", "ok"}, {"body", ""}}), ElementsAre());
}

TEST(Model, ValidatorsEmailRegexMinMaxAndCustom) {
  Model m("shop.item",
          {db::CharField("email", 100).Email(),
           db::CharField("sku", 10).Regex("[A-Z]{3}-[0-9]+", "Enter a SKU."),
           db::FloatField("price").MinValue(0.5).MaxValue(10),
           db::IntegerField("even").Validate([](const Value& v) -> std::optional<std::string> {
             if (v.AsInt() % 2 != 0) return "Must be even.";
             return std::nullopt;
           })});
  EXPECT_THAT(
      Violations(m, {{"email", "not-an-email"}, {"sku", "abc-1"}, {"price", 11}, {"even", 3}}),
      ElementsAre("email: Enter a valid email address.", "sku: Enter a SKU.",
                  "price: Ensure this value is less than or equal to 10.", "even: Must be even."));
  EXPECT_THAT(Violations(m, {{"email", "a@b.io"}, {"sku", "ABC-12"}, {"price", 0.5}, {"even", 4}}),
              ElementsAre());
}

TEST(Model, UnknownFieldIsInvalidArgumentNamingIt) {
  try {
    tmodels::Post().Validate({{"nope", 1}});
    FAIL();
  } catch (const rpcforge::InvalidArgument& e) {
    EXPECT_THAT(e.what(), HasSubstr("'nope'"));
  }
}

TEST(Model, StorageConversions) {
  const auto& f = tmodels::Post().GetField("published");
  EXPECT_EQ(Model::ToStorage(f, true), Value(int64_t{1}));
  EXPECT_EQ(Model::FromStorage(f, Value(int64_t{0})), Value(false));
  const auto& dt = tmodels::Post().GetField("created_at");
  rpcforge::Clock::TimePoint t;
  ASSERT_TRUE(rpcforge::ParseTimestamp("2026-01-02T03:04:05Z", &t));
  EXPECT_EQ(Model::ToStorage(dt, t), Value("2026-01-02T03:04:05.000000Z"));
  EXPECT_EQ(Model::FromStorage(dt, Value("2026-01-02T03:04:05.000000Z")), Value(t));
}
