// SPDX-License-Identifier: Apache-2.0
// The "auth" middleware through the in-process channel on the transactional test
// database: key sources, require_auth resolution, public methods, the secret key,
// expiry with a FakeClock, the brute-force guard, identity isolation under concurrency,
// exact usage counts flushed at shutdown, no database, and the documented config.
#include "rpcforge/middleware/auth.h"

#include <gmock/gmock.h>
#include <grpcpp/client_context.h>
#include <gtest/gtest.h>

#include <future>
#include <thread>
#include <vector>

#include "core/source_file_for_tests.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "rpcforge/app.h"
#include "rpcforge/auth/api_keys.h"
#include "rpcforge/config/config.h"
#include "rpcforge/db/group_commit.h"
#include "rpcforge/fixtures/test_case.h"
#include "rpcforge/testing/fake_clock.h"
#include "rpcforge/testing/fake_context.h"
#include "rpcforge/testing/matchers.h"
#include "rpcforge/testing/test_server.h"
#include "server/testdata/echo.grpc.pb.h"
#include "server/testdata/echo.rpcforge.h"

using rpcforge::auth::CreateApiKey;
using rpcforge::auth::CreateUser;
using rpcforge::auth::User;
using rpcforge::test::EchoRequest;
using rpcforge::test::EchoResponse;
using rpcforge::test::EchoService;
using rpcforge::testing::FakeClock;
using rpcforge::testing::FakeContext;
using rpcforge::testing::IsOk;
using rpcforge::testing::StatusIs;
using rpcforge::testing::TestServer;
using rpcforge::testing::TestServerOptions;
using ::testing::HasSubstr;

namespace {

constexpr auto kUnauthenticated = grpc::StatusCode::UNAUTHENTICATED;
using Pairs = std::vector<std::pair<std::string, std::string>>;

// WhoAmI answers with the identity the handler sees: user name in `user`, and
// "key=<name> secret=<0|1>" in `message` (empty when anonymous).
class WhoAmI : public rpcforge::test::EchoServiceBase {
 public:
  EchoResponse Echo(rpcforge::Context& ctx, const EchoRequest&) override {
    EchoResponse r;
    if (ctx.user()) r.set_user(ctx.user()->username);
    if (ctx.api_key()) {
      r.set_message("key=" + ctx.api_key()->name +
                    " secret=" + (ctx.api_key()->is_secret_key ? "1" : "0"));
    }
    r.set_peer(ctx.peer());
    return r;
  }
};

class AuthMiddlewareTest : public rpcforge::fixtures::TestCase {
 protected:
  AuthMiddlewareTest() { app_.AddService<WhoAmI>(); }

  std::unique_ptr<TestServer> Start(Pairs config = {}, std::string yaml = "",
                                    bool with_database = true) {
    TestServerOptions options;
    options.app = &app_;
    options.clock = &clock_;
    options.database = with_database ? &db() : nullptr;
    options.config = std::move(config);
    options.config_yaml = std::move(yaml);
    return std::make_unique<TestServer>(options);
  }

 public:
  static grpc::Status Call(TestServer& server, const Pairs& metadata, EchoResponse* out = nullptr) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    for (const auto& [k, v] : metadata) ctx.AddMetadata(k, v);
    EchoResponse resp;
    grpc::Status status = server.Stub<EchoService>()->Echo(&ctx, EchoRequest(), &resp);
    if (out) *out = resp;
    return status;
  }

 protected:
  std::string KeyFor(const std::string& username,
                     std::optional<std::chrono::seconds> expires = {}) {
    auto user = rpcforge::auth::FindUser(db(), username);
    User u = user ? *user : CreateUser(db(), {username, ""});
    return CreateApiKey(db(), u, username + "-key", expires, clock_).key;
  }

  rpcforge::App app_;
  FakeClock clock_;
};

}  // namespace

// ---------------------------------------------------------------- helpers

