// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/testing/matchers.h"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/text_format.h>
#include <google/protobuf/util/field_comparator.h>
#include <google/protobuf/util/message_differencer.h>

#include <cctype>
#include <sstream>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "rpcforge/errors.h"

namespace grpc {

void PrintTo(const Status& status, std::ostream* os) {
  *os << rpcforge::StatusCodeName(status.error_code());
  if (!status.error_message().empty() || !status.ok()) {
    *os << ": " << ::testing::PrintToString(status.error_message());
  }
  if (!status.error_details().empty()) {
    *os << " (with " << status.error_details().size() << " bytes of details)";
  }
}

}  // namespace grpc

namespace rpcforge::testing_internal {
namespace {

using google::protobuf::Message;
using google::protobuf::TextFormat;
using google::protobuf::util::DefaultFieldComparator;
using google::protobuf::util::MessageDifferencer;

std::string Quote(const std::string& s) { return ::testing::PrintToString(s); }

void PrintStatus(const grpc::Status& status, ::testing::MatchResultListener* listener) {
  *listener << "whose code is " << StatusCodeName(status.error_code()) << " and message is "
            << Quote(status.error_message());
}

// Collects TextFormat parse errors as "line L, column C: message".
class ParseErrors : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    Add("error", line, column, message);
  }
  void AddWarning(int line, google::protobuf::io::ColumnNumber column,
                  const std::string& message) override {
    Add("warning", line, column, message);
  }
  const std::string& text() const { return text_; }

 private:
  void Add(const char* kind, int line, int column, const std::string& message) {
    if (!text_.empty()) text_ += "; ";
    text_ += kind;
    text_ += " at line " + std::to_string(line + 1) + ", column " + std::to_string(column + 1) +
             ": " + message;
  }
  std::string text_;
};

std::string OptionsSuffix(const ProtoCompareOptions& options) {
  std::string s;
  if (options.ignore_repeated_order) s += ", ignoring repeated field ordering";
  if (options.approximate) {
    s += ", comparing floating point fields approximately";
    if (options.has_tolerance) {
      std::ostringstream os;
      os << " (margin " << options.margin << ", fraction " << options.fraction << ")";
      s += os.str();
    }
  }
  return s;
}

// Every BadRequest field violation in the status details, or an explanation of why
// there are none.
bool ExtractViolations(const grpc::Status& status,
                       std::vector<std::pair<std::string, std::string>>* violations,
                       std::string* why_none) {
  if (status.error_details().empty()) {
    *why_none = "which has no error details (no BadRequest details)";
    return false;
  }
  google::rpc::Status details;
  if (!details.ParseFromString(status.error_details())) {
    *why_none = "whose error details do not parse as google.rpc.Status";
    return false;
  }
  bool found = false;
  for (const auto& any : details.details()) {
    if (!any.Is<google::rpc::BadRequest>()) continue;
    google::rpc::BadRequest bad_request;
    if (!any.UnpackTo(&bad_request)) continue;
    found = true;
    for (const auto& v : bad_request.field_violations()) {
      violations->emplace_back(v.field(), v.description());
    }
  }
  if (!found) {
    std::string types;
    for (const auto& any : details.details()) {
      types += types.empty() ? "" : ", ";
      types += any.type_url();
    }
    *why_none = "which has no BadRequest details (details present: " +
                (types.empty() ? std::string("none") : types) + ")";
    return false;
  }
  return true;
}

}  // namespace

// --- StatusIsMatcher

bool StatusIsMatcher::MatchAndExplain(const grpc::Status& status,
                                      ::testing::MatchResultListener* listener) const {
  PrintStatus(status, listener);
  if (status.error_code() != code_) return false;
  if (!message_) return true;
  ::testing::StringMatchResultListener inner;
  bool ok = message_->MatchAndExplain(status.error_message(), &inner);
  if (!ok && !inner.str().empty()) *listener << ", message " << inner.str();
  return ok;
}

void StatusIsMatcher::DescribeTo(std::ostream* os) const {
  if (code_ == grpc::StatusCode::OK && !message_) {
    *os << "is OK";
    return;
  }
  *os << "has code " << StatusCodeName(code_);
  if (message_) {
    *os << " and a message that ";
    message_->DescribeTo(os);
  }
}

void StatusIsMatcher::DescribeNegationTo(std::ostream* os) const {
  if (code_ == grpc::StatusCode::OK && !message_) {
    *os << "is not OK";
    return;
  }
  *os << "doesn't have code " << StatusCodeName(code_);
  if (message_) {
    *os << " or has a message that ";
    message_->DescribeNegationTo(os);
  }
}

// --- FieldViolationMatcher

