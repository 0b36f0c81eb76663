// SPDX-License-Identifier: Apache-2.0
// gMock matchers for what rpcforge tests check most: gRPC statuses, protobuf messages,
// metadata and `google.rpc.BadRequest` field violations. Every matcher explains a
// failure in terms of the value: the status code by name, a field-by-field proto diff,
// the metadata keys present, the violations present.
//
//   using namespace rpcforge::testing;
//   EXPECT_THAT(stub->GetPost(&ctx, req, &resp), IsOk());
//   EXPECT_THAT(status, StatusIs(grpc::StatusCode::NOT_FOUND, HasSubstr("Post")));
//   EXPECT_THAT(resp, Partially(EqualsProto(R"pb(title: "Hello")pb")));
//   EXPECT_THAT(ctx.GetServerTrailingMetadata(), HasMetadata("x-request-id"));
//   EXPECT_THAT(status, HasFieldViolation("title", HasSubstr("100 characters")));
//
// There is deliberately no "is not OK" matcher: assert the exact code with `StatusIs`
// (abseil's status_matchers.h makes the same choice).
#ifndef RPCFORGE_TESTING_MATCHERS_H_
#define RPCFORGE_TESTING_MATCHERS_H_

#include <gmock/gmock.h>
#include <google/protobuf/message.h>
#include <grpcpp/support/status.h>
#include <grpcpp/support/string_ref.h>

#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "rpcforge/testing/internal/matchers_impl.h"

namespace grpc {
// PrintTo makes gtest print a `grpc::Status` as `NOT_FOUND: "message"` (plus the size
// of the binary details, if any) instead of its raw bytes.
void PrintTo(const Status& status, std::ostream* os);
}  // namespace grpc

namespace rpcforge::testing {

// ---------------------------------------------------------------------------------
// grpc::Status

// IsOk matches a `grpc::Status` whose code is OK. On failure it prints the code by
// name and the message.
::testing::Matcher<const grpc::Status&> IsOk();

// StatusIs matches a `grpc::Status` with the given code, and (second form) whose
// error message matches `message_matcher` — a string (exact) or any string matcher
// such as `HasSubstr("Post")`. Failures print the actual code by name and message.
::testing::Matcher<const grpc::Status&> StatusIs(grpc::StatusCode code);
::testing::Matcher<const grpc::Status&> StatusIs(
    grpc::StatusCode code, ::testing::Matcher<const std::string&> message_matcher);

// HasFieldViolation matches a `grpc::Status` whose binary details
// (`error_details()`, i.e. `grpc-status-details-bin`) decode as `google.rpc.Status`
// holding a `google.rpc.BadRequest` with a violation for exactly `field` whose
// description matches `description_matcher` (any description in the first form).
// Failures list the violations present, or say there are no BadRequest details.
::testing::Matcher<const grpc::Status&> HasFieldViolation(std::string field);
::testing::Matcher<const grpc::Status&> HasFieldViolation(
    std::string field, ::testing::Matcher<const std::string&> description_matcher);

// ---------------------------------------------------------------------------------
// Protobuf messages

// ProtoMatcher is what EqualsProto and its wrappers return. It matches any message
// type, given as `const T&`, `const T*`, `std::unique_ptr<T>` or `std::shared_ptr<T>`
// (a null pointer never matches), and composes:
//   Partially(IgnoringRepeatedFieldOrdering(EqualsProto(expected)))
// Failures show a field-by-field diff from the expected to the actual message
// (`modified: a.b: 1 -> 2`, `added: c: 3` = only in actual, `deleted: d: 4` = only in
// expected), produced by `google::protobuf::util::MessageDifferencer`.
using ProtoMatcher = ::testing::PolymorphicMatcher<testing_internal::ProtoMatcherImpl>;

// EqualsProto matches a message equal to `expected` (same type, same fields; floats
// compared exactly). A copy of `expected` is taken.
ProtoMatcher EqualsProto(const google::protobuf::Message& expected);

// EqualsProto parses `text_format` (protobuf text format) as a message of the
// argument's own type and compares with it. Text that does not parse is a test
// failure naming the line, column and error.
ProtoMatcher EqualsProto(std::string text_format);

// Partially compares only the fields set in the expected message; fields the
// expected message leaves unset may hold anything. In proto3, scalars without
// `optional` are "set" only when non-default, so `id: 0` cannot be checked this way.
ProtoMatcher Partially(ProtoMatcher matcher);

// IgnoringRepeatedFieldOrdering compares every repeated field (at any depth) as a
// multiset: same elements, same counts, any order.
ProtoMatcher IgnoringRepeatedFieldOrdering(ProtoMatcher matcher);

// Approximately compares float and double fields with a tolerance: with no margin and
// fraction, a few ULPs; otherwise equal when |a-b| <= margin or
// |a-b| <= fraction * max(|a|, |b|). Other fields are compared exactly.
ProtoMatcher Approximately(ProtoMatcher matcher);
ProtoMatcher Approximately(ProtoMatcher matcher, double margin, double fraction = 0.0);

// ApproximatelyEqualsProto is `Approximately(EqualsProto(expected)[, margin, fraction])`.
ProtoMatcher ApproximatelyEqualsProto(const google::protobuf::Message& expected);
ProtoMatcher ApproximatelyEqualsProto(const google::protobuf::Message& expected, double margin,
                                      double fraction = 0.0);
ProtoMatcher ApproximatelyEqualsProto(std::string text_format);
ProtoMatcher ApproximatelyEqualsProto(std::string text_format, double margin,
                                      double fraction = 0.0);

// ---------------------------------------------------------------------------------
// Metadata

// MetadataMatcher is what HasMetadata returns.
using MetadataMatcher = ::testing::PolymorphicMatcher<testing_internal::MetadataMatcherImpl>;

// HasMetadata matches metadata holding `key` (compared case-insensitively, as gRPC
// keys are) with at least one value matching `value_matcher` (a string or a string
// matcher), or with any value in the first form. It accepts any container of
// key/value pairs, or a pointer to one, notably:
//   - `std::multimap<grpc::string_ref, grpc::string_ref>`, returned by
//     `grpc::ClientContext::GetServerInitialMetadata()` / `GetServerTrailingMetadata()`
//     and `grpc::ServerContext::client_metadata()`;
//   - `std::multimap<std::string, std::string>`, returned by FakeContext.
// Failures list the keys present, or the values of `key` when none matches.
MetadataMatcher HasMetadata(std::string key);
MetadataMatcher HasMetadata(std::string key, ::testing::Matcher<const std::string&> value_matcher);

}  // namespace rpcforge::testing

#endif  // RPCFORGE_TESTING_MATCHERS_H_
