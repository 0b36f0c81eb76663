// SPDX-License-Identifier: Apache-2.0
// Examples quoted by docs/testing.md that are not part of a sample: fake time and
// testing a middleware without a server. Compiled and run as a test.
#include <gmock/gmock.h>
#include <grpcpp/client_context.h>
#include <gtest/gtest.h>
#include <rpcforge/app.h>
#include <rpcforge/testing/fake_clock.h>
#include <rpcforge/testing/fake_context.h>
#include <rpcforge/testing/matchers.h>
#include <rpcforge/testing/signal_recorder.h>
#include <rpcforge/testing/test_server.h>

#include "greeter.h"
#include "helloworld/v1/helloworld.grpc.pb.h"

using rpcforge::testing::FakeClock;
using rpcforge::testing::FakeContext;
using rpcforge::testing::IsOk;
using rpcforge::testing::SignalRecorder;
using rpcforge::testing::StatusIs;

namespace {

// [office_hours_middleware]
// Rejects calls outside 09:00-17:00 UTC, reading time from the call's clock.
class OfficeHours : public rpcforge::Middleware {
 public:
  grpc::Status Handle(rpcforge::ServerCall& call, rpcforge::Next next) override {
    const auto now = call.context().clock().Now();
    const auto hour = std::chrono::floor<std::chrono::hours>(now.time_since_epoch()).count() % 24;
    if (hour < 9 || hour >= 17) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "Closed; open 09:00-17:00 UTC");
    }
    return next();
  }
};
// [office_hours_middleware end]

// [fake_clock_test]
TEST(OfficeHours, OpensAndClosesWithTheFakeClock) {
  FakeClock clock;  // starts at 2026-01-01T00:00:00Z
  rpcforge::App app;
  app.AddService<helloworld::Greeter>();
  app.RegisterMiddleware("office_hours", [](const rpcforge::MiddlewareEnv&) {
    return std::make_shared<OfficeHours>();
  });
  rpcforge::testing::TestServerOptions options;
  options.app = &app;
  options.clock = &clock;
  options.config = {{"middlewares", "office_hours"}};
  rpcforge::testing::TestServer server(options);
  auto stub = server.Stub<helloworld::v1::Greeter>();

  auto say_hello = [&] {
    grpc::ClientContext ctx;
    helloworld::v1::HelloRequest request;
    request.set_name("Ada");
    helloworld::v1::HelloReply reply;
    return stub->SayHello(&ctx, request, &reply);
  };
  EXPECT_THAT(say_hello(), StatusIs(grpc::StatusCode::UNAVAILABLE));
  clock.Advance(std::chrono::hours(10));  // 10:00
  EXPECT_THAT(say_hello(), IsOk());
  clock.Advance(std::chrono::hours(8));  // 18:00
  EXPECT_THAT(say_hello(), StatusIs(grpc::StatusCode::UNAVAILABLE));
}
// [fake_clock_test end]

// [pipeline_direct_test]
TEST(OfficeHours, WorksOnADirectCallThroughThePipeline) {
  rpcforge::App app;
  app.RegisterMiddleware("office_hours", [](const rpcforge::MiddlewareEnv&) {
    return std::make_shared<OfficeHours>();
  });
  FakeClock clock(FakeClock::DefaultStart() + std::chrono::hours(12));
  helloworld::Greeter greeter;
  helloworld::v1::HelloRequest request;
  request.set_name("Ada");
  FakeContext ctx;
  ctx.SetClock(&clock);
  helloworld::v1::HelloReply reply;
  grpc::Status status = rpcforge::testing::CallThroughPipeline(
      app, ctx, rpcforge::testing::FindMethod(greeter, "SayHello"), &request,
      [&](rpcforge::Context& c) { reply = greeter.SayHello(c, request); }, {"office_hours"});
  EXPECT_THAT(status, IsOk());
  EXPECT_EQ(reply.message(), "Hello, Ada!");
}
// [pipeline_direct_test end]

// [signal_recorder_test]
TEST(Signals, RecordEveryCall) {
  rpcforge::App app;
  app.AddService<helloworld::Greeter>();
  rpcforge::testing::TestServer server(app);
  SignalRecorder signals(app);
  auto stub = server.Stub<helloworld::v1::Greeter>();
  grpc::ClientContext ctx;
  helloworld::v1::HelloRequest request;
  request.set_name("John");
  helloworld::v1::HelloReply reply;
  EXPECT_THAT(stub->SayHello(&ctx, request, &reply), StatusIs(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_EQ(signals.Count(SignalRecorder::kFinished, "/helloworld.v1.Greeter/SayHello"), 1u);
  EXPECT_EQ(signals.Count(SignalRecorder::kException), 1u);  // the AbortError
}
// [signal_recorder_test end]

}  // namespace
