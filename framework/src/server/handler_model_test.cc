// SPDX-License-Identifier: Apache-2.0
// The generated handler model through real gRPC: all four RPC kinds, errors at the
// one boundary, metadata, deadlines and cancellation, in-process and over loopback TCP.
#include <gmock/gmock.h>
#include <grpcpp/client_context.h>
#include <grpcpp/completion_queue.h>
#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "rpcforge/app.h"
#include "rpcforge/server/dispatcher.h"
#include "rpcforge/testing/matchers.h"
#include "rpcforge/testing/test_server.h"
#include "server/testdata/echo.grpc.pb.h"
#include "server/testdata/echo_service.h"

using rpcforge::test::EchoRequest;
using rpcforge::test::EchoResponse;
using rpcforge::test::EchoService;
using rpcforge::testing::StatusIs;
using rpcforge_test::EchoImpl;
using ::testing::HasSubstr;
using ::testing::StartsWith;

namespace {

EchoRequest Req(std::string message, int count = 0) {
  EchoRequest r;
  r.set_message(std::move(message));
  r.set_count(count);
  return r;
}

std::string Trailer(const grpc::ClientContext& ctx, const std::string& key) {
  auto md = ctx.GetServerTrailingMetadata();
  auto it = md.find(key);
  return it == md.end() ? "<missing>" : std::string(it->second.data(), it->second.size());
}

// Runs every test twice: over the in-process channel and over loopback TCP.
class HandlerModel : public ::testing::TestWithParam<bool> {
 protected:
  HandlerModel() {
    impl_ = app_.AddService<EchoImpl>();
    rpcforge::testing::TestServerOptions options;
    options.app = &app_;
    options.listen_on_loopback = true;
    server_ = std::make_unique<rpcforge::testing::TestServer>(options);
    stub_ = GetParam() ? server_->TcpStub<EchoService>() : server_->Stub<EchoService>();
  }

