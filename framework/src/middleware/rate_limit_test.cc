// SPDX-License-Identifier: Apache-2.0
// The "rate_limit" middleware and its storage: every key kind, groups, per-method
// counters, the message, the fixed window (FakeClock), exact counts under real
// concurrency, unambiguous keys, eviction, rule validation and the documented examples.
#include "rpcforge/middleware/rate_limit.h"

#include <gmock/gmock.h>
#include <grpcpp/client_context.h>
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/source_file_for_tests.h"
#include "rpcforge/app.h"
#include "rpcforge/config/config.h"
#include "rpcforge/errors.h"
#include "rpcforge/testing/fake_clock.h"
#include "rpcforge/testing/fake_context.h"
#include "rpcforge/testing/matchers.h"
#include "rpcforge/testing/test_server.h"
#include "server/call_state.h"
#include "server/testdata/echo.grpc.pb.h"
#include "server/testdata/echo_service.h"

using rpcforge::AddRateLimit;
using rpcforge::InMemoryRateLimitStorage;
using rpcforge::RateLimitDecision;
using rpcforge::RateLimitRule;
using rpcforge::test::EchoRequest;
using rpcforge::test::EchoResponse;
using rpcforge::test::EchoService;
using rpcforge::testing::FakeClock;
using rpcforge::testing::FakeContext;
using rpcforge::testing::IsOk;
using rpcforge::testing::StatusIs;
using rpcforge::testing::TestServer;
using rpcforge::testing::TestServerOptions;
using rpcforge_test::EchoImpl;
using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;

namespace {

constexpr grpc::StatusCode kExhausted = grpc::StatusCode::RESOURCE_EXHAUSTED;

// Sets the Context's user from "x-user: <id>", standing in for the auth middleware.
class TestUserMiddleware : public rpcforge::Middleware {
 public:
  grpc::Status Handle(rpcforge::ServerCall& call, rpcforge::Next next) override {
    if (auto id = call.context().GetMetadata("x-user")) {
      rpcforge::auth::User user;
      user.id = std::stoll(std::string(*id));
      user.username = "user" + std::string(*id);
      rpcforge::context_internal::CallState::SetUser(call.context(), user);
    }
    return next();
  }
};

// An App with the Echo service and "test_user"; a TestServer over it whose chain is
// test_user, rate_limit, with the rules of `yaml`.
struct EchoServer {
  explicit EchoServer(const std::string& yaml = "", const FakeClock* clock = nullptr,
                      const std::function<void(rpcforge::App&)>& setup = nullptr) {
    app.AddService(echo);
    app.RegisterMiddleware("test_user", [](const rpcforge::MiddlewareEnv&) {
      return std::make_shared<TestUserMiddleware>();
    });
    if (setup) setup(app);
    TestServerOptions options;
    options.app = &app;
    options.clock = clock;
    options.config_yaml = yaml;
    options.config = {{"middlewares", "test_user,rate_limit"}};
    server = std::make_unique<TestServer>(options);
    stub = server->Stub<EchoService>();
  }

  grpc::Status Echo(const std::string& message,
                    const std::vector<std::pair<std::string, std::string>>& metadata = {}) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + seconds(30));
    for (const auto& [k, v] : metadata) ctx.AddMetadata(k, v);
    EchoRequest req;
    req.set_message(message);
    EchoResponse resp;
    return stub->Echo(&ctx, req, &resp);
  }

  grpc::Status Expand(const std::string& message,
                      const std::vector<std::pair<std::string, std::string>>& metadata = {}) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + seconds(30));
    for (const auto& [k, v] : metadata) ctx.AddMetadata(k, v);
    EchoRequest req;
    req.set_message(message);
    req.set_count(1);
    auto reader = stub->Expand(&ctx, req);
    EchoResponse resp;
    for (int i = 0; i < 10 && reader->Read(&resp); ++i) {
    }
    return reader->Finish();
  }

  grpc::Status Collect(const std::string& message) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + seconds(30));
    EchoResponse resp;
    auto writer = stub->Collect(&ctx, &resp);
    EchoRequest req;
    req.set_message(message);
    writer->Write(req);
    writer->WritesDone();
    return writer->Finish();
  }

  std::shared_ptr<EchoImpl> echo = std::make_shared<EchoImpl>();
  rpcforge::App app;
  std::unique_ptr<TestServer> server;
  std::unique_ptr<EchoService::Stub> stub;
};

std::string OneRule(const std::string& methods, int max_calls, const std::string& period,
                    const std::string& key, const std::string& group = "") {
  std::string yaml = "rate_limits:\n  - methods: [" + methods +
                     "]\n    max_calls: " + std::to_string(max_calls) + "\n    period: " + period +
                     "\n    key: \"" + key + "\"\n";
  if (!group.empty()) yaml += "    group: \"" + group + "\"\n";
  return yaml;
}

