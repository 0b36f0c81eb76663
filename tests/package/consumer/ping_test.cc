// SPDX-License-Identifier: Apache-2.0
#include <gmock/gmock.h>
#include <grpcpp/client_context.h>
#include <gtest/gtest.h>
#include <rpcforge/testing/matchers.h>
#include <rpcforge/testing/test_server.h>

#include "consumer/v1/ping.grpc.pb.h"

using rpcforge::testing::HasFieldViolation;
using rpcforge::testing::IsOk;

TEST(Consumer, PingsThroughTheInstalledPackage) {
  rpcforge::testing::TestServer server;  // the services registered in App::Default()
  auto stub = server.Stub<consumer::v1::Pinger>();
  consumer::v1::PingRequest request;
  request.set_text("hi");
  consumer::v1::PingReply reply;
  grpc::ClientContext ctx;
  EXPECT_THAT(stub->Ping(&ctx, request, &reply), IsOk());
  EXPECT_EQ(reply.text(), "pong: hi");

  grpc::ClientContext ctx2;
  EXPECT_THAT(stub->Ping(&ctx2, consumer::v1::PingRequest(), &reply), HasFieldViolation("text"));
}
