// SPDX-License-Identifier: Apache-2.0
// The base-service helpers (RequireUser/RequireStaff/RequirePermission), and the
// AuthRequiredService and ReadOnlyService mixins through the in-process channel.
#include "rpcforge/auth/base_service.h"

#include <gmock/gmock.h>
#include <grpcpp/client_context.h>
#include <gtest/gtest.h>

#include "rpcforge/app.h"
#include "rpcforge/auth/api_keys.h"
#include "rpcforge/db/query.h"
#include "rpcforge/errors.h"
#include "rpcforge/fixtures/test_case.h"
#include "rpcforge/testing/fake_context.h"
#include "rpcforge/testing/matchers.h"
#include "rpcforge/testing/test_server.h"
#include "server/testdata/echo.grpc.pb.h"
#include "server/testdata/echo.rpcforge.h"

using rpcforge::auth::RequirePermission;
using rpcforge::auth::RequireStaff;
using rpcforge::auth::RequireUser;
using rpcforge::test::EchoRequest;
using rpcforge::test::EchoResponse;
using rpcforge::test::EchoService;
using rpcforge::testing::FakeContext;
using rpcforge::testing::IsOk;
using rpcforge::testing::StatusIs;
using rpcforge::testing::TestServer;
using rpcforge::testing::TestServerOptions;
using ::testing::HasSubstr;

namespace {

rpcforge::auth::User MakeUser(bool staff, bool superuser) {
  rpcforge::auth::User u;
  u.id = 7;
  u.username = "u";
  u.is_staff = staff;
  u.is_superuser = superuser;
  return u;
}

template <class Fn>
grpc::StatusCode CodeOf(Fn fn) {
  try {
    fn();
    return grpc::StatusCode::OK;
  } catch (const rpcforge::Error& e) {
    return e.code();
  }
}

// Echo writes a user row when asked ("write"), else counts them; Expand reads.
class Writer : public rpcforge::test::EchoServiceBase {
 public:
  EchoResponse Echo(rpcforge::Context& ctx, const EchoRequest& req) override {
    if (req.message() == "write") {
      rpcforge::auth::CreateUser(ctx.db(), {"written", ""});
    } else if (req.message() == "atomic-read") {
      auto tx = ctx.db().Atomic();
      (void)rpcforge::auth::ListUsers(ctx.db());
      tx.Commit();
    }
    EchoResponse r;
    r.set_index(static_cast<int>(rpcforge::auth::ListUsers(ctx.db()).size()));
    if (ctx.user()) r.set_user(ctx.user()->username);
    return r;
  }
};

class ReadOnlyWriter : public rpcforge::auth::ReadOnlyService<Writer> {};
class AuthRequiredWriter : public rpcforge::auth::AuthRequiredService<Writer> {};
class Both : public rpcforge::auth::ReadOnlyService<rpcforge::auth::AuthRequiredService<Writer>> {};

class MixinTest : public rpcforge::fixtures::TestCase {
 protected:
  template <class Service>
  std::unique_ptr<TestServer> Start(std::vector<std::pair<std::string, std::string>> config = {}) {
    app_.AddService<Service>();
    TestServerOptions options;
    options.app = &app_;
    options.database = &db();
    options.config = std::move(config);
    return std::make_unique<TestServer>(options);
  }
  static grpc::Status Call(TestServer& server, const std::string& message,
                           const std::string& key = "", EchoResponse* out = nullptr) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    if (!key.empty()) ctx.AddMetadata("x-api-key", key);
    EchoRequest req;
    req.set_message(message);
    EchoResponse resp;
    auto status = server.Stub<EchoService>()->Echo(&ctx, req, &resp);
    if (out) *out = resp;
    return status;
  }
  std::string Key() {
    auto ada = rpcforge::auth::CreateUser(db(), {"ada", ""});
    return rpcforge::auth::CreateApiKey(db(), ada, "k").key;
  }
  rpcforge::App app_;
};

}  // namespace

TEST(BaseService, RequireUser) {
  FakeContext anonymous;
  EXPECT_EQ(CodeOf([&] { RequireUser(anonymous); }), grpc::StatusCode::UNAUTHENTICATED);
  FakeContext ctx;
  ctx.SetUser(MakeUser(false, false));
  EXPECT_EQ(RequireUser(ctx).username, "u");
  FakeContext secret;
  rpcforge::auth::ApiKey k;
  k.is_secret_key = true;
  secret.SetApiKey(k);
  EXPECT_EQ(CodeOf([&] { RequireUser(secret); }), grpc::StatusCode::UNAUTHENTICATED);
}

TEST(BaseService, RequireStaff) {
  FakeContext anonymous;
  EXPECT_EQ(CodeOf([&] { RequireStaff(anonymous); }), grpc::StatusCode::UNAUTHENTICATED);
  FakeContext plain;
  plain.SetUser(MakeUser(false, false));
  EXPECT_EQ(CodeOf([&] { RequireStaff(plain); }), grpc::StatusCode::PERMISSION_DENIED);
  FakeContext staff;
  staff.SetUser(MakeUser(true, false));
  EXPECT_EQ(CodeOf([&] { RequireStaff(staff); }), grpc::StatusCode::OK);
  FakeContext super;
  super.SetUser(MakeUser(false, true));
  EXPECT_EQ(CodeOf([&] { RequireStaff(super); }), grpc::StatusCode::OK);
  FakeContext secret;
  rpcforge::auth::ApiKey k;
  k.is_secret_key = true;
  secret.SetApiKey(k);
  EXPECT_EQ(CodeOf([&] { RequireStaff(secret); }), grpc::StatusCode::OK);
}