TEST(AuthHelpers, ExtractApiKeyReadsXApiKeyThenBearer) {
  using rpcforge::auth::ExtractApiKey;
  FakeContext none;
  EXPECT_FALSE(ExtractApiKey(none));
  FakeContext x;
  x.AddMetadata("x-api-key", "abc");
  EXPECT_EQ(ExtractApiKey(x), "abc");
  FakeContext bearer;
  bearer.AddMetadata("authorization", "Bearer  def ");
  EXPECT_EQ(ExtractApiKey(bearer), "def");
  FakeContext lower;
  lower.AddMetadata("authorization", "bearer ghi");
  EXPECT_EQ(ExtractApiKey(lower), "ghi");
  FakeContext both;
  both.AddMetadata("authorization", "Bearer second").AddMetadata("x-api-key", "first");
  EXPECT_EQ(ExtractApiKey(both), "first");
  FakeContext basic;
  basic.AddMetadata("authorization", "Basic dXNlcjpwdw==");
  EXPECT_FALSE(ExtractApiKey(basic));
  FakeContext bearerish;
  bearerish.AddMetadata("authorization", "Bearerxyz");
  EXPECT_FALSE(ExtractApiKey(bearerish));
}

TEST(AuthHelpers, BruteForceGuardWindowAndBlock) {
  FakeClock clock;
  rpcforge::auth::BruteForceGuard guard(3, std::chrono::minutes(1), std::chrono::minutes(5), clock);
  EXPECT_FALSE(guard.RecordFailure("ipv4:1.2.3.4"));
  EXPECT_FALSE(guard.RecordFailure("ipv4:1.2.3.4"));
  clock.Advance(std::chrono::seconds(61));  // the first two leave the window
  EXPECT_FALSE(guard.RecordFailure("ipv4:1.2.3.4"));
  EXPECT_FALSE(guard.RecordFailure("ipv4:1.2.3.4"));
  EXPECT_EQ(guard.BlockedFor("ipv4:1.2.3.4").count(), 0);
  EXPECT_TRUE(guard.RecordFailure("ipv4:1.2.3.4"));
  EXPECT_EQ(guard.BlockedFor("ipv4:1.2.3.4"), std::chrono::minutes(5));
  EXPECT_EQ(guard.BlockedFor("ipv4:5.6.7.8").count(), 0) << "other peers are not affected";
  clock.Advance(std::chrono::minutes(5));
  EXPECT_EQ(guard.BlockedFor("ipv4:1.2.3.4").count(), 0);
}

TEST(AuthHelpers, BruteForceGuardBoundsItsMemory) {
  FakeClock clock;
  rpcforge::auth::BruteForceGuard guard(2, std::chrono::minutes(1), std::chrono::minutes(5), clock,
                                        /*max_peers=*/4);
  for (int i = 0; i < 100; ++i) guard.RecordFailure("ipv4:10.0.0." + std::to_string(i));
  // The newest peers are still tracked: one more failure blocks the last one.
  EXPECT_TRUE(guard.RecordFailure("ipv4:10.0.0.99"));
  EXPECT_GT(guard.BlockedFor("ipv4:10.0.0.99").count(), 0);
}

TEST(AuthHelpers, GuardDisabledWithZeroFailures) {
  FakeClock clock;
  rpcforge::auth::BruteForceGuard guard(0, std::chrono::minutes(1), std::chrono::minutes(5), clock);
  for (int i = 0; i < 50; ++i) EXPECT_FALSE(guard.RecordFailure("p"));
  EXPECT_EQ(guard.BlockedFor("p").count(), 0);
}

// ---------------------------------------------------------------- the middleware

TEST(AuthMiddlewareRegistration, EveryAppHasAuthInItsDefaultChain) {
  rpcforge::App app;
  EXPECT_TRUE(app.HasMiddleware("auth"));
  auto chain = app.DefaultMiddlewares();
  EXPECT_NE(std::find(chain.begin(), chain.end(), "auth"), chain.end());
}

TEST_F(AuthMiddlewareTest, MissingKeyIsAnonymousWhenNotRequired) {
  auto server = Start();
  EchoResponse resp;
  EXPECT_THAT(Call(*server, {}, &resp), IsOk());
  EXPECT_EQ(resp.user(), "");
  EXPECT_EQ(resp.message(), "");
}

TEST_F(AuthMiddlewareTest, MissingKeyIsUnauthenticatedWhenRequired) {
  auto server = Start({{"auth.require_auth", "true"}});
  EXPECT_THAT(Call(*server, {}), StatusIs(kUnauthenticated, "API key is required"));
}

