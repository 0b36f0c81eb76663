// SPDX-License-Identifier: Apache-2.0
// generateproto: the text it writes, and (end to end) the file the build generated with
// the real command and compiled with protoc, served by ModelService unchanged.
#include "rpcforge/model/generate_proto.h"

#include <gmock/gmock.h>
#include <grpcpp/client_context.h>
#include <gtest/gtest.h>

#include <memory>

#include "model/testdata/gadget_models.h"
#include "rpcforge/app.h"
#include "rpcforge/db/registry.h"
#include "rpcforge/fixtures/test_case.h"
#include "rpcforge/model/generic_service.h"
#include "rpcforge/testing/matchers.h"
#include "rpcforge/testing/test_server.h"
#include "shop/v1/gadget.grpc.pb.h"
#include "shop/v1/gadget.rpcforge.h"

RPCFORGE_REGISTER_APP(modeltest, [](rpcforge::db::App& app) {
  app.AddModel(modeltest::MakerModel()).AddModel(modeltest::GadgetModel());
});

using rpcforge::model::GenerateProto;
using rpcforge::model::GenerateProtoOptions;
using rpcforge::testing::EqualsProto;
using rpcforge::testing::HasFieldViolation;
using rpcforge::testing::IsOk;
using rpcforge::testing::Partially;
using rpcforge::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(GenerateProto, MapsEveryFieldTypeExactly) {
  const std::string proto = GenerateProto(modeltest::GadgetModel());
  EXPECT_THAT(proto, HasSubstr("syntax = \"proto3\";"));
  EXPECT_THAT(proto, HasSubstr("package modeltest.v1;"));
  EXPECT_THAT(proto, HasSubstr("service GadgetController {"));
  for (const char* line : {
           "  int64 id = 1;\n",
           "  string name = 2;\n",
           "  int32 count = 3;\n",
           "  double price = 4;\n",
           "  bool active = 5;\n",
           "  string color = 6;\n",
           "  int32 color_number = 7;\n",
           "  google.protobuf.BytesValue payload = 8;\n",
           "  google.protobuf.Timestamp released = 9;\n",
           "  google.protobuf.StringValue note = 10;\n",
           "  google.protobuf.Int32Value rating = 11;\n",
           "  int32 stock = 12;\n",
           "  google.protobuf.Int64Value maker = 13;\n",
           "  google.protobuf.Timestamp created = 14;\n",
           "  google.protobuf.Timestamp updated = 15;\n",
           "  optional string name = 2;\n",  // the partial-update request
           "  google.protobuf.FieldMask update_mask = 14;\n",
           "  rpc List(GadgetListRequest) returns (stream Gadget);\n",
           "  rpc PartialUpdate(GadgetPartialUpdateRequest) returns (Gadget);\n",
           "  rpc Destroy(GadgetDestroyRequest) returns (google.protobuf.Empty);\n",
       }) {
    EXPECT_THAT(proto, HasSubstr(line));
  }
}

TEST(GenerateProto, FieldsPackageAndServiceOptions) {
  GenerateProtoOptions options;
  options.fields = {"id", "name", "count"};
  options.package = "acme.shop.v2";
  options.service = "Gadgets";
  const std::string proto = GenerateProto(modeltest::GadgetModel(), options);
  EXPECT_THAT(proto, HasSubstr("package acme.shop.v2;"));
  EXPECT_THAT(proto, HasSubstr("service Gadgets {"));
  EXPECT_THAT(
      proto,
      HasSubstr(
          "message Gadget {\n  // Output only.\n  int64 id = 1;\n  // At most 50 characters.\n"
          "  string name = 2;\n  int32 count = 3;\n}"));
  EXPECT_THAT(proto, Not(HasSubstr("timestamp.proto")));
  EXPECT_THAT(proto, Not(HasSubstr("wrappers.proto")));

  options.fields = {"id", "colour"};
  EXPECT_THROW(GenerateProto(modeltest::GadgetModel(), options), rpcforge::InvalidArgument);
  options.fields = {};
  options.package = "bad..package";
  EXPECT_THROW(GenerateProto(modeltest::GadgetModel(), options), rpcforge::InvalidArgument);
}