bool FieldViolationMatcher::MatchAndExplain(const grpc::Status& status,
                                            ::testing::MatchResultListener* listener) const {
  std::vector<std::pair<std::string, std::string>> violations;
  std::string why_none;
  if (!ExtractViolations(status, &violations, &why_none)) {
    *listener << why_none << " (status " << StatusCodeName(status.error_code()) << ": "
              << Quote(status.error_message()) << ")";
    return false;
  }
  bool matched = false;
  for (const auto& [field, description] : violations) {
    if (field != field_) continue;
    if (!description_ || description_->Matches(description)) {
      matched = true;
      break;
    }
  }
  *listener << "whose BadRequest field violations are ";
  if (violations.empty()) {
    *listener << "empty";
  } else {
    *listener << "[";
    for (size_t i = 0; i < violations.size(); ++i) {
      *listener << (i == 0 ? "" : ", ") << violations[i].first << ": "
                << Quote(violations[i].second);
    }
    *listener << "]";
  }
  return matched;
}

void FieldViolationMatcher::DescribeTo(std::ostream* os) const {
  *os << "has a BadRequest field violation for " << Quote(field_);
  if (description_) {
    *os << " whose description ";
    description_->DescribeTo(os);
  }
}

void FieldViolationMatcher::DescribeNegationTo(std::ostream* os) const {
  *os << "has no BadRequest field violation for " << Quote(field_);
  if (description_) {
    *os << " whose description ";
    description_->DescribeTo(os);
  }
}

// --- Proto matchers

bool CompareProto(const Message* expected_message, const std::string& expected_text,
                  const ProtoCompareOptions& options, const Message& actual,
                  std::string* explanation) {
  const auto* actual_type = actual.GetDescriptor();
  std::unique_ptr<Message> parsed;
  const Message* expected = expected_message;
  if (expected == nullptr) {
    parsed.reset(actual.New());
    TextFormat::Parser parser;
    ParseErrors errors;
    parser.RecordErrorsTo(&errors);
    if (!parser.ParseFromString(expected_text, parsed.get())) {
      *explanation = "but the expected text format does not parse as " + actual_type->full_name() +
                     ": " + errors.text();
      return false;
    }
    expected = parsed.get();
  }
  if (expected->GetDescriptor() != actual_type) {
    *explanation = "which is a " + actual_type->full_name() + ", not a " +
                   expected->GetDescriptor()->full_name();
    return false;
  }

  MessageDifferencer differencer;
  DefaultFieldComparator comparator;
  if (options.approximate) {
    comparator.set_float_comparison(DefaultFieldComparator::APPROXIMATE);
    if (options.has_tolerance) {
      comparator.SetDefaultFractionAndMargin(options.fraction, options.margin);
    }
    differencer.set_field_comparator(&comparator);
  }
  if (options.partial) differencer.set_scope(MessageDifferencer::PARTIAL);
  if (options.ignore_repeated_order) {
    differencer.set_repeated_field_comparison(MessageDifferencer::AS_SET);
  }
  std::string diff;
  bool equal;
  {
    google::protobuf::io::StringOutputStream out(&diff);
    MessageDifferencer::StreamReporter reporter(&out);
    reporter.SetMessages(*expected, actual);  // lets the diff name map keys
    differencer.ReportDifferencesTo(&reporter);
    equal = differencer.Compare(*expected, actual);
  }  // the reporter flushes into `diff` here
  if (!equal) {
    while (!diff.empty() && diff.back() == '\n') diff.pop_back();
    *explanation = "with the differences (expected -> actual):\n" + diff;
  }
  return equal;
}

std::string DescribeProtoExpectation(const Message* expected_message,
                                     const std::string& expected_text,
                                     const ProtoCompareOptions& options, bool negation) {
  std::string s = negation ? "is not " : "is ";
  s += options.partial ? "partially equal to " : "equal to ";
  if (expected_message != nullptr) {
    s += expected_message->GetDescriptor()->full_name() + " <" +
         expected_message->ShortDebugString() + ">";
  } else {
    s += "<" + expected_text + ">";
  }
  return s + OptionsSuffix(options);
}

// --- Metadata

bool MetadataKeyEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

