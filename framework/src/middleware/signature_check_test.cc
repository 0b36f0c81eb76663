// SPDX-License-Identifier: Apache-2.0
// The signature check: the constant-time comparison, required metadata through the
// in-process server, public methods, the pass-through when nothing is configured, and
// the documented example.
#include "rpcforge/middleware/signature_check.h"

#include <gmock/gmock.h>
#include <grpcpp/client_context.h>
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <vector>

#include "core/source_file_for_tests.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "rpcforge/app.h"
#include "rpcforge/config/config.h"
#include "rpcforge/errors.h"
#include "rpcforge/testing/fake_context.h"
#include "rpcforge/testing/matchers.h"
#include "rpcforge/testing/test_server.h"
#include "server/testdata/echo.grpc.pb.h"
#include "server/testdata/echo_service.h"

using rpcforge::ConstantTimeEquals;
using rpcforge::test::EchoRequest;
using rpcforge::test::EchoResponse;
using rpcforge::test::EchoService;
using rpcforge::testing::FakeContext;
using rpcforge::testing::IsOk;
using rpcforge::testing::StatusIs;
using rpcforge::testing::TestServer;
using rpcforge::testing::TestServerOptions;
using rpcforge_test::EchoImpl;
using ::testing::HasSubstr;

namespace {

constexpr grpc::StatusCode kUnauthenticated = grpc::StatusCode::UNAUTHENTICATED;

using Pairs = std::vector<std::pair<std::string, std::string>>;

// An App with the Echo service behind a TestServer built from `yaml` and `overrides`.
struct SignedServer {
  SignedServer(const std::string& yaml, Pairs overrides = {}) {
    app.AddService(echo);
    TestServerOptions options;
    options.app = &app;
    options.config_yaml = yaml;
    options.config = std::move(overrides);
    server = std::make_unique<TestServer>(options);
    stub = server->Stub<EchoService>();
  }

  grpc::Status Echo(const Pairs& metadata) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    for (const auto& [k, v] : metadata) ctx.AddMetadata(k, v);
    EchoRequest req;
    req.set_message("hi");
    EchoResponse resp;
    return stub->Echo(&ctx, req, &resp);
  }

  std::shared_ptr<EchoImpl> echo = std::make_shared<EchoImpl>();
  rpcforge::App app;
  std::unique_ptr<TestServer> server;
  std::unique_ptr<EchoService::Stub> stub;
};

constexpr char kSignedYaml[] =
    "middlewares: [signals, signature_check]\n"
    "signature_check:\n"
    "  metadata:\n"
    "    x-client-signature: s3cret\n"
    "    x-client-id: mobile\n";

rpcforge::MethodInfo Method(const std::string& service, const std::string& method) {
  rpcforge::MethodInfo m;
  m.full_name = "/" + service + "/" + method;
  m.service = service;
  m.method = method;
  return m;
}

}  // namespace

// ---------------------------------------------------------------- ConstantTimeEquals

TEST(Signature, ConstantTimeEqualsComparesEveryByteAndTheLength) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("s3cret", "s3cret"));
  EXPECT_FALSE(ConstantTimeEquals("s3cret", "x3cret"));  // first byte differs
  EXPECT_FALSE(ConstantTimeEquals("s3cret", "s3creT"));  // last byte differs
  EXPECT_FALSE(ConstantTimeEquals("s3cret", "s3cre"));   // a prefix
  EXPECT_FALSE(ConstantTimeEquals("s3cre", "s3cret"));   // longer
  EXPECT_FALSE(ConstantTimeEquals("s3cret", ""));
  EXPECT_FALSE(ConstantTimeEquals("", "s3cret"));
  // Bytes past the shorter string are compared as zeros, and the lengths still differ.
  EXPECT_FALSE(ConstantTimeEquals(std::string_view("a", 1), std::string_view("a\0", 2)));
  EXPECT_TRUE(ConstantTimeEquals(std::string_view("a\0b", 3), std::string_view("a\0b", 3)));
  EXPECT_FALSE(ConstantTimeEquals(std::string_view("a\0b", 3), std::string_view("a\0c", 3)));
  EXPECT_FALSE(ConstantTimeEquals("\xff", "\x7f"));  // the high bit counts
}