// [generated_service]
class GadgetController : public rpcforge::model::ModelService<shop::v1::GadgetControllerBase> {
 public:
  GadgetController() : ModelService(modeltest::GadgetModel()) {}
};
// [generated_service end]

class GeneratedProtoTest : public rpcforge::fixtures::TestCase {
 protected:
  void DatabaseReady() override {
    app_.AddService<GadgetController>();
    rpcforge::testing::TestServerOptions options;
    options.app = &app_;
    options.database = &db();
    server_ = std::make_unique<rpcforge::testing::TestServer>(options);
    stub_ = server_->Stub<shop::v1::GadgetController>();
  }
  void BeforeDatabaseReset() override { server_.reset(); }

  rpcforge::App app_;
  std::unique_ptr<rpcforge::testing::TestServer> server_;
  std::unique_ptr<shop::v1::GadgetController::Stub> stub_;
};

TEST_F(GeneratedProtoTest, ServesEveryCrudMethod) {
  const int64_t maker =
      modeltest::MakerModel().Objects(db()).Create({{"name", "acme"}})["id"].AsInt();
  shop::v1::Gadget in;
  in.set_name("lamp");
  in.set_color("RED");
  in.mutable_maker()->set_value(maker);
  in.mutable_released()->set_seconds(1700000000);
  shop::v1::Gadget created;
  {
    grpc::ClientContext ctx;
    ASSERT_THAT(stub_->Create(&ctx, in, &created), IsOk());
  }
  EXPECT_THAT(created, Partially(EqualsProto(R"pb(name: "lamp"
                                                  color: "RED"
                                                  maker { value: 1 }
                                                  released { seconds: 1700000000 })pb")));
  EXPECT_EQ(created.maker().value(), maker);
  EXPECT_EQ(created.stock(), 0);  // a plain proto3 scalar: its default 0 is written
  EXPECT_FALSE(created.has_note());

  shop::v1::GadgetPartialUpdateRequest patch;
  patch.set_id(created.id());
  patch.set_count(4);
  shop::v1::Gadget patched;
  {
    grpc::ClientContext ctx;
    ASSERT_THAT(stub_->PartialUpdate(&ctx, patch, &patched), IsOk());
  }
  EXPECT_EQ(patched.count(), 4);
  EXPECT_EQ(patched.name(), "lamp");

  patch.clear_count();
  patch.mutable_update_mask()->add_paths("maker");  // unset wrapper in the mask: NULL
  {
    grpc::ClientContext ctx;
    ASSERT_THAT(stub_->PartialUpdate(&ctx, patch, &patched), IsOk());
  }
  EXPECT_FALSE(patched.has_maker());

  shop::v1::GadgetRetrieveRequest get;
  get.set_id(created.id());
  shop::v1::Gadget got;
  {
    grpc::ClientContext ctx;
    ASSERT_THAT(stub_->Retrieve(&ctx, get, &got), IsOk());
  }
  EXPECT_THAT(got, EqualsProto(patched));

  {
    grpc::ClientContext ctx;
    auto reader = stub_->List(&ctx, shop::v1::GadgetListRequest());
    int count = 0;
    for (shop::v1::Gadget g; count < 100 && reader->Read(&g);) ++count;
    EXPECT_THAT(reader->Finish(), IsOk());
    EXPECT_EQ(count, 1);
  }

  shop::v1::GadgetDestroyRequest destroy;
  destroy.set_id(created.id());
  google::protobuf::Empty empty;
  {
    grpc::ClientContext ctx;
    EXPECT_THAT(stub_->Destroy(&ctx, destroy, &empty), IsOk());
  }
  grpc::ClientContext ctx;
  EXPECT_THAT(stub_->Destroy(&ctx, destroy, &empty), StatusIs(grpc::StatusCode::NOT_FOUND));
}

TEST_F(GeneratedProtoTest, ValidatesAgainstTheModel) {
  shop::v1::Gadget in;
  in.set_color("PURPLE");
  grpc::ClientContext ctx;
  shop::v1::Gadget out;
  const grpc::Status status = stub_->Create(&ctx, in, &out);
  EXPECT_THAT(status, HasFieldViolation("name"));
  EXPECT_THAT(status, HasFieldViolation("color", HasSubstr("not a valid choice")));
}