TEST_F(AuthMiddlewareTest, ValidKeyFromXApiKeyOrBearerSetsTheIdentity) {
  const std::string key = KeyFor("ada");
  auto server = Start({{"auth.require_auth", "true"}});
  EchoResponse resp;
  ASSERT_THAT(Call(*server, {{"x-api-key", key}}, &resp), IsOk());
  EXPECT_EQ(resp.user(), "ada");
  EXPECT_EQ(resp.message(), "key=ada-key secret=0");
  ASSERT_THAT(Call(*server, {{"authorization", "Bearer " + key}}, &resp), IsOk());
  EXPECT_EQ(resp.user(), "ada");
  EXPECT_THAT(Call(*server, {{"authorization", "Basic " + key}}),
              StatusIs(kUnauthenticated, "API key is required"));
}

TEST_F(AuthMiddlewareTest, InvalidKeyIsRejectedEvenWhenNotRequired) {
  const std::string key = KeyFor("ada");
  auto server = Start();
  std::string wrong = key;
  wrong[0] = wrong[0] == 'a' ? 'b' : 'a';
  for (const std::string& k : {wrong, std::string("nonsense"), std::string()}) {
    EXPECT_THAT(Call(*server, {{"x-api-key", k}}),
                StatusIs(kUnauthenticated, "Invalid or expired API key"))
        << k;
  }
  EXPECT_THAT(Call(*server, {{"authorization", "Bearer " + wrong}}),
              StatusIs(kUnauthenticated, "Invalid or expired API key"));
}

TEST_F(AuthMiddlewareTest, RevokedKeyAndInactiveUserAreInvalid) {
  User ada = CreateUser(db(), {"ada", ""});
  auto k1 = CreateApiKey(db(), ada, "one", std::nullopt, clock_);
  auto k2 = CreateApiKey(db(), ada, "two", std::nullopt, clock_);
  auto server = Start();
  ASSERT_THAT(Call(*server, {{"x-api-key", k1.key}}), IsOk());
  rpcforge::auth::RevokeApiKey(db(), k1.info.id, clock_);
  EXPECT_THAT(Call(*server, {{"x-api-key", k1.key}}),
              StatusIs(kUnauthenticated, "Invalid or expired API key"));
  ASSERT_THAT(Call(*server, {{"x-api-key", k2.key}}), IsOk());
  rpcforge::auth::SetUserActive(db(), ada.id, false);
  EXPECT_THAT(Call(*server, {{"x-api-key", k2.key}}),
              StatusIs(kUnauthenticated, "Invalid or expired API key"));
}

TEST_F(AuthMiddlewareTest, ExpiredKeyIsRejectedAfterFakeClockAdvance) {
  const std::string key = KeyFor("ada", std::chrono::hours(1));
  auto server = Start({{"auth.require_auth", "true"}});
  EXPECT_THAT(Call(*server, {{"x-api-key", key}}), IsOk());
  clock_.Advance(std::chrono::minutes(59));
  EXPECT_THAT(Call(*server, {{"x-api-key", key}}), IsOk());
  clock_.Advance(std::chrono::minutes(1));
  EXPECT_THAT(Call(*server, {{"x-api-key", key}}),
              StatusIs(kUnauthenticated, "Invalid or expired API key"));
}

TEST_F(AuthMiddlewareTest, RequireAuthPerServiceAndPerMethod) {
  {
    auto server = Start({{"auth.require_auth_overrides", "rpcforge.test.EchoService=true"}});
    EXPECT_THAT(Call(*server, {}), StatusIs(kUnauthenticated, "API key is required"));
  }
  {
    auto server = Start({{"auth.require_auth", "true"},
                         {"auth.require_auth_overrides", "rpcforge.test.EchoService/Echo=false"}});
    EXPECT_THAT(Call(*server, {}), IsOk());
  }
  {
    // The method entry wins over its service's.
    auto server = Start({{"auth.require_auth_overrides",
                          "rpcforge.test.EchoService=true,rpcforge.test.EchoService/Echo=false"}});
    EXPECT_THAT(Call(*server, {}), IsOk());
  }
}

TEST_F(AuthMiddlewareTest, PublicMethodsSkipAuth) {
  auto server = Start(
      {{"auth.require_auth", "true"}, {"auth.public_methods", "rpcforge.test.EchoService/Echo"}});
  EchoResponse resp;
  EXPECT_THAT(Call(*server, {}, &resp), IsOk());
  // Skipped entirely: even a bad key is not looked at, and no identity is set.
  EXPECT_THAT(Call(*server, {{"x-api-key", "bad"}}, &resp), IsOk());
  EXPECT_EQ(resp.user(), "");

  auto health = grpc::health::v1::Health::NewStub(server->channel());
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  grpc::health::v1::HealthCheckResponse hresp;
  EXPECT_THAT(health->Check(&ctx, grpc::health::v1::HealthCheckRequest(), &hresp), IsOk());
}