RateLimitRule Rule(std::vector<std::string> methods, uint32_t max_calls, milliseconds period,
                   std::string key = "peer", std::string group = "") {
  RateLimitRule r;
  r.methods = std::move(methods);
  r.max_calls = max_calls;
  r.period = period;
  r.key = std::move(key);
  r.group = std::move(group);
  return r;
}

rpcforge::auth::User User(int64_t id) {
  rpcforge::auth::User user;
  user.id = id;
  user.username = "user" + std::to_string(id);
  return user;
}

rpcforge::MethodInfo Method(const std::string& service, const std::string& method) {
  rpcforge::MethodInfo m;
  m.full_name = "/" + service + "/" + method;
  m.service = service;
  m.method = method;
  return m;
}

// Calls `method` of a fake service directly through `app`'s rate_limit middleware.
grpc::Status Direct(rpcforge::App& app, const rpcforge::config::v1::Config* config,
                    const FakeClock& clock, const rpcforge::MethodInfo& method, FakeContext& ctx,
                    const google::protobuf::Message* request = nullptr) {
  rpcforge::MiddlewareEnv env;
  env.clock = &clock;
  env.config = config;
  ctx.SetClock(&clock);
  return rpcforge::testing::CallThroughPipeline(
      app, ctx, method, request, [](rpcforge::Context&) {}, {"rate_limit"}, env);
}

// The first ```yaml block under the heading `heading` of docs/security.md.
std::string DocYaml(const std::string& heading) {
  const std::string doc = rpcforge::strings::ReadSourceFile("docs/security.md");
  size_t at = doc.find("\n" + heading + "\n");
  if (at == std::string::npos) return "";
  size_t begin = doc.find("```yaml\n", at);
  if (begin == std::string::npos) return "";
  begin += 8;
  size_t end = doc.find("```", begin);
  return end == std::string::npos ? "" : doc.substr(begin, end - begin);
}

}  // namespace

// ---------------------------------------------------------------- storage

TEST(RateLimit, StorageAllowsMaxCallsPerWindowThenTellsWhenToRetry) {
  FakeClock clock;
  InMemoryRateLimitStorage storage;
  std::vector<uint32_t> remaining;
  for (int i = 0; i < 3; ++i) {
    RateLimitDecision d = storage.TryAcquire("k", 3, seconds(60), clock);
    ASSERT_TRUE(d.allowed);
    EXPECT_EQ(d.retry_after, milliseconds(0));
    remaining.push_back(d.remaining);
  }
  EXPECT_THAT(remaining, ::testing::ElementsAre(2u, 1u, 0u));
  clock.Advance(milliseconds(10250));
  RateLimitDecision d = storage.TryAcquire("k", 3, seconds(60), clock);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.remaining, 0u);
  EXPECT_EQ(d.retry_after, milliseconds(49750));
}

TEST(RateLimit, WindowIsFixedAndAlignedToTheFirstCall) {
  FakeClock clock;
  InMemoryRateLimitStorage storage;
  clock.Advance(seconds(7));  // the window starts at the first call, not on a boundary
  ASSERT_TRUE(storage.TryAcquire("k", 2, seconds(60), clock).allowed);
  clock.Advance(seconds(30));
  ASSERT_TRUE(storage.TryAcquire("k", 2, seconds(60), clock).allowed);  // same window
  clock.Advance(milliseconds(29999));
  RateLimitDecision d = storage.TryAcquire("k", 2, seconds(60), clock);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after, milliseconds(1));
  clock.Advance(milliseconds(1));  // exactly 60 s after the first call: a new window
  d = storage.TryAcquire("k", 2, seconds(60), clock);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 1u);
}

TEST(RateLimit, RejectedCallsNeitherCountNorMoveTheWindow) {
  FakeClock clock;
  InMemoryRateLimitStorage storage;
  ASSERT_TRUE(storage.TryAcquire("k", 2, seconds(10), clock).allowed);
  ASSERT_TRUE(storage.TryAcquire("k", 2, seconds(10), clock).allowed);
  // 100 rejected attempts spread over the window...
  for (int i = 0; i < 100; ++i) {
    RateLimitDecision d = storage.TryAcquire("k", 2, seconds(10), clock);
    ASSERT_FALSE(d.allowed) << i;
    ASSERT_EQ(d.retry_after, milliseconds(10000 - 99 * i)) << i;
    clock.Advance(milliseconds(99));
  }
  // ...leave the end where it was (10 s after the first call), and the next window
  // has its full allowance.
  clock.Advance(milliseconds(100));
  RateLimitDecision d = storage.TryAcquire("k", 2, seconds(10), clock);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 1u);
  EXPECT_TRUE(storage.TryAcquire("k", 2, seconds(10), clock).allowed);
  EXPECT_FALSE(storage.TryAcquire("k", 2, seconds(10), clock).allowed);
}

