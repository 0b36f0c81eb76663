// SPDX-License-Identifier: Apache-2.0
// The blog's tests, after django-grpc-framework's tutorial tests: real RPCs through
// the in-process channel of an RpcTestCase, on the fixture's database (each test
// rolled back, the handlers' writes too).
#include <gmock/gmock.h>
#include <grpcpp/client_context.h>
#include <gtest/gtest.h>
#include <rpcforge/fixtures/rpc_test_case.h>
#include <rpcforge/testing/matchers.h>
#include <rpcforge/testing/test_server.h>

#include <memory>
#include <string>
#include <vector>

#include "blog/v1/post.grpc.pb.h"
#include "post_service.h"

using blog::PostModel;
using blog::v1::Post;
using blog::v1::PostController;
using rpcforge::testing::HasFieldViolation;
using rpcforge::testing::IsOk;
using rpcforge::testing::StatusIs;
using ::testing::HasSubstr;

namespace {

// [post_test_fixture]
class PostServiceTest : public rpcforge::fixtures::RpcTestCase {
 protected:
  rpcforge::db::QuerySet Posts() { return PostModel().Objects(db()); }
};
// [post_test_fixture end]

Post MakePost(const std::string& title, const std::string& content) {
  Post post;
  post.set_title(title);
  post.set_content(content);
  return post;
}

}  // namespace

// [post_tests]
TEST_F(PostServiceTest, CreatePost) {
  auto stub = Stub<PostController>();
  grpc::ClientContext ctx;
  Post response;
  ASSERT_THAT(stub->Create(&ctx, MakePost("title", "content"), &response), IsOk());
  EXPECT_EQ(response.title(), "title");
  EXPECT_EQ(response.content(), "content");
  EXPECT_EQ(Posts().Count(), 1);
}

TEST_F(PostServiceTest, ListPosts) {
  Posts().Create({{"title", "title1"}, {"content", "content1"}});
  Posts().Create({{"title", "title2"}, {"content", "content2"}});
  auto stub = Stub<PostController>();
  grpc::ClientContext ctx;
  auto reader = stub->List(&ctx, blog::v1::PostListRequest());
  std::vector<Post> post_list;
  for (Post post; post_list.size() < 100 && reader->Read(&post);) post_list.push_back(post);
  ASSERT_THAT(reader->Finish(), IsOk());
  EXPECT_EQ(post_list.size(), 2u);
}
// [post_tests end]

TEST_F(PostServiceTest, RetrievePost) {
  const auto id = Posts().Create({{"title", "t"}, {"content", "c"}})["id"].AsInt();
  auto stub = Stub<PostController>();
  grpc::ClientContext ctx;
  blog::v1::PostRetrieveRequest request;
  request.set_id(id);
  Post response;
  ASSERT_THAT(stub->Retrieve(&ctx, request, &response), IsOk());
  EXPECT_EQ(response.id(), id);
  EXPECT_EQ(response.title(), "t");
  EXPECT_TRUE(response.has_created());
}

TEST_F(PostServiceTest, RetrieveMissingPostIsNotFound) {
  auto stub = Stub<PostController>();
  grpc::ClientContext ctx;
  blog::v1::PostRetrieveRequest request;
  request.set_id(7);
  Post response;
  EXPECT_THAT(stub->Retrieve(&ctx, request, &response),
              StatusIs(grpc::StatusCode::NOT_FOUND, "Post: 7 not found"));
}

TEST_F(PostServiceTest, UpdatePost) {
  const auto id = Posts().Create({{"title", "old"}, {"content", "old"}})["id"].AsInt();
  auto stub = Stub<PostController>();
  grpc::ClientContext ctx;
  Post request = MakePost("new title", "new content");
  request.set_id(id);
  Post response;
  ASSERT_THAT(stub->Update(&ctx, request, &response), IsOk());
  EXPECT_EQ(response.title(), "new title");
  EXPECT_EQ(Posts().Get("id", id)["content"].AsText(), "new content");
}