// ---------------------------------------------------------------- the middleware

TEST(Signature, CallsWithEveryPairPass) {
  SignedServer s(kSignedYaml);
  EXPECT_THAT(s.Echo({{"x-client-signature", "s3cret"}, {"x-client-id", "mobile"}}), IsOk());
}

TEST(Signature, MissingMetadataIsUnauthenticated) {
  SignedServer s(kSignedYaml);
  EXPECT_THAT(s.Echo({}), StatusIs(kUnauthenticated, "Invalid signature"));
  EXPECT_THAT(s.Echo({{"x-client-id", "mobile"}}), StatusIs(kUnauthenticated, "Invalid signature"));
  EXPECT_THAT(s.Echo({{"x-client-signature", "s3cret"}}),
              StatusIs(kUnauthenticated, "Invalid signature"));
}

TEST(Signature, WrongValuesAreUnauthenticated) {
  SignedServer s(kSignedYaml);
  for (const char* wrong : {"s3creT", "s3cre", "s3crett", "", "S3CRET"}) {
    EXPECT_THAT(s.Echo({{"x-client-signature", wrong}, {"x-client-id", "mobile"}}),
                StatusIs(kUnauthenticated, "Invalid signature"))
        << wrong;
  }
  EXPECT_THAT(s.Echo({{"x-client-signature", "s3cret"}, {"x-client-id", "web"}}),
              StatusIs(kUnauthenticated, "Invalid signature"));
}

TEST(Signature, RejectedCallsNeverReachTheHandler) {
  rpcforge::App app;
  rpcforge::config::v1::Config config;
  (*config.mutable_signature_check()->mutable_metadata())["x-sig"] = "v";
  rpcforge::MiddlewareEnv env;
  env.config = &config;
  int handled = 0;
  auto run = [&](const char* name, const char* value) {
    FakeContext ctx;
    if (value) ctx.AddMetadata("x-sig", value);
    return rpcforge::testing::CallThroughPipeline(
        app, ctx, Method("blog.v1.PostService", "GetPost"), nullptr,
        [&](rpcforge::Context&) { ++handled; }, {name}, env);
  };
  for (const char* name : {"signature_check"}) {
    EXPECT_THAT(run(name, nullptr), StatusIs(kUnauthenticated, "Invalid signature")) << name;
    EXPECT_THAT(run(name, "w"), StatusIs(kUnauthenticated, "Invalid signature")) << name;
    EXPECT_THAT(run(name, "v"), IsOk()) << name;
  }
  EXPECT_EQ(handled, 1);
}

TEST(Signature, HealthAndReflectionAreNotChecked) {
  rpcforge::App app;
  rpcforge::config::v1::Config config;
  (*config.mutable_signature_check()->mutable_metadata())["x-sig"] = "v";
  rpcforge::MiddlewareEnv env;
  env.config = &config;
  auto run = [&](const rpcforge::MethodInfo& m) {
    FakeContext ctx;
    return rpcforge::testing::CallThroughPipeline(
        app, ctx, m, nullptr, [](rpcforge::Context&) {}, {"signature_check"}, env);
  };
  EXPECT_THAT(run(Method("grpc.health.v1.Health", "Check")), IsOk());
  EXPECT_THAT(run(Method("grpc.health.v1.Health", "Watch")), IsOk());
  EXPECT_THAT(run(Method("grpc.reflection.v1alpha.ServerReflection", "ServerReflectionInfo")),
              IsOk());
  EXPECT_THAT(run(Method("grpc.reflection.v1.ServerReflection", "ServerReflectionInfo")), IsOk());
  // Only those: look-alikes are checked.
  EXPECT_THAT(run(Method("grpc.health.v2.Health", "Check")), StatusIs(kUnauthenticated));
  EXPECT_THAT(run(Method("grpc.reflectionx.Svc", "Get")), StatusIs(kUnauthenticated));
  EXPECT_THAT(run(Method("my.grpc.health.v1.Health", "Check")), StatusIs(kUnauthenticated));
}