TEST(RateLimit, StorageCountsExactlyUnderConcurrency) {
  FakeClock clock;
  InMemoryRateLimitStorage storage;
  std::atomic<int> allowed{0};
  std::promise<void> go;
  std::shared_future<void> start = go.get_future().share();
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      start.wait();
      for (int i = 0; i < 200; ++i) {
        if (storage.TryAcquire("shared", 137, seconds(60), clock).allowed) ++allowed;
        storage.TryAcquire("other" + std::to_string(i), 1, seconds(60), clock);
      }
    });
  }
  go.set_value();
  for (auto& t : threads) t.join();
  EXPECT_EQ(allowed.load(), 137);
}

TEST(RateLimit, ExpiredWindowsAreEvictedSoMemoryStaysBounded) {
  FakeClock clock;
  InMemoryRateLimitStorage storage;
  size_t largest = 0;
  for (int round = 0; round < 50; ++round) {
    for (int i = 0; i < 100; ++i) {
      storage.TryAcquire("r" + std::to_string(round) + "k" + std::to_string(i), 1, seconds(1),
                         clock);
    }
    largest = std::max(largest, storage.size());
    clock.Advance(seconds(1));
  }
  // 5000 windows were opened; only about the last round's can be held.
  EXPECT_LE(largest, 200u);
  EXPECT_GE(storage.size(), 100u);
  storage.EvictExpired(clock);
  EXPECT_EQ(storage.size(), 0u);
}

TEST(RateLimit, LiveWindowsAreNotEvicted) {
  FakeClock clock;
  InMemoryRateLimitStorage storage;
  ASSERT_TRUE(storage.TryAcquire("long", 1, seconds(100), clock).allowed);
  ASSERT_TRUE(storage.TryAcquire("short", 1, seconds(1), clock).allowed);
  clock.Advance(seconds(5));
  storage.EvictExpired(clock);
  EXPECT_EQ(storage.size(), 1u);
  EXPECT_FALSE(storage.TryAcquire("long", 1, seconds(100), clock).allowed);
}

// ---------------------------------------------------------------- key encoding

TEST(RateLimit, KeyPartsAreLengthPrefixed) {
  auto key = [](std::vector<std::string> parts) {
    std::string k;
    for (const auto& p : parts) rpcforge::rate_limit_internal::AppendKeyPart(&k, p);
    return k;
  };
  EXPECT_EQ(key({"reads", ""}), "5:reads0:");
  EXPECT_NE(key({"a:b", "c"}), key({"a", "b:c"}));
  EXPECT_NE(key({"1:a", ""}), key({"", "a"}));
  EXPECT_NE(key({"ab"}), key({"a", "b"}));
}

TEST(RateLimit, GroupAndKeyValuesNeverCollide) {
  // Joined with ":", both counters would be "group:x:metadata:y:metadata:z".
  FakeClock clock;
  EchoServer s(
      "rate_limits:\n"
      "  - {methods: [rpcforge.test.EchoService/Echo], group: \"x:metadata:y\", max_calls: 1,"
      " period: 1m, key: \"metadata:x-k\"}\n"
      "  - {methods: [rpcforge.test.EchoService/Expand], group: x, max_calls: 1,"
      " period: 1m, key: \"metadata:x-k\"}\n",
      &clock);
  EXPECT_THAT(s.Echo("1", {{"x-k", "z"}}), IsOk());
  EXPECT_THAT(s.Expand("2", {{"x-k", "y:metadata:z"}}), IsOk());
  EXPECT_THAT(s.Echo("3", {{"x-k", "z"}}), StatusIs(kExhausted));
  EXPECT_THAT(s.Expand("4", {{"x-k", "y:metadata:z"}}), StatusIs(kExhausted));
}

// ---------------------------------------------------------------- the middleware

TEST(RateLimit, MessageTellsTheLimitAndTheWaitFromTheClock) {
  FakeClock clock;
  EchoServer s(OneRule("rpcforge.test.EchoService/Echo", 1, "1m", "peer"), &clock);
  ASSERT_THAT(s.Echo("a"), IsOk());
  clock.Advance(milliseconds(10500));
  EXPECT_THAT(s.Echo("b"), StatusIs(kExhausted,
                                    "Reached limit of 1 calls per 60 seconds. Resource will be "
                                    "available in 50 seconds."));
  clock.Advance(milliseconds(49400));  // 0.1 s left: rounded up to 1
  EXPECT_THAT(s.Echo("c"), StatusIs(kExhausted,
                                    "Reached limit of 1 calls per 60 seconds. Resource will be "
                                    "available in 1 seconds."));
  clock.Advance(milliseconds(100));  // the window has ended
  EXPECT_THAT(s.Echo("d"), IsOk());
  EXPECT_THAT(s.Echo("e"), StatusIs(kExhausted, HasSubstr("available in 60 seconds")));
}

