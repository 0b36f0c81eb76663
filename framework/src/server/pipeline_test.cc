// SPDX-License-Identifier: Apache-2.0
// The middleware pipeline: order, short-circuit, errors, signals for every RPC kind,
// the concurrency guard, the worker limit, and identity kept per request.
#include <gmock/gmock.h>
#include <grpcpp/client_context.h>
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "rpcforge/app.h"
#include "rpcforge/server/dispatcher.h"
#include "rpcforge/testing/fake_context.h"
#include "rpcforge/testing/fake_streams.h"
#include "rpcforge/testing/signal_recorder.h"
#include "rpcforge/testing/test_server.h"
#include "server/call_state.h"
#include "server/testdata/echo.grpc.pb.h"
#include "server/testdata/echo_service.h"

using rpcforge::Next;
using rpcforge::ServerCall;
using rpcforge::test::EchoRequest;
using rpcforge::test::EchoResponse;
using rpcforge::test::EchoService;
using rpcforge::testing::SignalRecorder;
using rpcforge_test::EchoImpl;
using ::testing::ElementsAre;

namespace {

EchoRequest Req(std::string message, int count = 0) {
  EchoRequest r;
  r.set_message(std::move(message));
  r.set_count(count);
  return r;
}

// Records the order middlewares run in, before and after the handler.
class Tracer : public rpcforge::Middleware {
 public:
  Tracer(std::string name, std::vector<std::string>* log, std::mutex* mu)
      : name_(std::move(name)), log_(log), mu_(mu) {}
  grpc::Status Handle(ServerCall& call, Next next) override {
    Add(name_ + ">");
    grpc::Status s = next();
    Add("<" + name_ + ":" + std::to_string(s.error_code()));
    return s;
  }

 private:
  void Add(std::string s) {
    std::lock_guard<std::mutex> lock(*mu_);
    log_->push_back(std::move(s));
  }
  std::string name_;
  std::vector<std::string>* log_;
  std::mutex* mu_;
};

// Rejects calls without "x-pass" metadata; sets the user from "x-user".
class Gate : public rpcforge::Middleware {
 public:
  grpc::Status Handle(ServerCall& call, Next next) override {
    if (!call.context().GetMetadata("x-pass")) {
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "no pass");
    }
    if (auto user = call.context().GetMetadata("x-user")) {
      rpcforge::auth::User u;
      u.username = std::string(*user);
      rpcforge::context_internal::CallState::SetUser(call.context(), u);
    }
    return next();
  }
};

class Thrower : public rpcforge::Middleware {
 public:
  grpc::Status Handle(ServerCall&, Next) override {
    throw rpcforge::Unauthenticated("thrown by middleware");
  }
};

class Pipeline : public ::testing::Test {
 protected:
  Pipeline() { impl_ = app_.AddService<EchoImpl>(); }

  std::unique_ptr<rpcforge::testing::TestServer> Start(std::vector<std::string> middlewares,
                                                       int max_workers = 16,
                                                       int max_concurrent = 1000) {
    rpcforge::testing::TestServerOptions options;
    options.app = &app_;
    std::string chain;
    for (const auto& m : middlewares) chain += (chain.empty() ? "" : ",") + m;
    if (!chain.empty()) options.config.emplace_back("middlewares", chain);
    options.config.emplace_back("server.max_workers", std::to_string(max_workers));
    options.config.emplace_back("server.max_concurrent_rpcs", std::to_string(max_concurrent));
    return std::make_unique<rpcforge::testing::TestServer>(options);
  }

  rpcforge::App app_;
  std::shared_ptr<EchoImpl> impl_;
  std::vector<std::string> log_;
  std::mutex log_mu_;
};