  rpcforge::App app_;
  std::shared_ptr<EchoImpl> impl_;
  std::unique_ptr<rpcforge::testing::TestServer> server_;
  std::unique_ptr<EchoService::Stub> stub_;
};

INSTANTIATE_TEST_SUITE_P(Transports, HandlerModel, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Tcp" : "InProcess"; });

TEST_P(HandlerModel, UnaryReturnsTheHandlersResponse) {
  grpc::ClientContext ctx;
  EchoResponse resp;
  grpc::Status s = stub_->Echo(&ctx, Req("hello"), &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.message(), "hello");
  EXPECT_EQ(resp.remaining_ms(), -1);  // no deadline set
}

TEST_P(HandlerModel, MetadataFlowsBothWaysIncludingBinary) {
  grpc::ClientContext ctx;
  ctx.AddMetadata("x-echo", "one");
  ctx.AddMetadata("x-echo", "two");
  const std::string binary("\x00\x01\xff\n", 4);
  ctx.AddMetadata("x-data-bin", binary);
  EchoResponse resp;
  ASSERT_TRUE(stub_->Echo(&ctx, Req("m"), &resp).ok());
  auto trailing = ctx.GetServerTrailingMetadata();
  auto [first, last] = trailing.equal_range("x-echo");
  std::vector<std::string> values;
  for (auto it = first; it != last; ++it) values.emplace_back(it->second.data(), it->second.size());
  EXPECT_THAT(values, ::testing::ElementsAre("one", "two"));
  EXPECT_EQ(Trailer(ctx, "x-data-bin"), binary);
  auto initial = ctx.GetServerInitialMetadata();
  ASSERT_EQ(initial.count("x-initial"), 1u);
}

TEST_P(HandlerModel, PeerComesFromTheTransport) {
  grpc::ClientContext ctx;
  ctx.AddMetadata("x-forwarded-for", "6.6.6.6");
  EchoResponse resp;
  ASSERT_TRUE(stub_->Echo(&ctx, Req("m"), &resp).ok());
  if (GetParam()) {
    EXPECT_THAT(resp.peer(), StartsWith("ipv4:127.0.0.1:"));
  } else {
    EXPECT_THAT(resp.peer(), Not(HasSubstr("6.6.6.6")));
  }
}

TEST_P(HandlerModel, ServerStreamingSendsEveryMessage) {
  grpc::ClientContext ctx;
  auto reader = stub_->Expand(&ctx, Req("x", 500));
  EchoResponse resp;
  int n = 0;
  while (reader->Read(&resp)) {
    EXPECT_EQ(resp.index(), n);
    ++n;
  }
  EXPECT_TRUE(reader->Finish().ok());
  EXPECT_EQ(n, 500);
}

TEST_P(HandlerModel, AbortInTheMiddleOfAServerStream) {
  grpc::ClientContext ctx;
  EchoRequest req = Req("x", 10);
  req.set_abort_at(4);
  auto reader = stub_->Expand(&ctx, req);
  EchoResponse resp;
  int n = 0;
  while (reader->Read(&resp)) ++n;
  grpc::Status s = reader->Finish();
  EXPECT_EQ(n, 4);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_EQ(s.error_message(), "stopped at 4");
}

TEST_P(HandlerModel, ClientStreamingReadsManyMessages) {
  grpc::ClientContext ctx;
  EchoResponse resp;
  auto writer = stub_->Collect(&ctx, &resp);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(writer->Write(Req("a")));
  ASSERT_TRUE(writer->WritesDone());
  ASSERT_TRUE(writer->Finish().ok());
  EXPECT_EQ(resp.index(), 1000);
  EXPECT_EQ(resp.message(), std::string(1000, 'a'));
}

TEST_P(HandlerModel, ClientStreamingAbortEndsTheCall) {
  grpc::ClientContext ctx;
  EchoResponse resp;
  auto writer = stub_->Collect(&ctx, &resp);
  EchoRequest req = Req("a");
  req.set_abort_at(3);
  for (int i = 0; i < 3; ++i) writer->Write(req);
  writer->WritesDone();
  grpc::Status s = writer->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_EQ(s.error_message(), "stopped at 3");
}

TEST_P(HandlerModel, BidiStreamingInterleavesManyMessages) {
  grpc::ClientContext ctx;
  auto stream = stub_->Chat(&ctx);
  EchoResponse resp;
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE(stream->Write(Req("m" + std::to_string(i))));
    ASSERT_TRUE(stream->Read(&resp));
    EXPECT_EQ(resp.message(), "m" + std::to_string(i));
    EXPECT_EQ(resp.index(), i);
  }
  stream->WritesDone();
  EXPECT_FALSE(stream->Read(&resp));
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_P(HandlerModel, BidiErrorMidStreamEndsWithItsStatus) {
  grpc::ClientContext ctx;
  auto stream = stub_->Chat(&ctx);
  EchoResponse resp;
  ASSERT_TRUE(stream->Write(Req("ok")));
  ASSERT_TRUE(stream->Read(&resp));
  EchoRequest bad = Req("bad");
  bad.set_fail("not_found");
  stream->Write(bad);
  stream->WritesDone();
  while (stream->Read(&resp)) {
  }
  grpc::Status s = stream->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "Echo: 42 not found");
}

TEST_P(HandlerModel, UnimplementedHandlerAnswersUnimplemented) {
  grpc::ClientContext ctx;
  EchoResponse resp;
  grpc::Status s = stub_->Unimplemented(&ctx, Req("x"), &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_THAT(s.error_message(), HasSubstr("/rpcforge.test.EchoService/Unimplemented"));
}

// Raw sends `messages` (already serialized) to `method` and returns the status.
grpc::Status RawCall(std::shared_ptr<grpc::Channel> channel, const std::string& method,
                     const std::vector<std::string>& messages) {
  grpc::GenericStub generic(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::CompletionQueue cq;
  auto call = generic.PrepareCall(&ctx, method, &cq);
  void* tag;
  bool ok;
  call->StartCall(reinterpret_cast<void*>(1));
  cq.Next(&tag, &ok);
  for (const auto& m : messages) {
    grpc::Slice slice(m);
    grpc::ByteBuffer buffer(&slice, 1);
    call->Write(buffer, reinterpret_cast<void*>(2));
    cq.Next(&tag, &ok);
    if (!ok) break;
  }
  call->WritesDone(reinterpret_cast<void*>(3));
  cq.Next(&tag, &ok);
  grpc::Status status;
  for (int i = 0; i < 100; ++i) {  // drain responses, bounded
    grpc::ByteBuffer response;
    call->Read(&response, reinterpret_cast<void*>(4));
    cq.Next(&tag, &ok);
    if (!ok) break;
  }
  call->Finish(&status, reinterpret_cast<void*>(5));
  cq.Next(&tag, &ok);
  return status;
}

TEST_P(HandlerModel, AMessageThatDoesNotParseIsInvalidArgumentNamingItsType) {
  auto channel = GetParam() ? server_->TcpChannel() : server_->channel();
  const std::string bad(
      "\x0a\x05"
      "ab",
      4);  // message: length 5, 2 bytes follow
  EXPECT_THAT(RawCall(channel, "/rpcforge.test.EchoService/Echo", {bad}),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                       HasSubstr("The request is not a valid rpcforge.test.EchoRequest")));
  EXPECT_THAT(RawCall(channel, "/rpcforge.test.EchoService/Expand", {bad}),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("The request is not")));
  EchoRequest good;
  good.set_message("fine");
  EXPECT_THAT(
      RawCall(channel, "/rpcforge.test.EchoService/Collect", {good.SerializeAsString(), bad}),
      StatusIs(grpc::StatusCode::INVALID_ARGUMENT,
               HasSubstr("Message 2 of the stream is not a valid rpcforge.test.EchoRequest")));
  EXPECT_THAT(RawCall(channel, "/rpcforge.test.EchoService/Chat", {bad}),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("Message 1 of the stream")));
}