TEST(RateLimit, MessageFormatsPeriodsAndRoundsTheWaitUp) {
  EXPECT_EQ(rpcforge::FormatRateLimitMessage(5, milliseconds(500), milliseconds(1)),
            "Reached limit of 5 calls per 0.5 seconds. Resource will be available in 1 seconds.");
  EXPECT_EQ(rpcforge::FormatRateLimitMessage(2, milliseconds(1250), milliseconds(1001)),
            "Reached limit of 2 calls per 1.25 seconds. Resource will be available in 2 "
            "seconds.");
  EXPECT_EQ(rpcforge::FormatRateLimitMessage(600, std::chrono::hours(1), milliseconds(0)),
            "Reached limit of 600 calls per 3600 seconds. Resource will be available in 1 "
            "seconds.");
}

TEST(RateLimit, RejectedCallsNeverReachTheHandler) {
  FakeClock clock;
  std::atomic<int> handled{0};
  rpcforge::App app;
  AddRateLimit(app, Rule({"blog.v1.PostService"}, 2, seconds(60)));
  const auto method = Method("blog.v1.PostService", "CreatePost");
  rpcforge::MiddlewareEnv env;
  env.clock = &clock;
  int ok = 0;
  for (int i = 0; i < 5; ++i) {
    FakeContext ctx;
    ctx.SetClock(&clock);
    auto status = rpcforge::testing::CallThroughPipeline(
        app, ctx, method, nullptr, [&](rpcforge::Context&) { ++handled; }, {"rate_limit"}, env);
    ok += status.ok();
  }
  EXPECT_EQ(ok, 2);
  EXPECT_EQ(handled.load(), 2);
}

TEST(RateLimit, PeerKeyCountsPerAddressWhateverThePort) {
  FakeClock clock;
  rpcforge::App app;
  AddRateLimit(app, Rule({"blog.v1.PostService/GetPost"}, 2, seconds(60), "peer"));
  const auto m = Method("blog.v1.PostService", "GetPost");
  auto call = [&](const std::string& peer) {
    FakeContext ctx;
    ctx.SetPeer(peer);
    return Direct(app, nullptr, clock, m, ctx);
  };
  EXPECT_THAT(call("ipv4:10.0.0.1:1111"), IsOk());
  EXPECT_THAT(call("ipv4:10.0.0.1:2222"), IsOk());  // a new connection, same client
  EXPECT_THAT(call("ipv4:10.0.0.1:3333"), StatusIs(kExhausted));
  EXPECT_THAT(call("ipv4:10.0.0.2:1111"), IsOk());
  EXPECT_THAT(call("ipv6:[::1]:1"), IsOk());
}

TEST(RateLimit, PeerKeyThroughTheServer) {
  FakeClock clock;
  EchoServer s(OneRule("rpcforge.test.EchoService/Echo", 2, "1m", "peer"), &clock);
  EXPECT_THAT(s.Echo("a"), IsOk());
  EXPECT_THAT(s.Echo("b"), IsOk());
  EXPECT_THAT(s.Echo("c"), StatusIs(kExhausted));
}

TEST(RateLimit, UserKeyCountsPerUserAndAnonymousCallsShareOneCounter) {
  FakeClock clock;
  EchoServer s(OneRule("rpcforge.test.EchoService/Echo", 1, "1m", "user"), &clock);
  EXPECT_THAT(s.Echo("a", {{"x-user", "1"}}), IsOk());
  EXPECT_THAT(s.Echo("a", {{"x-user", "1"}}), StatusIs(kExhausted));
  EXPECT_THAT(s.Echo("a", {{"x-user", "2"}}), IsOk());
  EXPECT_THAT(s.Echo("a"), IsOk());  // anonymous is its own key, not user 1's or 2's
  EXPECT_THAT(s.Echo("b"), StatusIs(kExhausted));
  EXPECT_THAT(s.Echo("a", {{"x-user", "3"}}), IsOk());
}

TEST(RateLimit, MetadataKeyCountsPerValueAndAbsentIsDistinctFromEmpty) {
  FakeClock clock;
  rpcforge::App app;
  AddRateLimit(app, Rule({"blog.v1.PostService"}, 1, seconds(60), "metadata:x-tenant"));
  const auto m = Method("blog.v1.PostService", "ListPosts");
  auto call = [&](std::optional<std::string> tenant) {
    FakeContext ctx;
    if (tenant) ctx.AddMetadata("x-tenant", *tenant);
    return Direct(app, nullptr, clock, m, ctx);
  };
  EXPECT_THAT(call("acme"), IsOk());
  EXPECT_THAT(call("acme"), StatusIs(kExhausted));
  EXPECT_THAT(call("globex"), IsOk());
  EXPECT_THAT(call(""), IsOk());
  EXPECT_THAT(call(std::nullopt), IsOk());
  EXPECT_THAT(call(std::nullopt), StatusIs(kExhausted));
  EXPECT_THAT(call(""), StatusIs(kExhausted));
}

TEST(RateLimit, MetadataKeyThroughTheServer) {
  FakeClock clock;
  EchoServer s(OneRule("rpcforge.test.EchoService/Echo", 1, "1m", "metadata:x-tenant"), &clock);
  EXPECT_THAT(s.Echo("a", {{"x-tenant", "acme"}}), IsOk());
  EXPECT_THAT(s.Echo("a", {{"x-tenant", "acme"}}), StatusIs(kExhausted));
  EXPECT_THAT(s.Echo("a", {{"x-tenant", "globex"}}), IsOk());
}