TEST_F(Pipeline, MiddlewaresRunInConfiguredOrderAroundTheHandler) {
  app_.RegisterMiddleware("a", [this](const rpcforge::MiddlewareEnv&) {
    return std::make_shared<Tracer>("a", &log_, &log_mu_);
  });
  app_.RegisterMiddleware("b", [this](const rpcforge::MiddlewareEnv&) {
    return std::make_shared<Tracer>("b", &log_, &log_mu_);
  });
  auto server = Start({"b", "a"});
  auto stub = server->Stub<EchoService>();
  grpc::ClientContext ctx;
  EchoResponse resp;
  ASSERT_TRUE(stub->Echo(&ctx, Req("x"), &resp).ok());
  EXPECT_THAT(log_, ElementsAre("b>", "a>", "<a:0", "<b:0"));
}

TEST_F(Pipeline, OuterMiddlewaresSeeHandlerErrorsAsStatuses) {
  app_.RegisterMiddleware("a", [this](const rpcforge::MiddlewareEnv&) {
    return std::make_shared<Tracer>("a", &log_, &log_mu_);
  });
  auto server = Start({"a"});
  auto stub = server->Stub<EchoService>();
  grpc::ClientContext ctx;
  EchoRequest req = Req("x");
  req.set_fail("not_found");
  EchoResponse resp;
  EXPECT_EQ(stub->Echo(&ctx, req, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(log_, ElementsAre("a>", "<a:5"));
}

TEST_F(Pipeline, MiddlewareCanShortCircuitWithAStatus) {
  app_.RegisterMiddleware("gate",
                          [](const rpcforge::MiddlewareEnv&) { return std::make_shared<Gate>(); });
  auto server = Start({"gate"});
  auto stub = server->Stub<EchoService>();
  {
    grpc::ClientContext ctx;
    EchoResponse resp;
    grpc::Status s = stub->Echo(&ctx, Req("x"), &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_EQ(s.error_message(), "no pass");
  }
  {
    grpc::ClientContext ctx;
    ctx.AddMetadata("x-pass", "1");
    EchoResponse resp;
    EXPECT_TRUE(stub->Echo(&ctx, Req("x"), &resp).ok());
  }
}

TEST_F(Pipeline, AMiddlewareThatThrowsIsMappedLikeAHandler) {
  app_.RegisterMiddleware(
      "thrower", [](const rpcforge::MiddlewareEnv&) { return std::make_shared<Thrower>(); });
  auto server = Start({"signals", "thrower"});
  SignalRecorder signals(app_);
  auto stub = server->Stub<EchoService>();
  grpc::ClientContext ctx;
  EchoResponse resp;
  grpc::Status s = stub->Echo(&ctx, Req("x"), &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(s.error_message(), "thrown by middleware");
  EXPECT_EQ(signals.Count(SignalRecorder::kException), 1u);
}

TEST_F(Pipeline, UnknownMiddlewareNameIsAClearError) {
  try {
    Start({"signals", "no_such_thing"});
    FAIL() << "expected an error";
  } catch (const rpcforge::InvalidArgument& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("no_such_thing"));
    EXPECT_THAT(e.what(), ::testing::HasSubstr("max_concurrency"));
  }
}

TEST_F(Pipeline, SignalsFireForAllFourKinds) {
  auto server = Start({"signals"});
  SignalRecorder signals(app_);
  auto stub = server->Stub<EchoService>();
  {
    grpc::ClientContext ctx;
    EchoResponse resp;
    ASSERT_TRUE(stub->Echo(&ctx, Req("x"), &resp).ok());
  }
  {
    grpc::ClientContext ctx;
    auto reader = stub->Expand(&ctx, Req("x", 7));
    EchoResponse resp;
    while (reader->Read(&resp)) {
    }
    ASSERT_TRUE(reader->Finish().ok());
  }
  {
    grpc::ClientContext ctx;
    EchoResponse resp;
    auto writer = stub->Collect(&ctx, &resp);
    for (int i = 0; i < 5; ++i) writer->Write(Req("a"));
    writer->WritesDone();
    ASSERT_TRUE(writer->Finish().ok());
  }
  {
    grpc::ClientContext ctx;
    auto stream = stub->Chat(&ctx);
    EchoResponse resp;
    for (int i = 0; i < 3; ++i) {
      stream->Write(Req("b"));
      stream->Read(&resp);
    }
    stream->WritesDone();
    ASSERT_TRUE(stream->Finish().ok());
  }
  for (const char* m : {"Echo", "Expand", "Collect", "Chat"}) {
    const std::string full = std::string("/rpcforge.test.EchoService/") + m;
    EXPECT_EQ(signals.Count(SignalRecorder::kStarted, full), 1u) << full;
    EXPECT_EQ(signals.Count(SignalRecorder::kFinished, full), 1u) << full;
  }
  EXPECT_EQ(signals.Count(SignalRecorder::kException), 0u);
  // request_finished fires after the last message of a stream, not before.
  for (const auto& e : signals.events()) {
    if (e.kind != SignalRecorder::kFinished) continue;
    if (e.method.find("Expand") != std::string::npos) {
      EXPECT_EQ(e.messages_sent, 7u);
    }
    if (e.method.find("Collect") != std::string::npos) {
      EXPECT_EQ(e.messages_received, 5u);
    }
    if (e.method.find("Chat") != std::string::npos) {
      EXPECT_EQ(e.messages_sent, 3u);
      EXPECT_EQ(e.messages_received, 3u);
    }
  }
}

TEST_F(Pipeline, GotRequestExceptionCarriesTheExceptionAndStatus) {
  auto server = Start({"signals"});
  SignalRecorder signals(app_);
  auto stub = server->Stub<EchoService>();
  grpc::ClientContext ctx;
  EchoRequest req = Req("x");
  req.set_fail("runtime");
  EchoResponse resp;
  EXPECT_EQ(stub->Echo(&ctx, req, &resp).error_code(), grpc::StatusCode::INTERNAL);
  auto events = signals.events();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].kind, SignalRecorder::kStarted);
  EXPECT_EQ(events[1].kind, SignalRecorder::kException);
  EXPECT_EQ(events[1].exception, "database password is hunter2");
  EXPECT_EQ(events[1].code, grpc::StatusCode::INTERNAL);
  EXPECT_EQ(events[2].kind, SignalRecorder::kFinished);
}

TEST_F(Pipeline, SignalsFireWhenTheStreamIsAbortedMidway) {
  auto server = Start({"signals"});
  SignalRecorder signals(app_);
  auto stub = server->Stub<EchoService>();
  grpc::ClientContext ctx;
  EchoRequest req = Req("x", 10);
  req.set_abort_at(3);
  auto reader = stub->Expand(&ctx, req);
  EchoResponse resp;
  while (reader->Read(&resp)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::ABORTED);
  auto events = signals.events();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[2].kind, SignalRecorder::kFinished);
  EXPECT_EQ(events[2].code, grpc::StatusCode::ABORTED);
  EXPECT_EQ(events[2].messages_sent, 3u);
}

