// SPDX-License-Identifier: Apache-2.0
// helloworld's tests: direct handler calls with FakeContext, and real RPCs through the
// in-process TestServer (and over loopback TCP), using rpcforge's testing library.
#include "greeter.h"

#include <gmock/gmock.h>
#include <grpcpp/client_context.h>
#include <gtest/gtest.h>
#include <rpcforge/testing/fake_context.h>
#include <rpcforge/testing/fake_streams.h>
#include <rpcforge/testing/matchers.h>
#include <rpcforge/testing/test_server.h>

#include "helloworld/v1/helloworld.grpc.pb.h"

using helloworld::Greeter;
using helloworld::v1::HelloReply;
using helloworld::v1::HelloRequest;
using rpcforge::testing::EqualsProto;
using rpcforge::testing::FakeContext;
using rpcforge::testing::HasFieldViolation;
using rpcforge::testing::HasMetadata;
using rpcforge::testing::IsOk;
using rpcforge::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

namespace {

HelloRequest Named(const std::string& name, int count = 0) {
  HelloRequest request;
  request.set_name(name);
  request.set_count(count);
  return request;
}

// --- Direct calls: the handler is an ordinary C++ method. ---------------------------

// [fake_context_test]
TEST(GreeterDirect, SaysHelloAndSetsTrailingMetadata) {
  Greeter greeter;
  FakeContext ctx;
  HelloReply reply = greeter.SayHello(ctx, Named("Ada"));
  EXPECT_THAT(reply, EqualsProto(R"pb(message: "Hello, Ada!")pb"));
  EXPECT_FALSE(ctx.aborted());
  EXPECT_EQ(ctx.trailing("x-greeted"), "Ada");
}

TEST(GreeterDirect, RefusesJohn) {
  Greeter greeter;
  FakeContext ctx;
  EXPECT_THROW(greeter.SayHello(ctx, Named("John")), rpcforge::AbortError);
  EXPECT_TRUE(ctx.aborted());
  EXPECT_EQ(ctx.abort_status(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ctx.abort_message(), "Cannot say hello to John");
}
// [fake_context_test end]

TEST(GreeterDirect, BlankNameIsAValidationError) {
  Greeter greeter;
  FakeContext ctx;
  try {
    greeter.SayHello(ctx, Named(""));
    FAIL() << "no error";
  } catch (const rpcforge::ValidationError& e) {
    ASSERT_EQ(e.violations().size(), 1u);
    EXPECT_EQ(e.violations()[0].field, "name");
  }
  EXPECT_FALSE(ctx.aborted());
}

// [streaming_test]
TEST(GreeterDirect, StreamsWithFakeWriterAndReader) {
  Greeter greeter;
  FakeContext ctx;
  rpcforge::testing::FakeWriter<HelloReply> writer;
  greeter.LotsOfReplies(ctx, Named("Bo", 2), writer);
  ASSERT_EQ(writer.messages().size(), 2u);
  EXPECT_EQ(writer.messages()[1].message(), "Hello, Bo! (2)");

  rpcforge::testing::FakeReader<HelloRequest> reader({Named("a"), Named("b"), Named("c")});
  EXPECT_EQ(greeter.LotsOfGreetings(ctx, reader).message(), "Hello, a, b and c!");
  EXPECT_EQ(reader.consumed(), 3u);
}
// [streaming_test end]

TEST(GreeterDirect, StopsWritingWhenTheClientGoesAway) {
  Greeter greeter;
  FakeContext ctx;
  rpcforge::testing::FakeWriter<HelloReply> writer;
  writer.FailAfter(2);
  greeter.LotsOfReplies(ctx, Named("Bo", 50), writer);
  EXPECT_EQ(writer.messages().size(), 2u);
  EXPECT_EQ(writer.attempts(), 3u);  // one failed write, then it stopped
}

// --- Through real gRPC: the in-process channel, with the whole pipeline. ------------

class GreeterRpc : public ::testing::TestWithParam<bool> {
 protected:
  GreeterRpc() {
    app_.AddService<Greeter>();
    rpcforge::testing::TestServerOptions options;
    options.app = &app_;
    options.listen_on_loopback = GetParam();
    server_ = std::make_unique<rpcforge::testing::TestServer>(options);
    stub_ = GetParam() ? server_->TcpStub<helloworld::v1::Greeter>()
                       : server_->Stub<helloworld::v1::Greeter>();
  }
  rpcforge::App app_;
  std::unique_ptr<rpcforge::testing::TestServer> server_;
  std::unique_ptr<helloworld::v1::Greeter::Stub> stub_;
};

INSTANTIATE_TEST_SUITE_P(Transports, GreeterRpc, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Tcp" : "InProcess"; });

// [rpc_test]
TEST_P(GreeterRpc, SayHello) {
  grpc::ClientContext ctx;
  HelloReply reply;
  EXPECT_THAT(stub_->SayHello(&ctx, Named("Ada"), &reply), IsOk());
  EXPECT_EQ(reply.message(), "Hello, Ada!");
  EXPECT_THAT(ctx.GetServerTrailingMetadata(), HasMetadata("x-greeted", "Ada"));
}

TEST_P(GreeterRpc, JohnIsInvalidArgument) {
  grpc::ClientContext ctx;
  HelloReply reply;
  EXPECT_THAT(stub_->SayHello(&ctx, Named("John"), &reply),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT, "Cannot say hello to John"));
}

TEST_P(GreeterRpc, BlankNameCarriesAFieldViolation) {
  grpc::ClientContext ctx;
  HelloReply reply;
  grpc::Status status = stub_->SayHello(&ctx, Named(""), &reply);
  EXPECT_THAT(status, StatusIs(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_THAT(status, HasFieldViolation("name", HasSubstr("blank")));
}
// [rpc_test end]

// The name is echoed in a trailer; a long one would make the trailers bigger than
// clients accept (grpc-js refuses the whole response).
TEST_P(GreeterRpc, NamesLongerThan100CharactersAreAFieldViolation) {
  grpc::ClientContext ctx;
  HelloReply reply;
  EXPECT_THAT(stub_->SayHello(&ctx, Named(std::string(100, 'a')), &reply), IsOk());
  grpc::ClientContext ctx2;
  grpc::Status status = stub_->SayHello(&ctx2, Named(std::string(101, 'a')), &reply);
  EXPECT_THAT(status, HasFieldViolation("name", HasSubstr("no more than 100 characters")));
}

TEST_P(GreeterRpc, LotsOfReplies) {
  grpc::ClientContext ctx;
  auto reader = stub_->LotsOfReplies(&ctx, Named("Bo", 3));
  std::vector<std::string> got;
  HelloReply reply;
  while (reader->Read(&reply)) got.push_back(reply.message());
  EXPECT_THAT(reader->Finish(), IsOk());
  EXPECT_THAT(got, ElementsAre("Hello, Bo! (1)", "Hello, Bo! (2)", "Hello, Bo! (3)"));
}

TEST_P(GreeterRpc, LotsOfGreetings) {
  grpc::ClientContext ctx;
  HelloReply reply;
  auto writer = stub_->LotsOfGreetings(&ctx, &reply);
  for (const char* name : {"a", "b"}) writer->Write(Named(name));
  writer->WritesDone();
  EXPECT_THAT(writer->Finish(), IsOk());
  EXPECT_EQ(reply.message(), "Hello, a and b!");
}

TEST_P(GreeterRpc, BidiHelloAnswersEachName) {
  grpc::ClientContext ctx;
  auto stream = stub_->BidiHello(&ctx);
  HelloReply reply;
  for (const char* name : {"x", "y", "z"}) {
    ASSERT_TRUE(stream->Write(Named(name)));
    ASSERT_TRUE(stream->Read(&reply));
    EXPECT_EQ(reply.message(), std::string("Hello, ") + name + "!");
  }
  stream->WritesDone();
  EXPECT_THAT(stream->Finish(), IsOk());
}

TEST_P(GreeterRpc, BidiStopsWithJohn) {
  grpc::ClientContext ctx;
  auto stream = stub_->BidiHello(&ctx);
  HelloReply reply;
  stream->Write(Named("x"));
  ASSERT_TRUE(stream->Read(&reply));
  stream->Write(Named("John"));
  stream->WritesDone();
  while (stream->Read(&reply)) {
  }
  EXPECT_THAT(stream->Finish(), StatusIs(grpc::StatusCode::INVALID_ARGUMENT));
}

}  // namespace
