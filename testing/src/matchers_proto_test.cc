// SPDX-License-Identifier: Apache-2.0
// Tests for EqualsProto, Partially, IgnoringRepeatedFieldOrdering and
// Approximately / ApproximatelyEqualsProto, including how they explain failures.
#include <gmock/gmock.h>
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "rpcforge/testing/matchers.h"
#include "testdata/test_messages.pb.h"

namespace {

using ::rpcforge::testing::Approximately;
using ::rpcforge::testing::ApproximatelyEqualsProto;
using ::rpcforge::testing::EqualsProto;
using ::rpcforge::testing::IgnoringRepeatedFieldOrdering;
using ::rpcforge::testing::Partially;
using ::rpcforge::testing::test::Author;
using ::rpcforge::testing::test::Point;
using ::rpcforge::testing::test::Post;
using ::testing::HasSubstr;
using ::testing::Not;

template <typename M, typename T>
std::string Explain(const M& matcher, const T& value, bool* matched) {
  ::testing::StringMatchResultListener listener;
  *matched = ::testing::ExplainMatchResult(matcher, value, &listener);
  return listener.str();
}

Post SamplePost() {
  Post p;
  p.set_id(7);
  p.set_title("Hello");
  p.set_published(true);
  p.mutable_author()->set_name("Ada");
  p.mutable_author()->set_email("ada@example.com");
  p.add_tags("c++");
  p.add_tags("grpc");
  (*p.mutable_counters())["views"] = 10;
  (*p.mutable_counters())["likes"] = 2;
  p.set_score(0.5);
  p.set_url("https://example.com/hello");
  return p;
}

}  // namespace