bool MatchMetadata(const std::string& key,
                   const std::optional<::testing::Matcher<const std::string&>>& value,
                   const std::vector<std::pair<std::string, std::string>>& entries,
                   ::testing::MatchResultListener* listener) {
  std::vector<std::string> values;
  std::vector<std::string> keys;
  for (const auto& [k, v] : entries) {
    if (MetadataKeyEquals(k, key)) values.push_back(v);
    if (keys.empty() || keys.back() != k) keys.push_back(k);
  }
  if (values.empty()) {
    if (entries.empty()) {
      *listener << "which has no metadata at all";
    } else {
      *listener << "which has no key " << Quote(key) << "; keys present: ";
      for (size_t i = 0; i < keys.size(); ++i) *listener << (i ? ", " : "") << keys[i];
    }
    return false;
  }
  *listener << "whose values for " << Quote(key) << " are " << ::testing::PrintToString(values);
  if (!value) return true;
  for (const auto& v : values) {
    if (value->Matches(v)) return true;
  }
  *listener << ", none of which matches";
  return false;
}

void DescribeMetadata(const std::string& key,
                      const std::optional<::testing::Matcher<const std::string&>>& value,
                      bool negation, std::ostream* os) {
  *os << (negation ? "has no metadata " : "has metadata ") << Quote(key);
  if (value) {
    *os << " with a value that ";
    value->DescribeTo(os);
  }
}

}  // namespace rpcforge::testing_internal

namespace rpcforge::testing {

using testing_internal::ProtoMatcherImpl;

::testing::Matcher<const grpc::Status&> IsOk() {
  return ::testing::MakeMatcher(
      new testing_internal::StatusIsMatcher(grpc::StatusCode::OK, std::nullopt));
}

::testing::Matcher<const grpc::Status&> StatusIs(grpc::StatusCode code) {
  return ::testing::MakeMatcher(new testing_internal::StatusIsMatcher(code, std::nullopt));
}

::testing::Matcher<const grpc::Status&> StatusIs(
    grpc::StatusCode code, ::testing::Matcher<const std::string&> message_matcher) {
  return ::testing::MakeMatcher(
      new testing_internal::StatusIsMatcher(code, std::move(message_matcher)));
}

::testing::Matcher<const grpc::Status&> HasFieldViolation(std::string field) {
  return ::testing::MakeMatcher(
      new testing_internal::FieldViolationMatcher(std::move(field), std::nullopt));
}

::testing::Matcher<const grpc::Status&> HasFieldViolation(
    std::string field, ::testing::Matcher<const std::string&> description_matcher) {
  return ::testing::MakeMatcher(new testing_internal::FieldViolationMatcher(
      std::move(field), std::move(description_matcher)));
}

ProtoMatcher EqualsProto(const google::protobuf::Message& expected) {
  std::shared_ptr<google::protobuf::Message> copy(expected.New());
  copy->CopyFrom(expected);
  return ::testing::MakePolymorphicMatcher(ProtoMatcherImpl(std::move(copy), ""));
}

ProtoMatcher EqualsProto(std::string text_format) {
  return ::testing::MakePolymorphicMatcher(ProtoMatcherImpl(nullptr, std::move(text_format)));
}

ProtoMatcher Partially(ProtoMatcher matcher) {
  matcher.mutable_impl().options().partial = true;
  return matcher;
}

ProtoMatcher IgnoringRepeatedFieldOrdering(ProtoMatcher matcher) {
  matcher.mutable_impl().options().ignore_repeated_order = true;
  return matcher;
}

ProtoMatcher Approximately(ProtoMatcher matcher) {
  matcher.mutable_impl().options().approximate = true;
  return matcher;
}

ProtoMatcher Approximately(ProtoMatcher matcher, double margin, double fraction) {
  auto& options = matcher.mutable_impl().options();
  options.approximate = true;
  options.has_tolerance = true;
  options.margin = margin;
  options.fraction = fraction;
  return matcher;
}

ProtoMatcher ApproximatelyEqualsProto(const google::protobuf::Message& expected) {
  return Approximately(EqualsProto(expected));
}
ProtoMatcher ApproximatelyEqualsProto(const google::protobuf::Message& expected, double margin,
                                      double fraction) {
  return Approximately(EqualsProto(expected), margin, fraction);
}
ProtoMatcher ApproximatelyEqualsProto(std::string text_format) {
  return Approximately(EqualsProto(std::move(text_format)));
}
ProtoMatcher ApproximatelyEqualsProto(std::string text_format, double margin, double fraction) {
  return Approximately(EqualsProto(std::move(text_format)), margin, fraction);
}

MetadataMatcher HasMetadata(std::string key) {
  return ::testing::MakePolymorphicMatcher(
      testing_internal::MetadataMatcherImpl(std::move(key), std::nullopt));
}

MetadataMatcher HasMetadata(std::string key, ::testing::Matcher<const std::string&> value_matcher) {
  return ::testing::MakePolymorphicMatcher(
      testing_internal::MetadataMatcherImpl(std::move(key), std::move(value_matcher)));
}

}  // namespace rpcforge::testing