TEST(RateLimit, RequestKeyReadsTheFieldOfUnaryAndServerStreamingCalls) {
  FakeClock clock;
  EchoServer s(OneRule("rpcforge.test.EchoService/Echo, rpcforge.test.EchoService/Expand", 1, "1m",
                       "request:message"),
               &clock);
  EXPECT_THAT(s.Echo("alpha"), IsOk());
  EXPECT_THAT(s.Echo("alpha"), StatusIs(kExhausted));
  EXPECT_THAT(s.Echo("beta"), IsOk());
  EXPECT_THAT(s.Expand("alpha"), IsOk());  // its own method's counter
  EXPECT_THAT(s.Expand("alpha"), StatusIs(kExhausted));
  EXPECT_THAT(s.Expand("gamma"), IsOk());
}

TEST(RateLimit, RequestKeyOnClientStreamingSharesOneCounterFailingClosed) {
  FakeClock clock;
  EchoServer s(OneRule("rpcforge.test.EchoService/Collect", 1, "1m", "request:message"), &clock);
  EXPECT_THAT(s.Collect("alpha"), IsOk());
  EXPECT_THAT(s.Collect("beta"), StatusIs(kExhausted));  // no request: one shared counter
}

TEST(RateLimit, RequestKeyFollowsNestedPathsAndFailsClosedOnUnknownOnes) {
  FakeClock clock;
  rpcforge::App app;
  AddRateLimit(app, Rule({"blog.v1.A/Nested"}, 1, seconds(60), "request:server.address"));
  AddRateLimit(app, Rule({"blog.v1.A/Typed"}, 1, seconds(60), "request:server.max_workers"));
  AddRateLimit(app, Rule({"blog.v1.A/Unknown"}, 1, seconds(60), "request:server.nope"));
  auto call = [&](const char* method, const rpcforge::config::v1::Config& request) {
    FakeContext ctx;
    return Direct(app, nullptr, clock, Method("blog.v1.A", method), ctx, &request);
  };
  rpcforge::config::v1::Config x, y;
  x.mutable_server()->set_address("x:1");
  x.mutable_server()->set_max_workers(4);
  y.mutable_server()->set_address("y:1");
  y.mutable_server()->set_max_workers(5);
  EXPECT_THAT(call("Nested", x), IsOk());
  EXPECT_THAT(call("Nested", x), StatusIs(kExhausted));
  EXPECT_THAT(call("Nested", y), IsOk());
  EXPECT_THAT(call("Typed", x), IsOk());
  EXPECT_THAT(call("Typed", y), IsOk());
  EXPECT_THAT(call("Typed", y), StatusIs(kExhausted));
  EXPECT_THAT(call("Unknown", x), IsOk());
  EXPECT_THAT(call("Unknown", y), StatusIs(kExhausted));
}

TEST(RateLimit, FunctionKeyFromCxx) {
  FakeClock clock;
  EchoServer s("", &clock, [](rpcforge::App& app) {
    RateLimitRule rule = Rule({"rpcforge.test.EchoService/Echo"}, 1, seconds(60));
    rule.key = "";  // ignored when key_fn is set
    rule.key_fn = [](const rpcforge::ServerCall& call) {
      auto session = call.context().GetMetadata("x-session");
      return session ? std::string(session->substr(0, 3)) : std::string();
    };
    AddRateLimit(app, rule);
  });
  EXPECT_THAT(s.Echo("a", {{"x-session", "abc-1"}}), IsOk());
  EXPECT_THAT(s.Echo("a", {{"x-session", "abc-2"}}), StatusIs(kExhausted));  // same prefix
  EXPECT_THAT(s.Echo("a", {{"x-session", "xyz-1"}}), IsOk());
}

TEST(RateLimit, GroupSharesOneCounterAcrossMethodsAndRules) {
  FakeClock clock;
  EchoServer s(
      "rate_limits:\n"
      "  - {methods: [rpcforge.test.EchoService/Echo], group: g, max_calls: 3, period: 1m}\n"
      "  - {methods: [rpcforge.test.EchoService/Expand, rpcforge.test.EchoService/Echo],"
      " group: g, max_calls: 3, period: 1m}\n",
      &clock);
  EXPECT_THAT(s.Echo("a"), IsOk());  // counted once, though two rules of g cover Echo
  EXPECT_THAT(s.Expand("a"), IsOk());
  EXPECT_THAT(s.Echo("a"), IsOk());
  EXPECT_THAT(s.Expand("a"), StatusIs(kExhausted));
  EXPECT_THAT(s.Echo("a"), StatusIs(kExhausted));
}