TEST(BaseService, RequirePermissionSuperuserAndChecker) {
  FakeContext anonymous;
  EXPECT_EQ(CodeOf([&] { RequirePermission(anonymous, "blog.delete_post"); }),
            grpc::StatusCode::UNAUTHENTICATED);
  FakeContext staff;
  staff.SetUser(MakeUser(true, false));
  EXPECT_EQ(CodeOf([&] { RequirePermission(staff, "blog.delete_post"); }),
            grpc::StatusCode::PERMISSION_DENIED)
      << "staff has no permission by default";
  FakeContext super;
  super.SetUser(MakeUser(false, true));
  EXPECT_EQ(CodeOf([&] { RequirePermission(super, "blog.delete_post"); }), grpc::StatusCode::OK);

  rpcforge::auth::SetPermissionChecker(
      [](const rpcforge::Context&, const rpcforge::auth::User& user, std::string_view perm) {
        return user.is_staff && perm == "blog.delete_post";
      });
  EXPECT_EQ(CodeOf([&] { RequirePermission(staff, "blog.delete_post"); }), grpc::StatusCode::OK);
  EXPECT_EQ(CodeOf([&] { RequirePermission(staff, "blog.add_post"); }),
            grpc::StatusCode::PERMISSION_DENIED);
  try {
    RequirePermission(staff, "blog.add_post");
  } catch (const rpcforge::PermissionDenied& e) {
    EXPECT_EQ(e.message(), "Permission 'blog.add_post' required");
  }
  rpcforge::auth::SetPermissionChecker(nullptr);
  EXPECT_EQ(CodeOf([&] { RequirePermission(staff, "blog.delete_post"); }),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(MixinTest, AuthRequiredServiceNeedsAKeyWhateverTheConfigSays) {
  const std::string key = Key();
  auto server = Start<AuthRequiredWriter>(
      {{"auth.require_auth", "false"}, {"auth.public_methods", "rpcforge.test.EchoService"}});
  EXPECT_THAT(Call(*server, "read"),
              StatusIs(grpc::StatusCode::UNAUTHENTICATED, "API key is required"));
  EchoResponse resp;
  EXPECT_THAT(Call(*server, "read", key, &resp), IsOk());
  EXPECT_EQ(resp.user(), "ada");
}

TEST_F(MixinTest, PlainServiceOfTheSameProtoIsNotAffected) {
  // AuthRequiredWriter exists in this binary; a plain Writer is still open.
  auto server = Start<Writer>();
  EXPECT_THAT(Call(*server, "read"), IsOk());
}

TEST_F(MixinTest, ReadOnlyServiceCannotWrite) {
  auto server = Start<ReadOnlyWriter>();
  EXPECT_THAT(Call(*server, "write"),
              StatusIs(grpc::StatusCode::PERMISSION_DENIED, HasSubstr("read-only")));
  EXPECT_FALSE(rpcforge::auth::FindUser(db(), "written"));
  EchoResponse resp;
  EXPECT_THAT(Call(*server, "read", "", &resp), IsOk());
  EXPECT_THAT(Call(*server, "atomic-read"), IsOk());
  // The test's own writes (another thread, outside a handler) are not affected.
  rpcforge::auth::CreateUser(db(), {"outside", ""});
}

TEST_F(MixinTest, WritableServiceCanWriteWhileReadOnlyOnesExist) {
  auto server = Start<Writer>();
  EXPECT_THAT(Call(*server, "write"), IsOk());
  EXPECT_TRUE(rpcforge::auth::FindUser(db(), "written"));
}

TEST_F(MixinTest, MixinsCompose) {
  const std::string key = Key();
  auto server = Start<Both>();
  EXPECT_THAT(Call(*server, "read"), StatusIs(grpc::StatusCode::UNAUTHENTICATED));
  EXPECT_THAT(Call(*server, "read", key), IsOk());
  EXPECT_THAT(Call(*server, "write", key), StatusIs(grpc::StatusCode::PERMISSION_DENIED));
}

TEST(BaseServiceMixins, MethodsAreTheSameApartFromTheirPolicy) {
  ReadOnlyWriter ro;
  Writer plain;
  ASSERT_EQ(ro.methods().size(), plain.methods().size());
  for (size_t i = 0; i < ro.methods().size(); ++i) {
    EXPECT_EQ(ro.methods()[i].full_name, plain.methods()[i].full_name);
    EXPECT_TRUE(ro.methods()[i].policy.read_only);
    EXPECT_FALSE(ro.methods()[i].policy.auth_required);
    EXPECT_FALSE(plain.methods()[i].policy.read_only);
    EXPECT_FALSE(plain.methods()[i].policy.auth_required);
  }
  Both both;
  EXPECT_TRUE(both.methods()[0].policy.read_only);
  EXPECT_TRUE(both.methods()[0].policy.auth_required);
}

// Read-only is the pipeline's, not the auth middleware's: a chain without it still
// runs a ReadOnlyService's handlers in a read-only scope.
TEST_F(MixinTest, ReadOnlyHoldsWithoutTheAuthMiddleware) {
  app_.AddService<ReadOnlyWriter>();
  TestServerOptions options;
  options.app = &app_;
  options.database = &db();
  options.config = {{"middlewares", "signals"}};
  TestServer server(options);
  EXPECT_THAT(Call(server, "write"),
              StatusIs(grpc::StatusCode::PERMISSION_DENIED, HasSubstr("read-only")));
  EXPECT_THAT(Call(server, "read"), IsOk());
  EXPECT_FALSE(rpcforge::auth::FindUser(db(), "written"));
}