TEST(Signature, HealthCheckWorksWithoutSignatureThroughTheServer) {
  SignedServer s(kSignedYaml);
  auto health = grpc::health::v1::Health::NewStub(s.server->channel());
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  grpc::health::v1::HealthCheckRequest req;
  grpc::health::v1::HealthCheckResponse resp;
  EXPECT_THAT(health->Check(&ctx, req, &resp), IsOk());
  EXPECT_EQ(resp.status(), grpc::health::v1::HealthCheckResponse::SERVING);
}

TEST(Signature, NothingConfiguredPassesEveryCallThrough) {
  // The App's default chain includes "signature_check": a no-op here.
  SignedServer s("");
  ASSERT_TRUE(s.app.HasMiddleware("signature_check"));
  EXPECT_FALSE(s.app.HasMiddleware("signature"));
  EXPECT_THAT(s.app.DefaultMiddlewares(), ::testing::Contains("signature_check"));
  EXPECT_THAT(s.Echo({}), IsOk());
  // Listed explicitly but with no metadata configured: still a pass-through.
  SignedServer listed("", {{"middlewares", "signals,signature_check"}});
  EXPECT_THAT(listed.Echo({}), IsOk());
  EXPECT_FALSE(rpcforge::SignatureCheckMiddleware({}).enabled());
}

TEST(Signature, MetadataWithoutTheMiddlewareListedIsAConfigError) {
  rpcforge::App app;
  TestServerOptions options;
  options.app = &app;
  options.config_yaml =
      "middlewares: [signals, auth]\n"
      "signature_check: {metadata: {x-sig: v}}\n";
  try {
    TestServer server(options);
    ADD_FAILURE() << "signature_check.metadata without the middleware was accepted";
  } catch (const rpcforge::InvalidArgument& e) {
    EXPECT_THAT(e.message(), HasSubstr("\"signature_check\" is not in middlewares"));
  }
}

// ---------------------------------------------------------------- docs/security.md

TEST(Signature, DocumentedConfigExampleBehavesAsDescribed) {
  const std::string doc = rpcforge::strings::ReadSourceFile("docs/security.md");
  size_t at = doc.find("\n## Signature check\n");
  ASSERT_NE(at, std::string::npos);
  size_t begin = doc.find("```yaml\n", at);
  ASSERT_NE(begin, std::string::npos);
  begin += 8;
  const std::string yaml = doc.substr(begin, doc.find("```", begin) - begin);
  ASSERT_THAT(yaml, HasSubstr("signature_check:"));

  // The example is valid as written ...
  rpcforge::config::LoadResult loaded = rpcforge::config::LoadString(yaml, "security.md");
  ASSERT_TRUE(loaded.ok()) << loaded.ErrorText();
  auto errors = rpcforge::config::Validate(loaded.config, loaded.locations);
  ASSERT_TRUE(errors.empty()) << errors[0].ToString();
  // ... and does what it says (the chain is cut to the middlewares this test links).
  SignedServer s(yaml, {{"middlewares", "signals,signature_check,rate_limit"}});
  EXPECT_THAT(s.Echo({{"x-client-signature", "change-me"}}), IsOk());
  EXPECT_THAT(s.Echo({{"x-client-signature", "change-mE"}}),
              StatusIs(kUnauthenticated, "Invalid signature"));
  EXPECT_THAT(s.Echo({}), StatusIs(kUnauthenticated, "Invalid signature"));
}
