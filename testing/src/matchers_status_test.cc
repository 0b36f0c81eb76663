// SPDX-License-Identifier: Apache-2.0
// Tests for IsOk, StatusIs and HasFieldViolation, including how they explain failures.
#include <gmock/gmock.h>
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <string>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "rpcforge/errors.h"
#include "rpcforge/testing/matchers.h"

namespace {

using ::rpcforge::testing::HasFieldViolation;
using ::rpcforge::testing::IsOk;
using ::rpcforge::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// Explain returns what `matcher` says about `value`, and whether it matched.
template <typename M, typename T>
std::string Explain(const M& matcher, const T& value, bool* matched = nullptr) {
  ::testing::StringMatchResultListener listener;
  bool ok = ::testing::ExplainMatchResult(matcher, value, &listener);
  if (matched) *matched = ok;
  return listener.str();
}

template <typename T>
std::string Describe(const ::testing::Matcher<T>& m) {
  return ::testing::DescribeMatcher<T>(m);
}

grpc::Status Validation() {
  rpcforge::ValidationError err;
  err.Add("title", "Ensure this field has no more than 100 characters.");
  err.Add("author.email", "Enter a valid email address.");
  return err.ToStatus();
}

}  // namespace

TEST(IsOkTest, MatchesOk) {
  EXPECT_THAT(grpc::Status::OK, IsOk());
  EXPECT_THAT(grpc::Status(grpc::StatusCode::OK, ""), IsOk());
}

TEST(IsOkTest, FailsOnErrorNamingCodeAndMessage) {
  bool matched = true;
  std::string why =
      Explain(IsOk(), grpc::Status(grpc::StatusCode::NOT_FOUND, "Post 7 not found"), &matched);
  EXPECT_FALSE(matched);
  EXPECT_EQ(why, "whose code is NOT_FOUND and message is \"Post 7 not found\"");
  EXPECT_EQ(Describe(IsOk()), "is OK");
}

TEST(IsOkTest, ReportsThroughGtest) {
  EXPECT_NONFATAL_FAILURE(
      EXPECT_THAT(grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "no"), IsOk()),
      "whose code is PERMISSION_DENIED and message is \"no\"");
}

TEST(StatusIsTest, MatchesCode) {
  grpc::Status st(grpc::StatusCode::NOT_FOUND, "Post 7 not found");
  EXPECT_THAT(st, StatusIs(grpc::StatusCode::NOT_FOUND));
  EXPECT_THAT(st, Not(StatusIs(grpc::StatusCode::INTERNAL)));
  EXPECT_THAT(grpc::Status::OK, StatusIs(grpc::StatusCode::OK));
}

TEST(StatusIsTest, MatchesMessage) {
  grpc::Status st(grpc::StatusCode::NOT_FOUND, "Post 7 not found");
  EXPECT_THAT(st, StatusIs(grpc::StatusCode::NOT_FOUND, HasSubstr("Post 7")));
  EXPECT_THAT(st, StatusIs(grpc::StatusCode::NOT_FOUND, "Post 7 not found"));
  EXPECT_THAT(st, Not(StatusIs(grpc::StatusCode::NOT_FOUND, "Post 8 not found")));
  EXPECT_THAT(st, Not(StatusIs(grpc::StatusCode::INTERNAL, HasSubstr("Post"))));
}

TEST(StatusIsTest, WrongCodeExplained) {
  bool matched = true;
  std::string why = Explain(StatusIs(grpc::StatusCode::NOT_FOUND),
                            grpc::Status(grpc::StatusCode::INTERNAL, "boom"), &matched);
  EXPECT_FALSE(matched);
  EXPECT_EQ(why, "whose code is INTERNAL and message is \"boom\"");
  EXPECT_EQ(Describe(StatusIs(grpc::StatusCode::NOT_FOUND)), "has code NOT_FOUND");
  EXPECT_EQ(Describe(StatusIs(grpc::StatusCode::NOT_FOUND, HasSubstr("Post"))),
            "has code NOT_FOUND and a message that has substring \"Post\"");
  EXPECT_EQ(::testing::DescribeMatcher<const grpc::Status&>(StatusIs(grpc::StatusCode::NOT_FOUND),
                                                            /*negation=*/true),
            "doesn't have code NOT_FOUND");
}

