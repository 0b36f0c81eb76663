// SPDX-License-Identifier: Apache-2.0
// The implementation of rpcforge/testing/matchers.h: the matcher classes its factories
// return. Not for direct use.
#ifndef RPCFORGE_TESTING_INTERNAL_MATCHERS_IMPL_H_
#define RPCFORGE_TESTING_INTERNAL_MATCHERS_IMPL_H_

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

namespace rpcforge::testing_internal {

// ---------------------------------------------------------------------------------
// Status matchers.

class StatusIsMatcher : public ::testing::MatcherInterface<const grpc::Status&> {
 public:
  StatusIsMatcher(grpc::StatusCode code,
                  std::optional<::testing::Matcher<const std::string&>> message)
      : code_(code), message_(std::move(message)) {}
  bool MatchAndExplain(const grpc::Status& status,
                       ::testing::MatchResultListener* listener) const override;
  void DescribeTo(std::ostream* os) const override;
  void DescribeNegationTo(std::ostream* os) const override;

 private:
  grpc::StatusCode code_;
  std::optional<::testing::Matcher<const std::string&>> message_;
};

class FieldViolationMatcher : public ::testing::MatcherInterface<const grpc::Status&> {
 public:
  FieldViolationMatcher(std::string field,
                        std::optional<::testing::Matcher<const std::string&>> description)
      : field_(std::move(field)), description_(std::move(description)) {}
  bool MatchAndExplain(const grpc::Status& status,
                       ::testing::MatchResultListener* listener) const override;
  void DescribeTo(std::ostream* os) const override;
  void DescribeNegationTo(std::ostream* os) const override;

 private:
  std::string field_;
  std::optional<::testing::Matcher<const std::string&>> description_;
};

// ---------------------------------------------------------------------------------
// Proto matchers.

// How two messages are compared; the wrappers (Partially, ...) set one flag each.
struct ProtoCompareOptions {
  bool partial = false;                // only fields set in the expected message
  bool ignore_repeated_order = false;  // repeated fields compared as multisets
  bool approximate = false;            // float/double compared with a tolerance
  double margin = 0;                   // absolute tolerance (approximate only)
  double fraction = 0;                 // relative tolerance (approximate only)
  bool has_tolerance = false;          // margin/fraction given; else a few ULPs
};

// Compares `actual` with the expected message (given as a message or as text format
// parsed against actual's type). Returns true when equal; otherwise writes the reason
// (type mismatch, parse error, or the field diff) to `*explanation`.
bool CompareProto(const google::protobuf::Message* expected_message,
                  const std::string& expected_text, const ProtoCompareOptions& options,
                  const google::protobuf::Message& actual, std::string* explanation);
std::string DescribeProtoExpectation(const google::protobuf::Message* expected_message,
                                     const std::string& expected_text,
                                     const ProtoCompareOptions& options, bool negation);

// AsMessage turns every supported argument form into a message pointer (maybe null).
inline const google::protobuf::Message* AsMessage(const google::protobuf::Message& m) { return &m; }
inline const google::protobuf::Message* AsMessage(const google::protobuf::Message* m) { return m; }
template <typename T, typename D>
const google::protobuf::Message* AsMessage(const std::unique_ptr<T, D>& p) {
  return p.get();
}
template <typename T>
const google::protobuf::Message* AsMessage(const std::shared_ptr<T>& p) {
  return p.get();
}

// ProtoMatcherImpl is the polymorphic implementation behind EqualsProto and its
// wrappers. Copyable; the expected message is shared and never modified.
class ProtoMatcherImpl {
 public:
  ProtoMatcherImpl(std::shared_ptr<const google::protobuf::Message> expected, std::string text)
      : expected_(std::move(expected)), text_(std::move(text)) {}

  template <typename T>
  bool MatchAndExplain(const T& arg, ::testing::MatchResultListener* listener) const {
    const google::protobuf::Message* actual = AsMessage(arg);
    if (actual == nullptr) {
      *listener << "which is a null pointer";
      return false;
    }
    std::string explanation;
    bool equal = CompareProto(expected_.get(), text_, options_, *actual, &explanation);
    if (!explanation.empty()) *listener << explanation;
    return equal;
  }
  void DescribeTo(std::ostream* os) const {
    *os << DescribeProtoExpectation(expected_.get(), text_, options_, false);
  }
  void DescribeNegationTo(std::ostream* os) const {
    *os << DescribeProtoExpectation(expected_.get(), text_, options_, true);
  }

  ProtoCompareOptions& options() { return options_; }

 private:
  std::shared_ptr<const google::protobuf::Message> expected_;  // null: use text_
  std::string text_;
  ProtoCompareOptions options_;
};

// ---------------------------------------------------------------------------------
// Metadata matcher.

inline std::string_view MetadataText(const grpc::string_ref& s) {
  return std::string_view(s.data(), s.size());
}
inline std::string_view MetadataText(const std::string& s) { return s; }
inline std::string_view MetadataText(std::string_view s) { return s; }
inline std::string_view MetadataText(const char* s) { return s; }

bool MetadataKeyEquals(std::string_view a, std::string_view b);
bool MatchMetadata(const std::string& key,
                   const std::optional<::testing::Matcher<const std::string&>>& value,
                   const std::vector<std::pair<std::string, std::string>>& entries,
                   ::testing::MatchResultListener* listener);
void DescribeMetadata(const std::string& key,
                      const std::optional<::testing::Matcher<const std::string&>>& value,
                      bool negation, std::ostream* os);

class MetadataMatcherImpl {
 public:
  MetadataMatcherImpl(std::string key, std::optional<::testing::Matcher<const std::string&>> value)
      : key_(std::move(key)), value_(std::move(value)) {}

  // Any container of key/value pairs whose parts are `grpc::string_ref` or convert to
  // `std::string_view`: std::multimap<grpc::string_ref, grpc::string_ref>,
  // std::multimap<std::string, std::string>, std::map, std::vector<std::pair<...>>.
  template <typename Container>
  bool MatchAndExplain(const Container& metadata, ::testing::MatchResultListener* listener) const {
    if constexpr (std::is_pointer_v<Container>) {
      if (metadata == nullptr) {
        *listener << "which is a null pointer";
        return false;
      }
      return MatchAndExplain(*metadata, listener);
    } else {
      std::vector<std::pair<std::string, std::string>> entries;
      for (const auto& entry : metadata) {
        entries.emplace_back(std::string(MetadataText(entry.first)),
                             std::string(MetadataText(entry.second)));
      }
      return MatchMetadata(key_, value_, entries, listener);
    }
  }
  void DescribeTo(std::ostream* os) const { DescribeMetadata(key_, value_, false, os); }
  void DescribeNegationTo(std::ostream* os) const { DescribeMetadata(key_, value_, true, os); }

 private:
  std::string key_;
  std::optional<::testing::Matcher<const std::string&>> value_;
};

}  // namespace rpcforge::testing_internal

#endif  // RPCFORGE_TESTING_INTERNAL_MATCHERS_IMPL_H_