TEST_P(HandlerModel, UnknownMethodAnswersUnimplemented) {
  grpc::GenericStub generic(GetParam() ? server_->TcpChannel() : server_->channel());
  grpc::ClientContext ctx;
  grpc::Slice empty("");
  grpc::ByteBuffer request(&empty, 1), response;
  grpc::Status status;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  generic.UnaryCall(&ctx, "/rpcforge.test.EchoService/NoSuchMethod", grpc::StubOptions(), &request,
                    &response, [&](grpc::Status s) {
                      std::lock_guard<std::mutex> lock(mu);
                      status = s;
                      done = true;
                      cv.notify_all();
                    });
  std::unique_lock<std::mutex> lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return done; }));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
}

TEST_P(HandlerModel, TypedErrorsKeepTheirCodeAndMessage) {
  for (const auto& [fail, code, message] :
       std::vector<std::tuple<std::string, grpc::StatusCode, std::string>>{
           {"not_found", grpc::StatusCode::NOT_FOUND, "Echo: 42 not found"},
           {"abort", grpc::StatusCode::FAILED_PRECONDITION, "aborted by request"},
           {"set_code", grpc::StatusCode::OUT_OF_RANGE, "set without abort"},
           {"runtime", grpc::StatusCode::INTERNAL, "Internal server error"},
           {"int", grpc::StatusCode::INTERNAL, "Internal server error"},
           {"bad_metadata", grpc::StatusCode::INTERNAL, "Internal server error"},
       }) {
    grpc::ClientContext ctx;
    EchoRequest req = Req("x");
    req.set_fail(fail);
    EchoResponse resp;
    grpc::Status s = stub_->Echo(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), code) << fail;
    EXPECT_EQ(s.error_message(), message) << fail;
  }
}

// Trailers are bounded so that every client accepts the response: six 1 KiB trailers
// arrive, a seventh fails the call cleanly instead of the client refusing it.
TEST_P(HandlerModel, ResponseMetadataIsBoundedBelowWhatClientsAccept) {
  {
    grpc::ClientContext ctx;
    EchoRequest req = Req("x");
    req.set_fail("big_metadata");
    EchoResponse resp;
    ASSERT_TRUE(stub_->Echo(&ctx, req, &resp).ok());
    EXPECT_EQ(Trailer(ctx, "x-big-5"), std::string(1000, 'a'));
  }
  grpc::ClientContext ctx;
  EchoRequest req = Req("x", 1);
  req.set_fail("big_metadata");
  EchoResponse resp;
  EXPECT_THAT(stub_->Echo(&ctx, req, &resp),
              StatusIs(grpc::StatusCode::INTERNAL, "Internal server error"));
}

TEST_P(HandlerModel, ValidationErrorSendsBadRequestDetails) {
  grpc::ClientContext ctx;
  EchoRequest req = Req("");
  req.set_fail("validation");
  EchoResponse resp;
  grpc::Status s = stub_->Echo(&ctx, req, &resp);
  ASSERT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  // A standard client reads the details from grpc-status-details-bin.
  google::rpc::Status status;
  ASSERT_TRUE(status.ParseFromString(s.error_details()));
  ASSERT_EQ(status.details_size(), 1);
  google::rpc::BadRequest bad;
  ASSERT_TRUE(status.details(0).UnpackTo(&bad));
  ASSERT_EQ(bad.field_violations_size(), 2);
  EXPECT_EQ(bad.field_violations(0).field(), "message");
  EXPECT_EQ(bad.field_violations(1).field(), "count");
  auto md = ctx.GetServerTrailingMetadata();
  EXPECT_EQ(md.count("grpc-status-details-bin"), 1u);
}

TEST_P(HandlerModel, HandlerSeesTheDeadline) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  EchoResponse resp;
  ASSERT_TRUE(stub_->Echo(&ctx, Req("x"), &resp).ok());
  EXPECT_GT(resp.remaining_ms(), 20000);
  EXPECT_LE(resp.remaining_ms(), 31000);  // the wire timeout is rounded up
}

TEST_P(HandlerModel, DeadlineExceededReachesTheClientAndTheHandlerSeesIt) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(100));
  EchoRequest req = Req("x");
  req.set_sleep_ms(5000);  // the handler stops early once it sees the cancellation
  EchoResponse resp;
  const auto start = std::chrono::steady_clock::now();
  grpc::Status s = stub_->Echo(&ctx, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
}

TEST_P(HandlerModel, ClientCancellationIsVisibleToTheHandler) {
  grpc::ClientContext ctx;
  EchoRequest req = Req("x");
  req.set_sleep_ms(5000);
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ctx.TryCancel();
  });
  EchoResponse resp;
  const auto start = std::chrono::steady_clock::now();
  grpc::Status s = stub_->Echo(&ctx, req, &resp);
  canceller.join();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::CANCELLED);
  // The handler notices and returns long before its 5 s sleep would end.
  auto& dispatcher = server_->server().dispatcher();
  for (int i = 0; i < 400 && dispatcher.busy_workers() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(dispatcher.busy_workers(), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
}

}  // namespace