TEST_F(AuthMiddlewareTest, HealthIsPublicThroughThePipeline) {
  rpcforge::config::v1::Config config;
  config.mutable_auth()->set_require_auth(true);
  rpcforge::MiddlewareEnv env;
  env.config = &config;
  env.database = &db();
  env.clock = &clock_;
  rpcforge::MethodInfo m;
  m.service = "grpc.health.v1.Health";
  m.method = "Check";
  m.full_name = "/grpc.health.v1.Health/Check";
  FakeContext ctx;
  EXPECT_THAT(rpcforge::testing::CallThroughPipeline(
                  app_, ctx, m, nullptr, [](rpcforge::Context&) {}, {"auth"}, env),
              IsOk());
  m.service = "grpc.health.v2.Health";
  m.full_name = "/grpc.health.v2.Health/Check";
  FakeContext ctx2;
  EXPECT_THAT(rpcforge::testing::CallThroughPipeline(
                  app_, ctx2, m, nullptr, [](rpcforge::Context&) {}, {"auth"}, env),
              StatusIs(kUnauthenticated, "API key is required"));
}

TEST_F(AuthMiddlewareTest, SecretKeyIsRefusedByDefault) {
  const std::string secret(40, 's');
  auto server = Start({{"secret_key", secret}, {"auth.require_auth", "true"}});
  EXPECT_THAT(Call(*server, {{"x-api-key", secret}}),
              StatusIs(kUnauthenticated, "Invalid or expired API key"));
}

TEST_F(AuthMiddlewareTest, SecretKeyIsAnInternalIdentityWhenEnabled) {
  const std::string secret = "0123456789abcdef0123456789abcdef-secret";
  auto server = Start(
      {{"secret_key", secret}, {"auth.accept_secret_key", "true"}, {"auth.require_auth", "true"}});
  const int64_t before = rpcforge::auth::auth_internal::TEST_ConstantTimeCompares();
  EchoResponse resp;
  ASSERT_THAT(Call(*server, {{"x-api-key", secret}}, &resp), IsOk());
  EXPECT_GT(rpcforge::auth::auth_internal::TEST_ConstantTimeCompares(), before);
  EXPECT_EQ(resp.user(), "");
  EXPECT_EQ(resp.message(), "key=secret_key secret=1");
  EXPECT_THAT(Call(*server, {{"x-api-key", secret + "x"}}),
              StatusIs(kUnauthenticated, "Invalid or expired API key"));
  // Ordinary keys keep working beside it.
  const std::string key = KeyFor("ada");
  ASSERT_THAT(Call(*server, {{"x-api-key", key}}, &resp), IsOk());
  EXPECT_EQ(resp.user(), "ada");
}

TEST_F(AuthMiddlewareTest, BruteForceGuardThrottlesAPeerThenLetsItBack) {
  const std::string key = KeyFor("ada");
  auto server = Start({{"auth.brute_force_guard.max_failures", "3"},
                       {"auth.brute_force_guard.window", "1m"},
                       {"auth.brute_force_guard.block_duration", "5m"}});
  for (int i = 0; i < 3; ++i) {
    EXPECT_THAT(Call(*server, {{"x-api-key", "bad" + std::to_string(i)}}),
                StatusIs(kUnauthenticated, "Invalid or expired API key"));
  }
  // Blocked: even a valid key gets no lookup.
  EXPECT_THAT(Call(*server, {{"x-api-key", key}}), StatusIs(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                                            HasSubstr("try again in 300 seconds")));
  clock_.Advance(std::chrono::minutes(4));
  EXPECT_THAT(Call(*server, {{"x-api-key", key}}),
              StatusIs(grpc::StatusCode::RESOURCE_EXHAUSTED, HasSubstr("try again in 60 seconds")));
  clock_.Advance(std::chrono::minutes(1));
  EXPECT_THAT(Call(*server, {{"x-api-key", key}}), IsOk());
}