TEST(RateLimit, UngroupedRulesCountEachMethodSeparately) {
  FakeClock clock;
  EchoServer s(OneRule("rpcforge.test.EchoService", 1, "1m", "peer") +
                   "  - {methods: [rpcforge.test.EchoService/Collect], max_calls: 1000,"
                   " period: 1m}\n",
               &clock);
  EXPECT_THAT(s.Echo("a"), IsOk());
  EXPECT_THAT(s.Expand("a"), IsOk());  // same rule, another method: its own counter
  EXPECT_THAT(s.Echo("a"), StatusIs(kExhausted));
  EXPECT_THAT(s.Expand("a"), StatusIs(kExhausted));
}

TEST(RateLimit, MethodsNoRuleCoversAreNotLimited) {
  FakeClock clock;
  EchoServer s(OneRule("rpcforge.test.EchoService/Echo", 1, "1m", "peer"), &clock);
  for (int i = 0; i < 20; ++i) ASSERT_THAT(s.Expand("a"), IsOk()) << i;
}

TEST(RateLimit, NoRulesPassEveryCallThrough) {
  FakeClock clock;
  EchoServer s("", &clock);
  for (int i = 0; i < 50; ++i) ASSERT_THAT(s.Echo("a"), IsOk()) << i;
}

TEST(RateLimit, SeveralRulesOnOneMethodAllApply) {
  FakeClock clock;
  rpcforge::App app;
  AddRateLimit(app, Rule({"blog.v1.PostService/GetPost"}, 3, seconds(10)));
  AddRateLimit(app, Rule({"blog.v1.PostService/GetPost"}, 4, seconds(60)));
  const auto m = Method("blog.v1.PostService", "GetPost");
  auto call = [&] {
    FakeContext ctx;
    return Direct(app, nullptr, clock, m, ctx);
  };
  for (int i = 0; i < 3; ++i) ASSERT_THAT(call(), IsOk());
  EXPECT_THAT(call(), StatusIs(kExhausted, HasSubstr("3 calls per 10 seconds")));
  clock.Advance(seconds(10));
  EXPECT_THAT(call(), IsOk());
  EXPECT_THAT(call(), StatusIs(kExhausted, HasSubstr("4 calls per 60 seconds")));
}

TEST(RateLimit, ExactlyTheLimitOfParallelCallsSucceed) {
  FakeClock clock;  // time stands still: every call falls in the same window
  EchoServer s(OneRule("rpcforge.test.EchoService/Echo", 10, "1m", "peer"), &clock);
  constexpr int kCalls = 48;
  std::atomic<int> ok{0}, exhausted{0}, other{0};
  std::promise<void> go;
  std::shared_future<void> start = go.get_future().share();
  std::vector<std::thread> threads;
  for (int i = 0; i < kCalls; ++i) {
    threads.emplace_back([&, i] {
      start.wait();
      grpc::Status status = s.Echo("call " + std::to_string(i));
      if (status.ok()) {
        ++ok;
      } else if (status.error_code() == kExhausted) {
        ++exhausted;
      } else {
        ++other;
      }
    });
  }
  go.set_value();
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 10);
  EXPECT_EQ(exhausted.load(), kCalls - 10);
  EXPECT_EQ(other.load(), 0);
}

TEST(RateLimit, CountersOfAnAppAreEvictedAfterTheirWindow) {
  FakeClock clock;
  EchoServer s(OneRule("rpcforge.test.EchoService/Echo", 1, "1m", "metadata:x-k"), &clock);
  for (int i = 0; i < 30; ++i) ASSERT_THAT(s.Echo("a", {{"x-k", std::to_string(i)}}), IsOk());
  auto storage = std::dynamic_pointer_cast<InMemoryRateLimitStorage>(
      rpcforge::AppRateLimiter(s.app)->storage());
  ASSERT_NE(storage, nullptr);
  EXPECT_EQ(storage->size(), 30u);
  clock.Advance(seconds(60));
  storage->EvictExpired(clock);
  EXPECT_EQ(storage->size(), 0u);
  EXPECT_THAT(s.Echo("a", {{"x-k", "0"}}), IsOk());
}

// ---------------------------------------------------------------- rules

TEST(RateLimit, CxxRulesWithoutAPositivePeriodOrMaxCallsAreRejected) {
  rpcforge::App app;
  EXPECT_THROW(AddRateLimit(app, Rule({"a.B/C"}, 1, milliseconds(0))), rpcforge::InvalidArgument);
  EXPECT_THROW(AddRateLimit(app, Rule({"a.B/C"}, 1, milliseconds(-5))), rpcforge::InvalidArgument);
  EXPECT_THROW(AddRateLimit(app, Rule({"a.B/C"}, 0, seconds(1))), rpcforge::InvalidArgument);
  EXPECT_THROW(AddRateLimit(app, Rule({}, 1, seconds(1))), rpcforge::InvalidArgument);
  EXPECT_THROW(AddRateLimit(app, Rule({"a.B/C/D"}, 1, seconds(1))), rpcforge::InvalidArgument);
  EXPECT_THROW(AddRateLimit(app, Rule({"a.B"}, 1, seconds(1), "cookie")),
               rpcforge::InvalidArgument);
  try {
    AddRateLimit(app, Rule({"a.B/C"}, 1, milliseconds(0)));
  } catch (const rpcforge::InvalidArgument& e) {
    EXPECT_THAT(e.message(), HasSubstr("period must be > 0"));
  }
  AddRateLimit(app, Rule({"a.B"}, 1, seconds(1), "metadata:x-k", "g"));
  EXPECT_THROW(AddRateLimit(app, Rule({"a.C"}, 2, seconds(1), "metadata:x-k", "g")),
               rpcforge::InvalidArgument);
  EXPECT_EQ(rpcforge::AppRateLimiter(app)->rules().size(), 1u);
}

