// SPDX-License-Identifier: Apache-2.0
// snippets's tests: real RPCs through RpcTestCase's in-process server on the
// fixture's database (each test rolled back).
#include <gmock/gmock.h>
#include <grpcpp/client_context.h>
#include <gtest/gtest.h>
#include <rpcforge/fixtures/rpc_test_case.h>
#include <rpcforge/testing/matchers.h>

#include <memory>
#include <string>
#include <vector>

#include "snippet_service.h"
#include "snippets/v1/snippet.grpc.pb.h"

using rpcforge::testing::EqualsProto;
using rpcforge::testing::HasFieldViolation;
using rpcforge::testing::IsOk;
using rpcforge::testing::Partially;
using rpcforge::testing::StatusIs;
using ::testing::HasSubstr;

namespace {

class SnippetTest : public rpcforge::fixtures::RpcTestCase {
 protected:
  void DatabaseReady() override {
    rpcforge::fixtures::RpcTestCase::DatabaseReady();  // the suite's server, serving the registered
                                                       // services
    stub_ = Stub<snippets::v1::SnippetController>();
  }
  rpcforge::db::QuerySet Objects() { return snippets::SnippetModel().Objects(db()); }

  std::unique_ptr<snippets::v1::SnippetController::Stub> stub_;
};

}  // namespace

TEST_F(SnippetTest, NullTitleIsStoredAsNullAndSentBackAsNullValue) {
  snippets::v1::Snippet in;
  in.set_title_null(google::protobuf::NULL_VALUE);
  in.set_code("print(1)");
  in.set_language("python");
  snippets::v1::Snippet out;
  grpc::ClientContext ctx;
  ASSERT_THAT(stub_->Create(&ctx, in, &out), IsOk());
  EXPECT_EQ(out.title_case(), snippets::v1::Snippet::kTitleNull);
  EXPECT_TRUE(Objects().Get("id", out.id())["title"].is_null());
}

TEST_F(SnippetTest, EmptyTitleIsNotNull) {
  snippets::v1::Snippet in;
  in.set_title_value("");
  in.set_code("x");
  in.set_language("go");
  snippets::v1::Snippet out;
  grpc::ClientContext ctx;
  // A set but empty title_value is the empty string, which a CharField refuses.
  EXPECT_THAT(stub_->Create(&ctx, in, &out),
              HasFieldViolation("title", "This field cannot be blank."));
}

TEST_F(SnippetTest, TitleValueRoundTrips) {
  snippets::v1::Snippet in;
  in.set_title_value("hello");
  in.set_code("x");
  in.set_language("cpp");
  snippets::v1::Snippet out;
  grpc::ClientContext ctx;
  ASSERT_THAT(stub_->Create(&ctx, in, &out), IsOk());
  EXPECT_THAT(out, Partially(EqualsProto(R"pb(title_value: "hello" code: "x" language: "cpp")pb")));
}

TEST_F(SnippetTest, PartialUpdateSetsTheTitleToNull) {
  const auto id = Objects().Create({{"title", "t"}, {"code", "c"}})["id"].AsInt();
  snippets::v1::SnippetPartialUpdateRequest patch;
  patch.set_id(id);
  patch.set_title_null(google::protobuf::NULL_VALUE);
  snippets::v1::Snippet out;
  grpc::ClientContext ctx;
  ASSERT_THAT(stub_->PartialUpdate(&ctx, patch, &out), IsOk());
  EXPECT_EQ(out.title_case(), snippets::v1::Snippet::kTitleNull);
  EXPECT_EQ(out.code(), "c");
}

TEST_F(SnippetTest, UnknownLanguageIsAFieldViolation) {
  snippets::v1::Snippet in;
  in.set_code("x");
  in.set_language("cobol");
  snippets::v1::Snippet out;
  grpc::ClientContext ctx;
  EXPECT_THAT(stub_->Create(&ctx, in, &out),
              HasFieldViolation("language", HasSubstr("not a valid choice")));
}