TEST_F(Pipeline, MaxConcurrencyRejectsCallsBeyondTheLimit) {
  auto server = Start({"max_concurrency"}, /*max_workers=*/2, /*max_concurrent=*/2);
  auto stub = server->Stub<EchoService>();
  std::vector<std::future<grpc::Status>> held;
  for (int i = 0; i < 2; ++i) {
    held.push_back(std::async(std::launch::async, [&] {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
      EchoRequest req = Req("held");
      req.set_wait_for_release(true);
      EchoResponse resp;
      return stub->Echo(&ctx, req, &resp);
    }));
  }
  ASSERT_TRUE(impl_->WaitForWaiting(2));
  {
    grpc::ClientContext ctx;
    EchoResponse resp;
    grpc::Status s = stub->Echo(&ctx, Req("third"), &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
    EXPECT_EQ(s.error_message(), "Server is at its limit of 2 concurrent RPCs");
  }
  impl_->Release();
  for (auto& f : held) EXPECT_TRUE(f.get().ok());
  grpc::ClientContext ctx;
  EchoResponse resp;
  EXPECT_TRUE(stub->Echo(&ctx, Req("after"), &resp).ok());
}

TEST_F(Pipeline, CallsBeyondMaxWorkersWaitForASlot) {
  auto server = Start({}, /*max_workers=*/1);
  auto stub = server->Stub<EchoService>();
  auto held = std::async(std::launch::async, [&] {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    EchoRequest req = Req("held");
    req.set_wait_for_release(true);
    EchoResponse resp;
    return stub->Echo(&ctx, req, &resp);
  });
  ASSERT_TRUE(impl_->WaitForWaiting(1));
  // A second call with a short deadline waits for the only worker, then times out.
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(200));
    EchoResponse resp;
    EXPECT_EQ(stub->Echo(&ctx, Req("short"), &resp).error_code(),
              grpc::StatusCode::DEADLINE_EXCEEDED);
  }
  // A patient one waits and succeeds once the worker is free.
  auto patient = std::async(std::launch::async, [&] {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    EchoResponse resp;
    return stub->Echo(&ctx, Req("patient"), &resp);
  });
  EXPECT_EQ(patient.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout);
  impl_->Release();
  EXPECT_TRUE(held.get().ok());
  EXPECT_TRUE(patient.get().ok());
}