TEST(RateLimit, ConfigRulesWithoutAPositivePeriodAreConfigErrors) {
  rpcforge::App app;
  TestServerOptions options;
  options.app = &app;
  options.config_yaml = OneRule("rpcforge.test.EchoService", 1, "0s", "peer");
  try {
    TestServer server(options);
    ADD_FAILURE() << "a zero period was accepted";
  } catch (const rpcforge::InvalidArgument& e) {
    EXPECT_THAT(e.message(), HasSubstr("rate_limits[0].period"));
  }
}

TEST(RateLimit, GroupRulesFromCxxAndConfigMustAgree) {
  rpcforge::App app;
  app.AddService<EchoImpl>();
  AddRateLimit(app, Rule({"rpcforge.test.EchoService/Echo"}, 5, seconds(60), "peer", "g"));
  TestServerOptions options;
  options.app = &app;
  options.config_yaml = OneRule("rpcforge.test.EchoService/Expand", 6, "1m", "peer", "g");
  try {
    TestServer server(options);
    ADD_FAILURE() << "disagreeing group rules were accepted";
  } catch (const rpcforge::InvalidArgument& e) {
    EXPECT_THAT(e.message(), HasSubstr("must agree"));
  }
}

TEST(RateLimit, CxxRulesAreCheckedBeforeConfigRules) {
  FakeClock clock;
  EchoServer s(OneRule("rpcforge.test.EchoService/Echo", 5, "1m", "peer"), &clock,
               [](rpcforge::App& app) {
                 AddRateLimit(app, Rule({"rpcforge.test.EchoService/Echo"}, 1, seconds(30)));
               });
  EXPECT_THAT(s.Echo("a"), IsOk());
  EXPECT_THAT(s.Echo("a"), StatusIs(kExhausted, HasSubstr("1 calls per 30 seconds")));
}

TEST(RateLimit, EachAppHasItsOwnLimiterUntilItsMiddlewareIsReplaced) {
  rpcforge::App a, b;
  EXPECT_NE(rpcforge::AppRateLimiter(a), rpcforge::AppRateLimiter(b));
  auto mine = std::make_shared<rpcforge::RateLimiter>();
  b.RegisterMiddleware("rate_limit", rpcforge::RateLimitMiddlewareFactory(mine));
  EXPECT_THROW(rpcforge::AppRateLimiter(b), rpcforge::FailedPrecondition);
  EXPECT_NO_THROW(rpcforge::AppRateLimiter(a));
}

TEST(RateLimit, CustomStorageIsUsed) {
  struct Refusing : rpcforge::RateLimitStorage {
    RateLimitDecision TryAcquire(std::string_view key, uint32_t, milliseconds,
                                 const rpcforge::Clock&) override {
      last_key = std::string(key);
      RateLimitDecision d;
      d.retry_after = milliseconds(2500);
      return d;
    }
    std::string last_key;
  };
  FakeClock clock;
  auto storage = std::make_shared<Refusing>();
  rpcforge::App app;
  AddRateLimit(app, Rule({"blog.v1.PostService"}, 7, seconds(60), "metadata:x-k", "reads"));
  rpcforge::AppRateLimiter(app)->SetStorage(storage);
  FakeContext ctx;
  ctx.AddMetadata("x-k", "v");
  EXPECT_THAT(Direct(app, nullptr, clock, Method("blog.v1.PostService", "GetPost"), ctx),
              StatusIs(kExhausted,
                       "Reached limit of 7 calls per 60 seconds. Resource will be "
                       "available in 3 seconds."));
  EXPECT_EQ(storage->last_key, "5:group5:reads8:metadata1:v");
}

// ---------------------------------------------------------------- docs/security.md

