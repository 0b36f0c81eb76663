// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/errors.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "rpcforge/log.h"

using ::testing::HasSubstr;
using ::testing::Not;

namespace {
grpc::Status Map(std::exception_ptr e) { return rpcforge::StatusFromException(e, "/pkg.S/M"); }
}  // namespace

TEST(StatusFromException, TypedErrorsKeepCodeAndMessage) {
  auto s = Map(std::make_exception_ptr(rpcforge::NotFound("Post: 7 not found")));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "Post: 7 not found");
  s = Map(std::make_exception_ptr(rpcforge::PermissionDenied("no")));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  s = Map(std::make_exception_ptr(rpcforge::AbortError(grpc::StatusCode::UNKNOWN, "u")));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNKNOWN);
  EXPECT_EQ(s.error_message(), "u");
}

TEST(StatusFromException, UnknownExceptionsBecomeGenericInternalAndAreLogged) {
  std::vector<std::string> lines;
  int sink =
      rpcforge::log::AddSink([&](const rpcforge::log::Record& r) { lines.push_back(r.message); });
  auto s = Map(std::make_exception_ptr(std::runtime_error("secret db password")));
  rpcforge::log::RemoveSink(sink);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(s.error_message(), "Internal server error");
  EXPECT_THAT(s.error_message(), Not(HasSubstr("secret")));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(lines[0], HasSubstr("/pkg.S/M"));
  EXPECT_THAT(lines[0], HasSubstr("secret db password"));
}

TEST(StatusFromException, NonStandardExceptionIsInternal) {
  auto s = Map(std::make_exception_ptr(42));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INTERNAL);
}

TEST(ValidationError, CarriesBadRequestDetailsReadableAsGoogleRpcStatus) {
  rpcforge::ValidationError err;
  EXPECT_TRUE(err.empty());
  EXPECT_NO_THROW(err.ThrowIfAny());
  err.Add("title", "Ensure this field has no more than 100 characters.");
  err.Add("content", "This field may not be blank.");
  EXPECT_THROW(err.ThrowIfAny(), rpcforge::ValidationError);

  grpc::Status s = Map(std::make_exception_ptr(err));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("title"));
  google::rpc::Status status;
  ASSERT_TRUE(status.ParseFromString(s.error_details()));
  EXPECT_EQ(status.code(), 3);
  ASSERT_EQ(status.details_size(), 1);
  google::rpc::BadRequest br;
  ASSERT_TRUE(status.details(0).UnpackTo(&br));
  ASSERT_EQ(br.field_violations_size(), 2);
  EXPECT_EQ(br.field_violations(0).field(), "title");
  EXPECT_EQ(br.field_violations(1).description(), "This field may not be blank.");
  EXPECT_EQ(status.details(0).type_url(), "type.googleapis.com/google.rpc.BadRequest");
}

TEST(StatusCodeName, RoundTripsEveryCode) {
  for (int i = 0; i <= 16; ++i) {
    grpc::StatusCode code;
    ASSERT_TRUE(rpcforge::ParseStatusCodeName(
        rpcforge::StatusCodeName(static_cast<grpc::StatusCode>(i)), &code));
    EXPECT_EQ(static_cast<int>(code), i);
  }
  grpc::StatusCode code;
  EXPECT_FALSE(rpcforge::ParseStatusCodeName("NOPE", &code));
  EXPECT_STREQ(rpcforge::StatusCodeName(grpc::StatusCode::DEADLINE_EXCEEDED), "DEADLINE_EXCEEDED");
}