TEST_F(AuthMiddlewareTest, IdentitiesNeverLeakBetweenConcurrentCalls) {
  const std::vector<std::string> users = {"ada", "bob", "cyd"};
  std::vector<std::string> keys;
  for (const auto& u : users) keys.push_back(KeyFor(u));
  constexpr int kThreads = 8;
  constexpr int kCalls = 40;
  {
    auto server = Start({{"server.max_workers", "8"}});
    std::vector<std::thread> threads;
    std::atomic<int> mismatches{0};
    std::atomic<int> failures{0};
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kCalls; ++i) {
          const int who = (t + i) % 4;  // 0..2: a user's key, 3: anonymous
          Pairs md;
          if (who < 3) md.push_back({"x-api-key", keys[who]});
          EchoResponse resp;
          if (!Call(*server, md, &resp).ok()) {
            ++failures;
            continue;
          }
          const std::string expected = who < 3 ? users[who] : "";
          if (resp.user() != expected) ++mismatches;
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(mismatches.load(), 0);
  }  // server shutdown flushes the usage counts
  int64_t total = 0;
  for (const auto& k : rpcforge::auth::ListApiKeys(db())) {
    total += k.request_count;
    EXPECT_EQ(k.request_count, kThreads * kCalls / 4) << k.username;
    ASSERT_TRUE(k.last_used_at);
    EXPECT_EQ(*k.last_used_at, clock_.Now());
  }
  EXPECT_EQ(total, kThreads * kCalls * 3 / 4);
}

// Durable usage (real commits, so the writer's progress is observable): a key's count
// is committed before the call is answered, with the request log in the chain or
// without it (then the dispatcher waits for it).
class AuthUsageTest : public rpcforge::fixtures::TransactionTestCase {
 protected:
  AuthUsageTest() { app_.AddService<WhoAmI>(); }
  std::unique_ptr<TestServer> Start(Pairs config) {
    TestServerOptions options;
    options.app = &app_;
    options.database = &db();
    options.config = std::move(config);
    return std::make_unique<TestServer>(options);
  }
  std::string Key() {
    return CreateApiKey(db(), CreateUser(db(), {"ada", ""}), "ci", std::nullopt,
                        rpcforge::Clock::Real())
        .key;
  }
  int64_t Count() { return rpcforge::auth::ListApiKeys(db())[0].request_count; }
  rpcforge::App app_;
};

