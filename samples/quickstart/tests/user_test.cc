// SPDX-License-Identifier: Apache-2.0
// quickstart's tests: real RPCs through RpcTestCase's in-process server on the
// fixture's database (each test rolled back).
#include <gmock/gmock.h>
#include <grpcpp/client_context.h>
#include <gtest/gtest.h>
#include <rpcforge/fixtures/rpc_test_case.h>
#include <rpcforge/testing/matchers.h>

#include <memory>
#include <string>
#include <vector>

#include "account/v1/user.grpc.pb.h"
#include "user_service.h"

using rpcforge::testing::EqualsProto;
using rpcforge::testing::HasFieldViolation;
using rpcforge::testing::IsOk;
using rpcforge::testing::Partially;
using rpcforge::testing::StatusIs;
using ::testing::HasSubstr;

namespace {

class UserTest : public rpcforge::fixtures::RpcTestCase {
 protected:
  void DatabaseReady() override {
    rpcforge::fixtures::RpcTestCase::DatabaseReady();  // the suite's server, serving the registered
                                                       // services
    stub_ = Stub<account::v1::UserController>();
  }
  rpcforge::db::QuerySet Objects() { return account::UserModel().Objects(db()); }

  std::unique_ptr<account::v1::UserController::Stub> stub_;
};

}  // namespace

account::v1::User MakeUser(const std::string& username, const std::string& email) {
  account::v1::User user;
  user.set_username(username);
  user.set_email(email);
  return user;
}

TEST_F(UserTest, CreateUser) {
  grpc::ClientContext ctx;
  account::v1::User response;
  ASSERT_THAT(stub_->Create(&ctx, MakeUser("ada", "ada@example.com"), &response), IsOk());
  EXPECT_EQ(response.username(), "ada");
  EXPECT_TRUE(response.has_date_joined());
  EXPECT_EQ(Objects().Count(), 1);
}

TEST_F(UserTest, ListUsersFilteredByStaff) {
  Objects().Create({{"username", "ada"}, {"is_staff", true}});
  Objects().Create({{"username", "bob"}});
  grpc::ClientContext ctx;
  account::v1::UserListRequest request;
  request.set_filter("is_staff = true");
  auto reader = stub_->List(&ctx, request);
  std::vector<account::v1::User> users;
  for (account::v1::User u; users.size() < 100 && reader->Read(&u);) users.push_back(u);
  ASSERT_THAT(reader->Finish(), IsOk());
  ASSERT_EQ(users.size(), 1u);
  EXPECT_EQ(users[0].username(), "ada");
}

TEST_F(UserTest, DuplicateUsernameIsAlreadyExists) {
  Objects().Create({{"username", "ada"}});
  grpc::ClientContext ctx;
  account::v1::User response;
  EXPECT_THAT(stub_->Create(&ctx, MakeUser("ada", ""), &response),
              StatusIs(grpc::StatusCode::ALREADY_EXISTS));
}

TEST_F(UserTest, BadEmailIsAFieldViolation) {
  grpc::ClientContext ctx;
  account::v1::User response;
  EXPECT_THAT(stub_->Create(&ctx, MakeUser("ada", "not-an-email"), &response),
              HasFieldViolation("email", "Enter a valid email address."));
}

TEST_F(UserTest, UpdateRetrieveDestroy) {
  const auto id = Objects().Create({{"username", "ada"}})["id"].AsInt();
  account::v1::User user = MakeUser("ada2", "a@b.co");
  user.set_id(id);
  user.set_is_staff(true);
  account::v1::User response;
  {
    grpc::ClientContext ctx;
    ASSERT_THAT(stub_->Update(&ctx, user, &response), IsOk());
  }
  account::v1::UserRetrieveRequest get;
  get.set_id(id);
  {
    grpc::ClientContext ctx;
    ASSERT_THAT(stub_->Retrieve(&ctx, get, &response), IsOk());
  }
  EXPECT_THAT(response,
              Partially(EqualsProto(R"pb(username: "ada2" email: "a@b.co" is_staff: true)pb")));
  google::protobuf::Empty empty;
  {
    grpc::ClientContext ctx;
    ASSERT_THAT(stub_->Destroy(&ctx, user, &empty), IsOk());
  }
  grpc::ClientContext ctx;
  EXPECT_THAT(stub_->Retrieve(&ctx, get, &response),
              StatusIs(grpc::StatusCode::NOT_FOUND, "User: " + std::to_string(id) + " not found"));
}
