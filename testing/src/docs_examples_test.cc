// SPDX-License-Identifier: Apache-2.0
// The examples of docs/testing-matchers.md. Each block between "// [name]" and
// "// [name end]" is quoted in the doc; keep them short and keep them compiling.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <map>
#include <regex>
#include <string>

#include "rpcforge/errors.h"
#include "rpcforge/log.h"
#include "rpcforge/testing/fake_clock.h"
#include "rpcforge/testing/fake_time_process.h"
#include "rpcforge/testing/log_capture.h"
#include "rpcforge/testing/matchers.h"
#include "testdata/test_messages.pb.h"

namespace {

using rpcforge::testing::test::Post;

// Stand-ins for what a real test would get from a stub or a FakeContext.
grpc::Status GetMissingPost() {
  return grpc::Status(grpc::StatusCode::NOT_FOUND, "Post 7 not found");
}
grpc::Status CreateInvalidPost() {
  rpcforge::ValidationError err;
  err.Add("title", "Ensure this field has no more than 100 characters.");
  return err.ToStatus();
}
Post CreatedPost() {
  Post p;
  p.set_id(1);
  p.set_title("Hello");
  p.add_tags("grpc");
  p.add_tags("c++");
  p.set_score(0.1 + 0.2);
  return p;
}

// A toy component that reads time through rpcforge::Clock, as framework code does.
class ApiKey {
 public:
  ApiKey(const rpcforge::Clock& clock, std::chrono::seconds ttl)
      : clock_(clock), expires_(clock.Now() + ttl) {}
  bool valid() const { return clock_.Now() < expires_; }

 private:
  const rpcforge::Clock& clock_;
  rpcforge::Clock::TimePoint expires_;
};

}  // namespace

// [status]
TEST(DocsExample, Status) {
  using namespace rpcforge::testing;
  using ::testing::HasSubstr;

  EXPECT_THAT(grpc::Status::OK, IsOk());
  EXPECT_THAT(GetMissingPost(), StatusIs(grpc::StatusCode::NOT_FOUND));
  EXPECT_THAT(GetMissingPost(), StatusIs(grpc::StatusCode::NOT_FOUND, HasSubstr("Post 7")));
  EXPECT_THAT(CreateInvalidPost(), HasFieldViolation("title", HasSubstr("100 characters")));
}
// [status end]

// [proto]
TEST(DocsExample, Proto) {
  using namespace rpcforge::testing;

  Post post = CreatedPost();
  EXPECT_THAT(post, Partially(EqualsProto(R"pb(id: 1 title: "Hello")pb")));
  EXPECT_THAT(post, Partially(IgnoringRepeatedFieldOrdering(EqualsProto(R"pb(tags: "c++"
                                                                             tags: "grpc")pb"))));
  EXPECT_THAT(post, Partially(ApproximatelyEqualsProto(R"pb(score: 0.3)pb")));
  EXPECT_THAT(&post, Partially(ApproximatelyEqualsProto("score: 0.29", /*margin=*/0.02)));

  Post expected;
  expected.set_id(1);
  EXPECT_THAT(post, ::testing::Not(EqualsProto(expected)));  // title, tags, score differ
}
// [proto end]

// [metadata]
TEST(DocsExample, Metadata) {
  using namespace rpcforge::testing;
  using ::testing::StartsWith;

  // What FakeContext returns; grpc::ClientContext::GetServerTrailingMetadata()
  // returns a std::multimap<grpc::string_ref, grpc::string_ref> and works the same.
  std::multimap<std::string, std::string> trailers{{"x-request-id", "req-42"}};
  EXPECT_THAT(trailers, HasMetadata("x-request-id"));
  EXPECT_THAT(trailers, HasMetadata("X-Request-Id", StartsWith("req-")));
}
// [metadata end]

// [fake_clock]
TEST(DocsExample, FakeClock) {
  rpcforge::testing::FakeClock clock;  // 2026-01-01T00:00:00Z, until moved
  ApiKey key(clock, std::chrono::hours(1));
  EXPECT_TRUE(key.valid());
  clock.Advance(std::chrono::minutes(61));
  EXPECT_FALSE(key.valid());
}
// [fake_clock end]

// [log_capture]
TEST(DocsExample, LogCapture) {
  rpcforge::testing::LogCapture logs(rpcforge::log::Level::kDebug);
  rpcforge::log::Write(rpcforge::log::Level::kWarn, "slow call: 1200 ms", "server");

  EXPECT_TRUE(logs.Contains("slow call"));
  EXPECT_THAT(logs.lines(), ::testing::Contains("warn [server] slow call: 1200 ms"));
}
// [log_capture end]

// [fake_time_process]
TEST(DocsExample, FakeTimeProcess) {
  using namespace std::chrono_literals;
  rpcforge::testing::FakeTimeProcess child({RPCFORGE_TESTING_PRINT_TIME});
  child.SetOffset(24h);  // before Start: the child starts a day ahead
  child.Start();
  ASSERT_TRUE(child.WaitForLine(std::regex("^ready"), 10s));

  child.AdvanceBy(1h);  // while it runs: now 25 hours ahead
  child.WriteStdin("time\n");
  auto groups = child.WaitForMatch(std::regex("wall=(\\d+)"), 10s);
  ASSERT_TRUE(groups);
  EXPECT_GE(std::stoll((*groups)[1]), std::time(nullptr) + 25 * 3600 - 5);

  auto status = child.Terminate(SIGTERM, 5s);
  EXPECT_EQ(status.signal, SIGTERM) << status.ToString();
}
// [fake_time_process end]