TEST_F(AuthUsageTest, AKeysUsageIsCommittedBeforeTheAnswer) {
  const std::string key = Key();
  for (const char* chain : {"request_logging,auth", "auth"}) {
    auto server = Start({{"middlewares", chain}});
    const int64_t before = Count();
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    std::atomic<bool> stalled{false};
    server->server().group_commit()->TEST_SetBeforeBatchHook([&] {
      stalled = true;
      released.wait();
    });
    std::atomic<bool> answered{false};
    std::thread client([&] {
      EXPECT_THAT(AuthMiddlewareTest::Call(*server, {{"x-api-key", key}}), IsOk());
      answered = true;
    });
    for (int i = 0; i < 5000 && !stalled; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ASSERT_TRUE(stalled) << chain;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_FALSE(answered) << chain << ": answered before the usage count was committed";
    release.set_value();
    client.join();
    server->server().group_commit()->TEST_SetBeforeBatchHook(nullptr);  // refers to locals
    EXPECT_EQ(Count(), before + 1) << chain;  // no flush happened: the server still runs
  }
}

TEST_F(AuthUsageTest, WriteBehindUsageIsWrittenAfterTheAnswer) {
  const std::string key = Key();
  auto server = Start({{"middlewares", "auth"}, {"request_log.mode", "write_behind"}});
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  server->server().group_commit()->TEST_SetBeforeBatchHook([&] { released.wait(); });
  ASSERT_THAT(AuthMiddlewareTest::Call(*server, {{"x-api-key", key}}), IsOk());  // writer stalled
  EXPECT_EQ(Count(), 0);
  release.set_value();
  server->server().group_commit()->Flush();
  server->server().group_commit()->TEST_SetBeforeBatchHook(nullptr);
  EXPECT_EQ(Count(), 1);
}

// The verified-key cache: another process's revocation (a raw UPDATE here) shows up
// within auth.key_cache_ttl; this process's own at once; expiry always exactly.
TEST_F(AuthMiddlewareTest, AKeyRevokedElsewhereStopsWorkingWithinTheCacheTtl) {
  const std::string key = KeyFor("ada");
  auto server = Start({{"auth.key_cache_ttl", "2s"}});
  ASSERT_THAT(Call(*server, {{"x-api-key", key}}), IsOk());
  db().Execute("UPDATE rpcforge_apikey SET revoked_at = '2026-01-01T00:00:00.000000Z'");
  EXPECT_THAT(Call(*server, {{"x-api-key", key}}), IsOk());  // trusted from the cache
  clock_.Advance(std::chrono::seconds(3));
  EXPECT_THAT(Call(*server, {{"x-api-key", key}}), StatusIs(kUnauthenticated));
}

TEST_F(AuthMiddlewareTest, ThisProcesssRevocationsAndUserChangesTakeEffectAtOnce) {
  const std::string key = KeyFor("ada");
  auto server = Start({{"auth.key_cache_ttl", "1h"}});
  ASSERT_THAT(Call(*server, {{"x-api-key", key}}), IsOk());
  auto ada = rpcforge::auth::FindUser(db(), "ada");
  rpcforge::auth::SetUserActive(db(), ada->id, false);
  EXPECT_THAT(Call(*server, {{"x-api-key", key}}), StatusIs(kUnauthenticated));
  rpcforge::auth::SetUserActive(db(), ada->id, true);
  ASSERT_THAT(Call(*server, {{"x-api-key", key}}), IsOk());
  rpcforge::auth::RevokeUserKeys(db(), ada->id, clock_);
  EXPECT_THAT(Call(*server, {{"x-api-key", key}}), StatusIs(kUnauthenticated));
}

TEST_F(AuthMiddlewareTest, ACachedKeyStillExpiresOnTime) {
  const std::string key = KeyFor("ada", std::chrono::seconds(10));
  auto server = Start({{"auth.key_cache_ttl", "1h"}});
  ASSERT_THAT(Call(*server, {{"x-api-key", key}}), IsOk());
  clock_.Advance(std::chrono::seconds(11));
  EXPECT_THAT(Call(*server, {{"x-api-key", key}}), StatusIs(kUnauthenticated));
}

TEST_F(AuthMiddlewareTest, AZeroCacheTtlLooksEveryKeyUp) {
  const std::string key = KeyFor("ada");
  auto server = Start({{"auth.key_cache_ttl", "0s"}});
  ASSERT_THAT(Call(*server, {{"x-api-key", key}}), IsOk());
  db().Execute("UPDATE rpcforge_apikey SET revoked_at = '2026-01-01T00:00:00.000000Z'");
  EXPECT_THAT(Call(*server, {{"x-api-key", key}}), StatusIs(kUnauthenticated));
}

TEST_F(AuthMiddlewareTest, WithoutADatabaseEveryKeyIsInvalid) {
  auto server = Start({}, "", /*with_database=*/false);
  EXPECT_THAT(Call(*server, {}), IsOk());
  EXPECT_THAT(Call(*server, {{"x-api-key", std::string(64, 'a')}}),
              StatusIs(kUnauthenticated, "Invalid or expired API key"));
  auto required = Start({{"auth.require_auth", "true"}}, "", /*with_database=*/false);
  EXPECT_THAT(Call(*required, {}), StatusIs(kUnauthenticated, "API key is required"));
}

// ---------------------------------------------------------------- docs/security.md

TEST_F(AuthMiddlewareTest, DocumentedConfigWorks) {
  const std::string doc = rpcforge::strings::ReadSourceFile("docs/security.md");
  const size_t at = doc.find("## API keys and authentication");
  ASSERT_NE(at, std::string::npos);
  size_t begin = doc.find("```yaml\n", at);
  ASSERT_NE(begin, std::string::npos);
  begin += 8;
  const std::string yaml = doc.substr(begin, doc.find("```", begin) - begin);
  ASSERT_THAT(yaml, HasSubstr("require_auth: true"));
  rpcforge::config::LoadResult loaded = rpcforge::config::LoadString(yaml, "security.md");
  ASSERT_TRUE(loaded.ok()) << loaded.ErrorText();
  ASSERT_TRUE(rpcforge::config::Validate(loaded.config).empty());

  // The documented config, pointed at this test's service.
  const std::string key = KeyFor("ada");
  auto server = Start({{"auth.public_methods", "rpcforge.test.EchoService/Echo"}}, yaml);
  EXPECT_THAT(Call(*server, {}), IsOk());
  auto strict = Start({}, yaml);
  EXPECT_THAT(Call(*strict, {}), StatusIs(kUnauthenticated, "API key is required"));
  EXPECT_THAT(Call(*strict, {{"authorization", "Bearer " + key}}), IsOk());
}
