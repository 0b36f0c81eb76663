// SPDX-License-Identifier: Apache-2.0
// hrm's tests: real RPCs through RpcTestCase's in-process server on the
// fixture's database (each test rolled back).
#include <gmock/gmock.h>
#include <grpcpp/client_context.h>
#include <gtest/gtest.h>
#include <rpcforge/fixtures/rpc_test_case.h>
#include <rpcforge/testing/matchers.h>

#include <memory>
#include <string>
#include <vector>

#include "hrm/v1/person.grpc.pb.h"
#include "person_service.h"

using rpcforge::testing::EqualsProto;
using rpcforge::testing::HasFieldViolation;
using rpcforge::testing::IsOk;
using rpcforge::testing::Partially;
using rpcforge::testing::StatusIs;
using ::testing::HasSubstr;

namespace {

class PersonTest : public rpcforge::fixtures::RpcTestCase {
 protected:
  void DatabaseReady() override {
    rpcforge::fixtures::RpcTestCase::DatabaseReady();  // the suite's server, serving the registered
                                                       // services
    stub_ = Stub<hrm::v1::PersonController>();
  }
  rpcforge::db::QuerySet Objects() { return hrm::PersonModel().Objects(db()); }

  std::unique_ptr<hrm::v1::PersonController::Stub> stub_;
};

}  // namespace

int64_t Insert(rpcforge::db::QuerySet people) {
  return people.Create({{"name", "Ada"}, {"email", "ada@example.com"}, {"salary", 100}})["id"]
      .AsInt();
}

TEST_F(PersonTest, PartialUpdateByWrappersWritesOnlyTheSetOnes) {
  const int64_t id = Insert(Objects());
  hrm::v1::PersonPartialUpdateRequest patch;
  patch.set_id(id);
  patch.mutable_salary()->set_value(0);  // a set wrapper counts even at 0
  hrm::v1::Person out;
  grpc::ClientContext ctx;
  ASSERT_THAT(stub_->PartialUpdate(&ctx, patch, &out), IsOk());
  EXPECT_THAT(out, Partially(EqualsProto(R"pb(name: "Ada"
                                              email { value: "ada@example.com" })pb")));
  EXPECT_EQ(out.salary(), 0);
}

TEST_F(PersonTest, PartialUpdateByUpdateMaskClearsAnUnsetWrapper) {
  const int64_t id = Insert(Objects());
  hrm::v1::PersonPartialUpdateRequest patch;
  patch.set_id(id);
  patch.mutable_name()->set_value("Ada L.");
  patch.mutable_salary()->set_value(5);  // not in the mask: ignored
  patch.mutable_update_mask()->add_paths("name");
  patch.mutable_update_mask()->add_paths("email");  // unset: NULL
  hrm::v1::Person out;
  grpc::ClientContext ctx;
  ASSERT_THAT(stub_->PartialUpdate(&ctx, patch, &out), IsOk());
  EXPECT_EQ(out.name(), "Ada L.");
  EXPECT_FALSE(out.has_email());
  EXPECT_EQ(out.salary(), 100);
  EXPECT_TRUE(Objects().Get("id", id)["email"].is_null());
}

TEST_F(PersonTest, MaskNamingAnUnknownFieldIsInvalidArgument) {
  const int64_t id = Insert(Objects());
  hrm::v1::PersonPartialUpdateRequest patch;
  patch.set_id(id);
  patch.mutable_update_mask()->add_paths("phone");
  hrm::v1::Person out;
  grpc::ClientContext ctx;
  EXPECT_THAT(stub_->PartialUpdate(&ctx, patch, &out),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT, "update_mask: unknown field 'phone'"));
}

TEST_F(PersonTest, InvalidPatchReportsEveryField) {
  const int64_t id = Insert(Objects());
  hrm::v1::PersonPartialUpdateRequest patch;
  patch.set_id(id);
  patch.mutable_name()->set_value("");
  patch.mutable_email()->set_value("nope");
  patch.mutable_salary()->set_value(-1);
  hrm::v1::Person out;
  grpc::ClientContext ctx;
  const grpc::Status status = stub_->PartialUpdate(&ctx, patch, &out);
  EXPECT_THAT(status, HasFieldViolation("name"));
  EXPECT_THAT(status, HasFieldViolation("email"));
  EXPECT_THAT(status, HasFieldViolation("salary"));
  EXPECT_EQ(Objects().Get("id", id)["name"].AsText(), "Ada");
}

TEST_F(PersonTest, PatchingAMissingPersonIsNotFound) {
  hrm::v1::PersonPartialUpdateRequest patch;
  patch.set_id(404);
  patch.mutable_name()->set_value("x");
  hrm::v1::Person out;
  grpc::ClientContext ctx;
  EXPECT_THAT(stub_->PartialUpdate(&ctx, patch, &out),
              StatusIs(grpc::StatusCode::NOT_FOUND, "Person: 404 not found"));
}
