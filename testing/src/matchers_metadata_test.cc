// SPDX-License-Identifier: Apache-2.0
// Tests for HasMetadata over the metadata containers gRPC and FakeContext return.
#include <gmock/gmock.h>
#include <grpcpp/support/string_ref.h>
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "rpcforge/testing/matchers.h"

namespace {

using ::rpcforge::testing::HasMetadata;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

template <typename M, typename T>
std::string Explain(const M& matcher, const T& value, bool* matched) {
  ::testing::StringMatchResultListener listener;
  *matched = ::testing::ExplainMatchResult(matcher, value, &listener);
  return listener.str();
}

// Backing storage for string_ref metadata, as grpc::ClientContext keeps it.
struct ClientMetadata {
  std::vector<std::string> storage{"x-request-id", "abc-123", "x-tag",        "one",
                                   "x-tag",        "two",     "content-type", "application/grpc"};
  std::multimap<grpc::string_ref, grpc::string_ref> map() const {
    std::multimap<grpc::string_ref, grpc::string_ref> m;
    for (size_t i = 0; i + 1 < storage.size(); i += 2) {
      m.emplace(grpc::string_ref(storage[i]), grpc::string_ref(storage[i + 1]));
    }
    return m;
  }
};

}  // namespace

TEST(HasMetadataTest, StringRefMultimap) {
  ClientMetadata md;
  auto m = md.map();
  EXPECT_THAT(m, HasMetadata("x-request-id"));
  EXPECT_THAT(m, HasMetadata("x-request-id", "abc-123"));
  EXPECT_THAT(m, HasMetadata("x-request-id", StartsWith("abc")));
  EXPECT_THAT(m, HasMetadata("x-tag", "two"));  // any of several values
  EXPECT_THAT(m, Not(HasMetadata("x-tag", "three")));
  EXPECT_THAT(m, Not(HasMetadata("x-missing")));
  EXPECT_THAT(&m, HasMetadata("x-tag"));
}

TEST(HasMetadataTest, StringMultimapAndOtherContainers) {
  std::multimap<std::string, std::string> m{{"retry-after", "30"}, {"x-tag", "a"}};
  EXPECT_THAT(m, HasMetadata("retry-after", "30"));
  EXPECT_THAT(m, Not(HasMetadata("retry-after", "31")));
  std::map<std::string, std::string> plain{{"k", "v"}};
  EXPECT_THAT(plain, HasMetadata("k", "v"));
  std::vector<std::pair<std::string, std::string>> pairs{{"k", "v"}};
  EXPECT_THAT(pairs, HasMetadata("k"));
}

TEST(HasMetadataTest, KeysAreCaseInsensitive) {
  std::multimap<std::string, std::string> m{{"x-request-id", "1"}};
  EXPECT_THAT(m, HasMetadata("X-Request-ID", "1"));
  std::multimap<std::string, std::string> upper{{"X-Upper", "1"}};
  EXPECT_THAT(upper, HasMetadata("x-upper"));
}

TEST(HasMetadataTest, MissingKeyListsKeysPresent) {
  ClientMetadata md;
  bool matched = true;
  std::string why = Explain(HasMetadata("x-missing"), md.map(), &matched);
  EXPECT_FALSE(matched);
  EXPECT_EQ(why, "which has no key \"x-missing\"; keys present: content-type, x-request-id, x-tag");
}

TEST(HasMetadataTest, EmptyMetadata) {
  std::multimap<std::string, std::string> m;
  bool matched = true;
  EXPECT_EQ(Explain(HasMetadata("k"), m, &matched), "which has no metadata at all");
  EXPECT_FALSE(matched);
}

TEST(HasMetadataTest, WrongValueListsValues) {
  ClientMetadata md;
  bool matched = true;
  std::string why = Explain(HasMetadata("x-tag", "three"), md.map(), &matched);
  EXPECT_FALSE(matched);
  EXPECT_EQ(why, "whose values for \"x-tag\" are { \"one\", \"two\" }, none of which matches");
  using Map = std::multimap<std::string, std::string>;
  EXPECT_EQ(::testing::DescribeMatcher<const Map&>(HasMetadata("x-tag", HasSubstr("th"))),
            "has metadata \"x-tag\" with a value that has substring \"th\"");
}

TEST(HasMetadataTest, ReportsThroughGtest) {
  std::multimap<std::string, std::string> m{{"a", "1"}};
  EXPECT_NONFATAL_FAILURE(EXPECT_THAT(m, HasMetadata("b")), "keys present: a");
}