TEST(RateLimit, DocumentedConfigExampleBehavesAsDescribed) {
  const std::string yaml = DocYaml("## Rate limits");
  ASSERT_THAT(yaml, HasSubstr("rate_limits:"));
  rpcforge::config::LoadResult loaded = rpcforge::config::LoadString(yaml, "security.md");
  ASSERT_TRUE(loaded.ok()) << loaded.ErrorText();
  auto errors = rpcforge::config::Validate(loaded.config, loaded.locations);
  ASSERT_TRUE(errors.empty()) << errors[0].ToString();
  const rpcforge::config::v1::Config& config = loaded.config;

  FakeClock clock;
  rpcforge::App app;
  auto call = [&](const char* service, const char* method, FakeContext& ctx) {
    return Direct(app, &config, clock, Method(service, method), ctx);
  };
  // 10 posts per minute per user; anonymous callers share a counter.
  for (int i = 0; i < 10; ++i) {
    FakeContext ctx;
    ctx.SetUser(User(7));
    ASSERT_THAT(call("blog.v1.PostService", "CreatePost", ctx), IsOk()) << i;
  }
  FakeContext ann, bob, anonymous;
  ann.SetUser(User(7));
  bob.SetUser(User(8));
  EXPECT_THAT(call("blog.v1.PostService", "CreatePost", ann),
              StatusIs(kExhausted,
                       "Reached limit of 10 calls per 60 seconds. Resource will be "
                       "available in 60 seconds."));
  EXPECT_THAT(call("blog.v1.PostService", "CreatePost", bob), IsOk());
  EXPECT_THAT(call("blog.v1.PostService", "CreatePost", anonymous), IsOk());
  // Reads: 600 per address, shared by ListPosts and GetPost.
  for (int i = 0; i < 600; ++i) {
    FakeContext ctx;
    ctx.SetPeer("ipv4:10.1.1.1:" + std::to_string(1000 + i));
    ASSERT_THAT(call("blog.v1.PostService", i % 2 ? "GetPost" : "ListPosts", ctx), IsOk()) << i;
  }
  FakeContext reader;
  reader.SetPeer("ipv4:10.1.1.1:9");
  EXPECT_THAT(call("blog.v1.PostService", "GetPost", reader), StatusIs(kExhausted));
  // Comments: 5 per 10 s per tenant, per method.
  for (int i = 0; i < 5; ++i) {
    FakeContext ctx;
    ctx.AddMetadata("x-tenant-id", "acme");
    ASSERT_THAT(call("blog.v1.CommentService", "AddComment", ctx), IsOk());
  }
  FakeContext acme, acme_list;
  acme.AddMetadata("x-tenant-id", "acme");
  acme_list.AddMetadata("x-tenant-id", "acme");
  EXPECT_THAT(call("blog.v1.CommentService", "AddComment", acme),
              StatusIs(kExhausted, HasSubstr("5 calls per 10 seconds")));
  EXPECT_THAT(call("blog.v1.CommentService", "ListComments", acme_list), IsOk());
}

TEST(RateLimit, DocumentedCxxExampleCompilesAndIsQuotedVerbatim) {
  FakeClock clock;
  rpcforge::App app;
  // [add_rate_limit]
  rpcforge::RateLimitRule rule;
  rule.methods = {"blog.v1.PostService/CreatePost"};
  rule.max_calls = 10;
  rule.period = std::chrono::minutes(1);
  rule.key = "user";
  rpcforge::AddRateLimit(app, rule);

  // A key computed in C++: here, the first 8 characters of the "x-session" header.
  rpcforge::RateLimitRule per_session;
  per_session.methods = {"blog.v1.PostService"};
  per_session.max_calls = 100;
  per_session.period = std::chrono::seconds(10);
  per_session.key_fn = [](const rpcforge::ServerCall& call) {
    auto session = call.context().GetMetadata("x-session");
    return session ? std::string(session->substr(0, 8)) : std::string();
  };
  rpcforge::AddRateLimit(app, per_session);
  // [add_rate_limit end]
  EXPECT_EQ(rpcforge::AppRateLimiter(app)->rules().size(), 2u);
  for (int i = 0; i < 100; ++i) {
    FakeContext ctx;
    ctx.AddMetadata("x-session", "12345678-" + std::to_string(i));
    ASSERT_THAT(Direct(app, nullptr, clock, Method("blog.v1.PostService", "GetPost"), ctx), IsOk());
  }
  FakeContext ctx;
  ctx.AddMetadata("x-session", "12345678-other");
  EXPECT_THAT(Direct(app, nullptr, clock, Method("blog.v1.PostService", "GetPost"), ctx),
              StatusIs(kExhausted));

  // The block between the markers above, unindented, is what the doc shows.
  const std::string source =
      rpcforge::strings::ReadSourceFile("framework/src/middleware/rate_limit_test.cc");
  const std::string begin_marker = "  // [add_rate_limit]\n";
  size_t begin = source.find(begin_marker);
  size_t end = source.find("  // [add_rate_limit end]");
  ASSERT_NE(begin, std::string::npos);
  ASSERT_NE(end, std::string::npos);
  std::istringstream body(
      source.substr(begin + begin_marker.size(), end - begin - begin_marker.size()));
  std::string line, snippet;
  while (std::getline(body, line)) {
    snippet += (line.rfind("  ", 0) == 0 ? line.substr(2) : line) + "\n";
  }
  const std::string doc = rpcforge::strings::ReadSourceFile("docs/security.md");
  EXPECT_THAT(doc, HasSubstr("```cpp\n" + snippet + "```"));
}