TEST_F(Pipeline, IdentityStaysWithItsOwnRequestUnderConcurrency) {
  app_.RegisterMiddleware("gate",
                          [](const rpcforge::MiddlewareEnv&) { return std::make_shared<Gate>(); });
  auto server = Start({"gate"});
  auto stub = server->Stub<EchoService>();
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        grpc::ClientContext ctx;
        ctx.AddMetadata("x-pass", "1");
        // Every third call is anonymous: it must never see someone else's user.
        const std::string user = (i % 3 == 0) ? "" : "user" + std::to_string(t);
        if (!user.empty()) ctx.AddMetadata("x-user", user);
        EchoResponse resp;
        grpc::Status s = stub->Echo(&ctx, Req("x"), &resp);
        if (!s.ok() || resp.user() != user) mismatches++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
}

// --- Direct calls through the pipeline (FakeContext) -------------------------------

TEST(CallThroughPipeline, RunsMiddlewaresAroundADirectCall) {
  rpcforge::App app;
  app.RegisterMiddleware("gate",
                         [](const rpcforge::MiddlewareEnv&) { return std::make_shared<Gate>(); });
  EchoImpl echo;
  const auto& method = rpcforge::testing::FindMethod(echo, "Echo");
  EchoRequest req = Req("hi");
  EchoResponse resp;
  rpcforge::testing::FakeContext denied;
  grpc::Status s = rpcforge::testing::CallThroughPipeline(
      app, denied, method, &req, [&](rpcforge::Context& c) { resp = echo.Echo(c, req); }, {"gate"});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);

  rpcforge::testing::FakeContext allowed;
  allowed.AddMetadata("X-Pass", "1").AddMetadata("x-user", "ada");
  s = rpcforge::testing::CallThroughPipeline(
      app, allowed, method, &req, [&](rpcforge::Context& c) { resp = echo.Echo(c, req); },
      {"gate"});
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(resp.user(), "ada");
  EXPECT_EQ(allowed.method().full_name, "/rpcforge.test.EchoService/Echo");
}

TEST(CallThroughPipeline, MapsHandlerExceptions) {
  rpcforge::App app;
  EchoImpl echo;
  rpcforge::testing::FakeContext ctx;
  EchoRequest req = Req("x");
  req.set_fail("validation");
  grpc::Status s = rpcforge::testing::CallThroughPipeline(
      app, ctx, rpcforge::testing::FindMethod(echo, "Echo"), &req,
      [&](rpcforge::Context& c) { echo.Echo(c, req); });
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_FALSE(s.error_details().empty());
}

}  // namespace