TEST_F(PostServiceTest, PartialUpdateByWrapper) {
  const auto id = Posts().Create({{"title", "old"}, {"content", "kept"}})["id"].AsInt();
  auto stub = Stub<PostController>();
  grpc::ClientContext ctx;
  blog::v1::PostPartialUpdateRequest request;
  request.set_id(id);
  request.mutable_title()->set_value("new");
  Post response;
  ASSERT_THAT(stub->PartialUpdate(&ctx, request, &response), IsOk());
  EXPECT_EQ(response.title(), "new");
  EXPECT_EQ(response.content(), "kept");
}

TEST_F(PostServiceTest, PartialUpdateByUpdateMask) {
  const auto id = Posts().Create({{"title", "old"}, {"content", "old"}})["id"].AsInt();
  auto stub = Stub<PostController>();
  grpc::ClientContext ctx;
  blog::v1::PostPartialUpdateRequest request;
  request.set_id(id);
  request.mutable_title()->set_value("not in the mask");
  request.mutable_content()->set_value("new");
  request.mutable_update_mask()->add_paths("content");
  Post response;
  ASSERT_THAT(stub->PartialUpdate(&ctx, request, &response), IsOk());
  EXPECT_EQ(response.title(), "old");
  EXPECT_EQ(response.content(), "new");

  grpc::ClientContext ctx2;
  request.mutable_update_mask()->add_paths("body");
  EXPECT_THAT(stub->PartialUpdate(&ctx2, request, &response),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT, "update_mask: unknown field 'body'"));
}

TEST_F(PostServiceTest, DestroyPostThenDestroyAgainIsNotFound) {
  const auto id = Posts().Create({{"title", "t"}, {"content", "c"}})["id"].AsInt();
  auto stub = Stub<PostController>();
  Post request;
  request.set_id(id);
  google::protobuf::Empty empty;
  {
    grpc::ClientContext ctx;
    ASSERT_THAT(stub->Destroy(&ctx, request, &empty), IsOk());
  }
  EXPECT_EQ(Posts().Count(), 0);
  grpc::ClientContext ctx;
  EXPECT_THAT(stub->Destroy(&ctx, request, &empty),
              StatusIs(grpc::StatusCode::NOT_FOUND, "Post: " + std::to_string(id) + " not found"));
}

// [post_validation_test]
TEST_F(PostServiceTest, TitleLongerThan100CharactersIsRejected) {
  auto stub = Stub<PostController>();
  grpc::ClientContext ctx;
  Post response;
  grpc::Status status = stub->Create(&ctx, MakePost(std::string(101, 'x'), "content"), &response);
  EXPECT_THAT(status, StatusIs(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_THAT(status, HasFieldViolation("title", HasSubstr("at most 100 characters")));
  EXPECT_EQ(Posts().Count(), 0);
}
// [post_validation_test end]

TEST_F(PostServiceTest, BlankTitleAndContentAreBothReported) {
  auto stub = Stub<PostController>();
  grpc::ClientContext ctx;
  Post response;
  grpc::Status status = stub->Create(&ctx, MakePost("", ""), &response);
  EXPECT_THAT(status, HasFieldViolation("title", "This field cannot be blank."));
  EXPECT_THAT(status, HasFieldViolation("content", "This field cannot be blank."));
}

TEST_F(PostServiceTest, ListFiltersByTitle) {
  Posts().Create({{"title", "Hello"}, {"content", "a"}});
  Posts().Create({{"title", "Other"}, {"content", "b"}});
  auto stub = Stub<PostController>();
  grpc::ClientContext ctx;
  blog::v1::PostListRequest request;
  request.set_filter(R"(title = "Hello")");
  auto reader = stub->List(&ctx, request);
  std::vector<Post> posts;
  for (Post post; posts.size() < 100 && reader->Read(&post);) posts.push_back(post);
  ASSERT_THAT(reader->Finish(), IsOk());
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].title(), "Hello");
}