TEST(StatusIsTest, WrongMessageExplained) {
  bool matched = true;
  std::string why = Explain(StatusIs(grpc::StatusCode::NOT_FOUND, HasSubstr("Comment")),
                            grpc::Status(grpc::StatusCode::NOT_FOUND, "Post 7"), &matched);
  EXPECT_FALSE(matched);
  EXPECT_THAT(why, StartsWith("whose code is NOT_FOUND and message is \"Post 7\""));
}

TEST(StatusIsTest, GtestFailureMessagePrintsStatusReadably) {
  EXPECT_NONFATAL_FAILURE(EXPECT_THAT(grpc::Status(grpc::StatusCode::ALREADY_EXISTS, "dup"),
                                      StatusIs(grpc::StatusCode::NOT_FOUND)),
                          "Actual: ALREADY_EXISTS: \"dup\"");
}

TEST(StatusPrintTest, PrintsCodeMessageAndDetailsSize) {
  EXPECT_EQ(::testing::PrintToString(grpc::Status::OK), "OK");
  EXPECT_EQ(::testing::PrintToString(grpc::Status(grpc::StatusCode::UNAVAILABLE, "later")),
            "UNAVAILABLE: \"later\"");
  EXPECT_THAT(::testing::PrintToString(Validation()),
              testing::MatchesRegex("INVALID_ARGUMENT: .* \\(with [0-9]+ bytes of details\\)"));
}

TEST(HasFieldViolationTest, MatchesFieldAndDescription) {
  grpc::Status st = Validation();
  EXPECT_THAT(st, HasFieldViolation("title"));
  EXPECT_THAT(st, HasFieldViolation("title", HasSubstr("100 characters")));
  EXPECT_THAT(st, HasFieldViolation("author.email", "Enter a valid email address."));
  EXPECT_THAT(st, Not(HasFieldViolation("body")));
  EXPECT_THAT(st, Not(HasFieldViolation("title", HasSubstr("email"))));
  // The field name is compared exactly, not as a substring.
  EXPECT_THAT(st, Not(HasFieldViolation("email")));
}

TEST(HasFieldViolationTest, FailureListsViolationsPresent) {
  bool matched = true;
  std::string why = Explain(HasFieldViolation("body"), Validation(), &matched);
  EXPECT_FALSE(matched);
  EXPECT_EQ(why,
            "whose BadRequest field violations are [title: \"Ensure this field has no more "
            "than 100 characters.\", author.email: \"Enter a valid email address.\"]");
  EXPECT_EQ(Describe(HasFieldViolation("body", HasSubstr("required"))),
            "has a BadRequest field violation for \"body\" whose description has "
            "substring \"required\"");
}

TEST(HasFieldViolationTest, NoDetails) {
  bool matched = true;
  std::string why = Explain(HasFieldViolation("title"),
                            grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad"), &matched);
  EXPECT_FALSE(matched);
  EXPECT_EQ(why,
            "which has no error details (no BadRequest details) (status INVALID_ARGUMENT: "
            "\"bad\")");
}

TEST(HasFieldViolationTest, OtherDetailsOnly) {
  google::rpc::Status details;
  details.set_code(grpc::StatusCode::FAILED_PRECONDITION);
  google::rpc::PreconditionFailure failure;
  failure.add_violations()->set_type("TOS");
  details.add_details()->PackFrom(failure);
  grpc::Status st(grpc::StatusCode::FAILED_PRECONDITION, "tos", details.SerializeAsString());
  bool matched = true;
  std::string why = Explain(HasFieldViolation("title"), st, &matched);
  EXPECT_FALSE(matched);
  EXPECT_THAT(why, HasSubstr("which has no BadRequest details (details present: "
                             "type.googleapis.com/google.rpc.PreconditionFailure)"));
}

TEST(HasFieldViolationTest, UndecodableDetails) {
  grpc::Status st(grpc::StatusCode::INVALID_ARGUMENT, "bad", std::string("\xff\xff\xff", 3));
  bool matched = true;
  std::string why = Explain(HasFieldViolation("title"), st, &matched);
  EXPECT_FALSE(matched);
  EXPECT_THAT(why, HasSubstr("do not parse as google.rpc.Status"));
}

TEST(HasFieldViolationTest, EmptyBadRequest) {
  google::rpc::Status details;
  details.add_details()->PackFrom(google::rpc::BadRequest());
  grpc::Status st(grpc::StatusCode::INVALID_ARGUMENT, "bad", details.SerializeAsString());
  bool matched = true;
  EXPECT_EQ(Explain(HasFieldViolation("title"), st, &matched),
            "whose BadRequest field violations are empty");
  EXPECT_FALSE(matched);
}