TEST(EqualsProtoTest, MatchesEqualMessage) {
  Post p = SamplePost();
  EXPECT_THAT(p, EqualsProto(SamplePost()));
  EXPECT_THAT(p, EqualsProto(R"pb(
                id: 7
                title: "Hello"
                published: true
                author { name: "Ada" email: "ada@example.com" }
                tags: "c++"
                tags: "grpc"
                counters { key: "likes" value: 2 }
                counters { key: "views" value: 10 }
                score: 0.5
                url: "https://example.com/hello"
              )pb"));
}

TEST(EqualsProtoTest, AcceptsPointersAndSmartPointers) {
  Post p = SamplePost();
  const Post* raw = &p;
  Post* mutable_raw = &p;
  auto unique = std::make_unique<Post>(p);
  auto shared = std::make_shared<Post>(p);
  EXPECT_THAT(raw, EqualsProto(SamplePost()));
  EXPECT_THAT(mutable_raw, EqualsProto(SamplePost()));
  EXPECT_THAT(unique, EqualsProto(SamplePost()));
  EXPECT_THAT(shared, EqualsProto(SamplePost()));
  const Post* null = nullptr;
  bool matched = true;
  EXPECT_EQ(Explain(EqualsProto(SamplePost()), null, &matched), "which is a null pointer");
  EXPECT_FALSE(matched);
}

TEST(EqualsProtoTest, WorksInsideContainerMatchers) {
  std::vector<Author> authors(2);
  authors[0].set_name("Ada");
  authors[1].set_name("Linus");
  EXPECT_THAT(authors, ::testing::ElementsAre(EqualsProto(R"pb(name: "Ada")pb"),
                                              EqualsProto(R"pb(name: "Linus")pb")));
  EXPECT_THAT(authors, ::testing::Contains(Partially(EqualsProto(R"pb(name: "Linus")pb"))));
}

TEST(EqualsProtoTest, ScalarDifferenceIsAFieldDiff) {
  Post p = SamplePost();
  p.set_title("Goodbye");
  p.set_id(8);
  bool matched = true;
  std::string why = Explain(EqualsProto(SamplePost()), p, &matched);
  EXPECT_FALSE(matched);
  EXPECT_EQ(why,
            "with the differences (expected -> actual):\n"
            "modified: id: 7 -> 8\n"
            "modified: title: \"Hello\" -> \"Goodbye\"");
}

TEST(EqualsProtoTest, NestedRepeatedMapAndOneofDiffs) {
  Post p = SamplePost();
  p.mutable_author()->set_email("ada@example.org");
  p.add_tags("extra");
  (*p.mutable_counters())["views"] = 11;
  (*p.mutable_counters())["shares"] = 1;
  p.set_import_id(42);  // replaces url in the oneof
  bool matched = true;
  std::string why = Explain(EqualsProto(SamplePost()), p, &matched);
  EXPECT_FALSE(matched);
  EXPECT_THAT(why, HasSubstr("modified: author.email: \"ada@example.com\" -> "
                             "\"ada@example.org\""));
  EXPECT_THAT(why, HasSubstr("added: tags[2]: \"extra\""));
  EXPECT_THAT(why, HasSubstr("modified: counters[views]: 10 -> 11"));
  EXPECT_THAT(why, HasSubstr("added: counters[shares]: 1"));
  EXPECT_THAT(why, HasSubstr("deleted: url: \"https://example.com/hello\""));
  EXPECT_THAT(why, HasSubstr("added: import_id: 42"));
}

TEST(EqualsProtoTest, MapOrderDoesNotMatter) {
  Post a, b;
  (*a.mutable_counters())["x"] = 1;
  (*a.mutable_counters())["y"] = 2;
  (*b.mutable_counters())["y"] = 2;
  (*b.mutable_counters())["x"] = 1;
  EXPECT_THAT(a, EqualsProto(b));
}

TEST(EqualsProtoTest, ExplicitPresenceCounts) {
  Post with_zero;
  with_zero.set_priority(0);
  EXPECT_THAT(with_zero, Not(EqualsProto(Post())));
  EXPECT_THAT(with_zero, EqualsProto("priority: 0"));
}

TEST(EqualsProtoTest, FloatsAreExact) {
  Point p;
  p.set_x(0.1 + 0.2);
  EXPECT_THAT(p, Not(EqualsProto("x: 0.3")));
}

TEST(EqualsProtoTest, TextFormatParseErrorIsAClearFailure) {
  bool matched = true;
  std::string why = Explain(EqualsProto("id: 7 no_such_field: 1"), SamplePost(), &matched);
  EXPECT_FALSE(matched);
  EXPECT_THAT(why, HasSubstr("but the expected text format does not parse as "
                             "rpcforge.testing.test.Post: error at line 1, column"));
  EXPECT_THAT(why, HasSubstr("no_such_field"));
}

TEST(EqualsProtoTest, TypeMismatch) {
  Author a;
  a.set_name("Ada");
  bool matched = true;
  std::string why = Explain(EqualsProto(a), SamplePost(), &matched);
  EXPECT_FALSE(matched);
  EXPECT_EQ(why, "which is a rpcforge.testing.test.Post, not a rpcforge.testing.test.Author");
}

TEST(EqualsProtoTest, Description) {
  Author a;
  a.set_name("Ada");
  EXPECT_EQ(::testing::DescribeMatcher<const Author&>(EqualsProto(a)),
            "is equal to rpcforge.testing.test.Author <name: \"Ada\">");
  EXPECT_EQ(::testing::DescribeMatcher<const Author&>(EqualsProto("name: 'Ada'"), true),
            "is not equal to <name: 'Ada'>");
  EXPECT_EQ(::testing::DescribeMatcher<const Author&>(
                Partially(IgnoringRepeatedFieldOrdering(EqualsProto(a)))),
            "is partially equal to rpcforge.testing.test.Author <name: \"Ada\">, ignoring "
            "repeated field ordering");
}

TEST(EqualsProtoTest, ReportsThroughGtest) {
  Post p = SamplePost();
  p.set_title("Goodbye");
  EXPECT_NONFATAL_FAILURE(EXPECT_THAT(p, EqualsProto(SamplePost())),
                          "modified: title: \"Hello\" -> \"Goodbye\"");
}

TEST(PartiallyTest, ComparesOnlyFieldsSetInExpected) {
  Post p = SamplePost();
  EXPECT_THAT(p, Partially(EqualsProto(R"pb(title: "Hello"
                                            author { name: "Ada" })pb")));
  EXPECT_THAT(p, Not(EqualsProto(R"pb(title: "Hello")pb")));
  EXPECT_THAT(p, Not(Partially(EqualsProto(R"pb(title: "Bye")pb"))));
}

TEST(PartiallyTest, FailureShowsOnlyTheComparedFields) {
  Post p = SamplePost();
  bool matched = true;
  std::string why = Explain(Partially(EqualsProto(R"pb(title: "Bye"
                                                       author { email: "x@y" })pb")),
                            p, &matched);
  EXPECT_FALSE(matched);
  EXPECT_EQ(why,
            "with the differences (expected -> actual):\n"
            "modified: title: \"Bye\" -> \"Hello\"\n"
            "modified: author.email: \"x@y\" -> \"ada@example.com\"");
}

TEST(IgnoringRepeatedFieldOrderingTest, ComparesAsMultisets) {
  Post p;
  p.add_tags("a");
  p.add_tags("b");
  p.add_tags("b");
  EXPECT_THAT(p, Not(EqualsProto(R"pb(tags: "b" tags: "a" tags: "b")pb")));
  EXPECT_THAT(p,
              IgnoringRepeatedFieldOrdering(EqualsProto(R"pb(tags: "b" tags: "a" tags: "b")pb")));
  // Counts matter: a multiset, not a set.
  EXPECT_THAT(
      p, Not(IgnoringRepeatedFieldOrdering(EqualsProto(R"pb(tags: "a" tags: "a" tags: "b")pb"))));
}

TEST(IgnoringRepeatedFieldOrderingTest, NestedMessagesAndComposition) {
  Post p = SamplePost();
  p.add_reviewers()->set_name("Linus");
  p.add_reviewers()->set_name("Grace");
  EXPECT_THAT(p, Partially(IgnoringRepeatedFieldOrdering(EqualsProto(R"pb(
                reviewers { name: "Grace" }
                reviewers { name: "Linus" }
                tags: "grpc"
                tags: "c++"
              )pb"))));
  EXPECT_THAT(p, Not(Partially(EqualsProto(R"pb(
                reviewers { name: "Grace" }
                reviewers { name: "Linus" }
              )pb"))));
  bool matched = true;
  std::string why = Explain(
      IgnoringRepeatedFieldOrdering(Partially(EqualsProto(R"pb(reviewers { name: "Grace" }
                                                               reviewers { name: "Alan" })pb"))),
      p, &matched);
  EXPECT_FALSE(matched);
  EXPECT_THAT(why, HasSubstr("reviewers"));
  EXPECT_THAT(why, HasSubstr("Alan"));
}

TEST(ApproximatelyTest, DefaultToleranceIsAFewUlps) {
  Point p;
  p.set_x(0.1 + 0.2);
  p.set_y(1.0);
  EXPECT_THAT(p, ApproximatelyEqualsProto("x: 0.3 y: 1.0"));
  EXPECT_THAT(p, Not(ApproximatelyEqualsProto("x: 0.3001 y: 1.0")));
  Point expected;
  expected.set_x(0.3);
  expected.set_y(1.0);
  EXPECT_THAT(p, ApproximatelyEqualsProto(expected));
  EXPECT_THAT(p, Approximately(EqualsProto(expected)));
}

TEST(ApproximatelyTest, MarginAndFraction) {
  Point p;
  p.set_x(10.05);
  p.set_y(1000.5);
  EXPECT_THAT(p, ApproximatelyEqualsProto("x: 10 y: 1000", /*margin=*/0.6));
  EXPECT_THAT(p, Not(ApproximatelyEqualsProto("x: 10 y: 1000", /*margin=*/0.1)));
  EXPECT_THAT(p, ApproximatelyEqualsProto("x: 10 y: 1000", /*margin=*/0.0, /*fraction=*/0.01));
  bool matched = true;
  std::string why = Explain(ApproximatelyEqualsProto("x: 10 y: 1000", 0.1), p, &matched);
  EXPECT_FALSE(matched);
  EXPECT_THAT(why, HasSubstr("modified: y: 1000 -> 1000.5"));
  EXPECT_THAT(why, Not(HasSubstr("x:")));  // x is within the margin
}

TEST(ApproximatelyTest, FloatFieldsAndOtherFieldsExact) {
  Post p;
  p.set_ratio(0.1f + 0.2f);
  p.set_title("t");
  EXPECT_THAT(p, ApproximatelyEqualsProto(R"pb(ratio: 0.3 title: "t")pb"));
  EXPECT_THAT(p, Not(ApproximatelyEqualsProto(R"pb(ratio: 0.3 title: "u")pb")));
  EXPECT_THAT(p, Partially(ApproximatelyEqualsProto(R"pb(ratio: 0.3)pb")));
}
