// SPDX-License-Identifier: Apache-2.0
// The request_logging middleware through a real server: one row per call of every kind
// with the real code, sizes, peer and identity (whatever the middleware order);
// cancellation and deadlines; the call's log lines and the access log; off when
// disabled or without a database. The writer behind it: logging/request_log_test.cc.
#include "rpcforge/middleware/request_logging.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "logging/testdata/request_log_harness.h"

// The tests live in the harness's namespace, so its helpers and using-declarations apply.
namespace request_log_testing {

using ::testing::DoubleEq;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

class RequestLoggingTest : public rpcforge::fixtures::TestCase {};

}  // namespace

TEST_F(RequestLoggingTest, UnaryCallWritesOneCompleteRowVisibleAtOnce) {
  FakeClock clock;
  const auto start = clock.Now();
  Harness h(db(), &clock);
  EchoRequest req = Req("hello");
  EchoResponse resp;
  ASSERT_THAT(h.Echo(req, &resp), IsOk());

  // No waiting: in a transactional test the row is written before the call returns.
  auto rows = LogRows(db());
  ASSERT_EQ(rows.size(), 1u);
  const Row& r = rows[0];
  EXPECT_THAT(
      r["request_id"].AsText(),
      ::testing::MatchesRegex("[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}"));
  EXPECT_EQ(r["service"].AsText(), "rpcforge.test.EchoService");
  EXPECT_EQ(r["method"].AsText(), "Echo");
  EXPECT_EQ(r["full_method"].AsText(), "/rpcforge.test.EchoService/Echo");
  EXPECT_EQ(r["status"].AsText(), "success");
  EXPECT_EQ(r["code"].AsText(), "OK");
  EXPECT_EQ(r["error_message"].AsText(), "");
  EXPECT_THAT(r["duration_ms"].AsDouble(), DoubleEq(25.0));  // the fake clock's ticks
  EXPECT_FALSE(r["is_authenticated"].AsBool());
  EXPECT_TRUE(r["user_id"].is_null());
  EXPECT_TRUE(r["api_key_id"].is_null());
  EXPECT_EQ(r["peer"].AsText(), resp.peer());
  EXPECT_EQ(r["request_messages"].AsInt(), 1);
  EXPECT_EQ(r["response_messages"].AsInt(), 1);
  EXPECT_EQ(r["request_size"].AsInt(), static_cast<int64_t>(req.ByteSizeLong()));
  EXPECT_EQ(r["response_size"].AsInt(), static_cast<int64_t>(resp.ByteSizeLong()));
  EXPECT_EQ(r["created_at"].AsTime(), start);
  EXPECT_EQ(r["completed_at"].AsTime(), start + kTick);
}

TEST_F(RequestLoggingTest, FailedCallsLogTheirRealCodeAndClientMessage) {
  FakeClock clock;
  Harness h(db(), &clock);
  EXPECT_THAT(h.Echo(Req("x", "not_found")), StatusIs(grpc::StatusCode::NOT_FOUND));
  EXPECT_THAT(h.Echo(Req("x", "validation")), StatusIs(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_THAT(h.Echo(Req("x", "runtime")), StatusIs(grpc::StatusCode::INTERNAL));
  EXPECT_THAT(h.Echo(Req("x", "abort")), StatusIs(grpc::StatusCode::FAILED_PRECONDITION));
  EXPECT_THAT(h.Echo(Req("x", "set_code")), StatusIs(grpc::StatusCode::OUT_OF_RANGE));
  {
    grpc::ClientContext ctx;
    EchoResponse resp;
    EXPECT_THAT(h.stub->Unimplemented(&ctx, Req("x"), &resp),
                StatusIs(grpc::StatusCode::UNIMPLEMENTED));
  }
  auto rows = LogRows(db());
  ASSERT_EQ(rows.size(), 6u);
  const char* codes[] = {"NOT_FOUND",           "INVALID_ARGUMENT", "INTERNAL",
                         "FAILED_PRECONDITION", "OUT_OF_RANGE",     "UNIMPLEMENTED"};
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i]["status"].AsText(), "error") << i;
    EXPECT_EQ(rows[i]["code"].AsText(), codes[i]) << i;
  }
  EXPECT_EQ(rows[0]["error_message"].AsText(), "Echo: 42 not found");
  EXPECT_EQ(rows[3]["error_message"].AsText(), "aborted by request");
  EXPECT_EQ(rows[4]["error_message"].AsText(), "set without abort");
  // The client-safe message, never the exception's detail.
  EXPECT_THAT(rows[2]["error_message"].AsText(), Not(HasSubstr("hunter2")));
  EXPECT_EQ(rows[5]["method"].AsText(), "Unimplemented");
}

TEST_F(RequestLoggingTest, StreamingCallsAreLoggedOnceWithCountsAndSizes) {
  FakeClock clock;
  Harness h(db(), &clock);

  // Server streaming: three messages.
  EchoRequest expand = Req("abc");
  expand.set_count(3);
  uint64_t expand_bytes = 0;
  {
    grpc::ClientContext ctx;
    auto reader = h.stub->Expand(&ctx, expand);
    EchoResponse resp;
    for (int i = 0; i < 10 && reader->Read(&resp); ++i) expand_bytes += resp.ByteSizeLong();
    ASSERT_THAT(reader->Finish(), IsOk());
  }
  // Server streaming aborted mid-stream after two messages.
  EchoRequest aborted = Req("abc");
  aborted.set_count(5);
  aborted.set_abort_at(2);
  {
    grpc::ClientContext ctx;
    auto reader = h.stub->Expand(&ctx, aborted);
    EchoResponse resp;
    for (int i = 0; i < 10 && reader->Read(&resp); ++i) {
    }
    EXPECT_THAT(reader->Finish(), StatusIs(grpc::StatusCode::ABORTED, HasSubstr("stopped at 2")));
  }
  // Client streaming: three requests.
  uint64_t collect_bytes = 0;
  EchoResponse collected;
  {
    grpc::ClientContext ctx;
    auto writer = h.stub->Collect(&ctx, &collected);
    for (const char* m : {"a", "bb", "ccc"}) {
      EchoRequest r = Req(m);
      collect_bytes += r.ByteSizeLong();
      ASSERT_TRUE(writer->Write(r));
    }
    writer->WritesDone();
    ASSERT_THAT(writer->Finish(), IsOk());
  }
  // Bidi: two each way.
  {
    grpc::ClientContext ctx;
    auto stream = h.stub->Chat(&ctx);
    EchoResponse resp;
    for (const char* m : {"x", "y"}) {
      ASSERT_TRUE(stream->Write(Req(m)));
      ASSERT_TRUE(stream->Read(&resp));
    }
    stream->WritesDone();
    ASSERT_THAT(stream->Finish(), IsOk());
  }

  auto rows = LogRows(db());
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0]["method"].AsText(), "Expand");
  EXPECT_EQ(rows[0]["code"].AsText(), "OK");
  EXPECT_EQ(rows[0]["request_messages"].AsInt(), 1);
  EXPECT_EQ(rows[0]["response_messages"].AsInt(), 3);
  EXPECT_EQ(rows[0]["request_size"].AsInt(), static_cast<int64_t>(expand.ByteSizeLong()));
  EXPECT_EQ(rows[0]["response_size"].AsInt(), static_cast<int64_t>(expand_bytes));

  EXPECT_EQ(rows[1]["status"].AsText(), "error");
  EXPECT_EQ(rows[1]["code"].AsText(), "ABORTED");
  EXPECT_EQ(rows[1]["error_message"].AsText(), "stopped at 2");
  EXPECT_EQ(rows[1]["response_messages"].AsInt(), 2);

  EXPECT_EQ(rows[2]["method"].AsText(), "Collect");
  EXPECT_EQ(rows[2]["code"].AsText(), "OK");
  EXPECT_EQ(rows[2]["request_messages"].AsInt(), 3);
  EXPECT_EQ(rows[2]["request_size"].AsInt(), static_cast<int64_t>(collect_bytes));
  EXPECT_EQ(rows[2]["response_messages"].AsInt(), 1);
  EXPECT_EQ(rows[2]["response_size"].AsInt(), static_cast<int64_t>(collected.ByteSizeLong()));

  EXPECT_EQ(rows[3]["method"].AsText(), "Chat");
  EXPECT_EQ(rows[3]["code"].AsText(), "OK");
  EXPECT_EQ(rows[3]["request_messages"].AsInt(), 2);
  EXPECT_EQ(rows[3]["response_messages"].AsInt(), 2);
}

// Calls to methods no service has never reach a handler; the server answers them
// through the pipeline, so they are logged like any other call.
TEST_F(RequestLoggingTest, UnknownMethodsAreLoggedAsUnimplemented) {
  Harness h(db(), nullptr, "request_logging");
  grpc::GenericStub generic(h.server->channel());
  grpc::ClientContext ctx;
  grpc::Slice empty("");
  grpc::ByteBuffer request(&empty, 1), response;
  std::promise<grpc::Status> done;
  generic.UnaryCall(&ctx, "/rpcforge.test.EchoService/NoSuchMethod", grpc::StubOptions(), &request,
                    &response, [&](grpc::Status s) { done.set_value(s); });
  auto answer = done.get_future();
  ASSERT_EQ(answer.wait_for(seconds(10)), std::future_status::ready);
  EXPECT_THAT(answer.get(), StatusIs(grpc::StatusCode::UNIMPLEMENTED,
                                     HasSubstr("/rpcforge.test.EchoService/NoSuchMethod")));
  auto rows = LogRows(db());
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["service"].AsText(), "rpcforge.test.EchoService");
  EXPECT_EQ(rows[0]["method"].AsText(), "NoSuchMethod");
  EXPECT_EQ(rows[0]["code"].AsText(), "UNIMPLEMENTED");
  EXPECT_EQ(rows[0]["status"].AsText(), "error");
}

TEST_F(RequestLoggingTest, ClientCancellationIsLoggedAsCancelled) {
  Harness h(db(), nullptr);
  EchoRequest req = Req("slow");
  req.set_sleep_ms(10000);  // returns early once the call is cancelled
  grpc::ClientContext ctx;
  grpc::Status status;
  std::thread client([&] {
    EchoResponse resp;
    status = h.stub->Echo(&ctx, req, &resp);
  });
  ASSERT_TRUE(h.entered->WaitFor(1));
  ctx.TryCancel();
  client.join();
  EXPECT_THAT(status, StatusIs(grpc::StatusCode::CANCELLED));
  ASSERT_TRUE(h.done->WaitFor(1));  // the handler side has finished and logged

  auto rows = LogRows(db());
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["status"].AsText(), "cancelled");
  EXPECT_EQ(rows[0]["code"].AsText(), "CANCELLED");
}

// A stream handler whose reads end with the deadline returns normally; the client
// still saw DEADLINE_EXCEEDED, and so must the log (it said OK about a third of the
// time, seen by the Node e2e client).
TEST_F(RequestLoggingTest, AStreamEndedByItsDeadlineIsLoggedAsTimeoutThoughTheHandlerReturned) {
  Harness h(db(), nullptr, "test_done,request_logging", {}, /*loopback=*/true);
  auto tcp = h.server->TcpStub<EchoService>();
  for (int i = 0; i < 20; ++i) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + milliseconds(i % 2 ? 1 : 30));
    auto stream = (i % 4 < 2 ? h.stub : tcp)->Chat(&ctx);  // sends nothing: Read waits
    EchoResponse resp;
    while (stream->Read(&resp)) {
    }
    EXPECT_THAT(stream->Finish(), StatusIs(grpc::StatusCode::DEADLINE_EXCEEDED));
  }
  // Calls with a 1 ms deadline may expire before they reach the server at all.
  ASSERT_TRUE(h.server->WaitIdle(seconds(10)));
  EXPECT_GE(LogRows(db()).size(), 10u);
  for (const Row& row : LogRows(db())) {
    EXPECT_EQ(row["code"].AsText(), "DEADLINE_EXCEEDED")
        << row["full_method"].AsText() << ": " << row["error_message"].AsText();
    EXPECT_EQ(row["status"].AsText(), "timeout");
  }
}

TEST_F(RequestLoggingTest, DeadlineExceededIsLoggedAsTimeout) {
  Harness h(db(), nullptr);
  EchoRequest req = Req("slow");
  req.set_sleep_ms(10000);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + milliseconds(200));
  EchoResponse resp;
  EXPECT_THAT(h.stub->Echo(&ctx, req, &resp), StatusIs(grpc::StatusCode::DEADLINE_EXCEEDED));
  ASSERT_TRUE(h.done->WaitFor(1));

  auto rows = LogRows(db());
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["status"].AsText(), "timeout");
  EXPECT_EQ(rows[0]["code"].AsText(), "DEADLINE_EXCEEDED");
}

TEST_F(RequestLoggingTest, IdentityIsLoggedWhateverTheMiddlewareOrder) {
  const int64_t user_id =
      rpcforge::db::UserModel().Objects(db()).Create({{"username", "alice"}})["id"].AsInt();
  const int64_t key_id = rpcforge::db::ApiKeyModel()
                             .Objects(db())
                             .Create({{"name", "ci"},
                                      {"user", user_id},
                                      {"prefix", "abcd1234"},
                                      {"key_hash", std::string(64, 'a')}})["id"]
                             .AsInt();
  for (const std::string chain :
       {"test_done,test_identity,request_logging", "test_done,request_logging,test_identity"}) {
    Harness h(db(), nullptr, chain);
    rpcforge::auth::User alice;
    alice.id = user_id;
    alice.username = "alice";
    h.identity->user = alice;
    rpcforge::auth::ApiKey key;
    key.id = key_id;
    key.user_id = user_id;
    h.identity->key = key;
    ASSERT_THAT(h.Echo(Req("hi")), IsOk()) << chain;
  }
  auto rows = LogRows(db());
  ASSERT_EQ(rows.size(), 2u);
  for (const Row& r : rows) {
    EXPECT_EQ(r["user_id"].AsInt(), user_id);
    EXPECT_EQ(r["api_key_id"].AsInt(), key_id);
    EXPECT_TRUE(r["is_authenticated"].AsBool());
  }
}

TEST_F(RequestLoggingTest, AnIdentityWithoutARowIsAuthenticatedButNotLinked) {
  Harness h(db(), nullptr);
  rpcforge::auth::User ghost;
  ghost.id = 987654;
  h.identity->user = ghost;
  rpcforge::auth::ApiKey secret;
  secret.is_secret_key = true;
  h.identity->key = secret;
  ASSERT_THAT(h.Echo(Req("hi")), IsOk());
  auto rows = LogRows(db());
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_TRUE(rows[0]["user_id"].is_null());
  EXPECT_TRUE(rows[0]["api_key_id"].is_null());
  EXPECT_TRUE(rows[0]["is_authenticated"].AsBool());
}

// With the JSON log format, a line logged during a call says which call: its method,
// peer, request id (the one its request-log row has) and time so far; a line logged
// outside any call has none of these.
TEST_F(RequestLoggingTest, JsonLogLinesOfACallCarryItsMethodPeerAndRequestId) {
  Harness h(db(), nullptr, "request_logging,test_logline");
  rpcforge::log::SetFormat(rpcforge::log::Format::kJson);
  StderrCapture capture;
  ASSERT_THAT(h.Echo(Req("hi")), IsOk());
  rpcforge::log::Write(rpcforge::log::Level::kWarn, "outside any call", "test");
  const std::string text = capture.Restore();
  rpcforge::log::SetFormat(rpcforge::log::Format::kText);
  auto rows = LogRows(db());
  ASSERT_EQ(rows.size(), 1u);
  std::string inside, outside;
  std::stringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("inside the call") != std::string::npos) inside = line;
    if (line.find("outside any call") != std::string::npos) outside = line;
  }
  EXPECT_THAT(inside, HasSubstr("\"logger\":\"test\""));
  EXPECT_THAT(inside, HasSubstr("\"method\":\"/rpcforge.test.EchoService/Echo\""));
  EXPECT_THAT(inside, HasSubstr("\"request_id\":\"" + rows[0]["request_id"].AsText() + "\""));
  EXPECT_THAT(inside, HasSubstr("\"peer\":\""));
  EXPECT_THAT(inside, HasSubstr("\"duration_ms\":"));
  ASSERT_FALSE(outside.empty()) << text;
  EXPECT_THAT(outside, Not(HasSubstr("\"method\"")));
}

// logging.access_log: one line per finished call, with its code as a field of its own
// in the JSON format; none without it.
TEST_F(RequestLoggingTest, TheAccessLogHasALinePerCallWithItsCode) {
  for (bool on : {true, false}) {
    Harness h(db(), nullptr, "request_logging", {{"logging.access_log", on ? "true" : "false"}});
    rpcforge::log::SetFormat(rpcforge::log::Format::kJson);
    StderrCapture capture;
    EchoRequest missing = Req("x");
    missing.set_fail("not_found");
    ASSERT_THAT(h.Echo(Req("hi")), IsOk());
    ASSERT_FALSE(h.Echo(missing).ok());
    const std::string text = capture.Restore();
    rpcforge::log::SetFormat(rpcforge::log::Format::kText);
    std::vector<std::string> access;
    std::stringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
      if (line.find("\"logger\":\"access\"") != std::string::npos) access.push_back(line);
    }
    if (!on) {
      EXPECT_TRUE(access.empty()) << text;
      continue;
    }
    ASSERT_EQ(access.size(), 2u) << text;
    EXPECT_THAT(access[0], HasSubstr("\"code\":\"OK\""));
    EXPECT_THAT(access[1], HasSubstr("\"code\":\"NOT_FOUND\""));
    EXPECT_THAT(access[1], HasSubstr("\"method\":\"/rpcforge.test.EchoService/Echo\""));
    EXPECT_THAT(access[1], HasSubstr("\"duration_ms\":"));
    const auto rows = LogRows(db());
    ASSERT_FALSE(rows.empty());
    EXPECT_THAT(access[1],
                HasSubstr("\"request_id\":\"" + rows.back()["request_id"].AsText() + "\""));
    EXPECT_THAT(access[1], HasSubstr("/rpcforge.test.EchoService/Echo NOT_FOUND "));
  }
}

TEST_F(RequestLoggingTest, TcpPeerIsStoredWithHostAndPort) {
  Harness h(db(), nullptr, "request_logging", {}, /*loopback=*/true);
  auto stub = h.server->TcpStub<EchoService>();
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + seconds(30));
  EchoResponse resp;
  ASSERT_THAT(stub->Echo(&ctx, Req("tcp"), &resp), IsOk());
  auto rows = LogRows(db());
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["peer"].AsText(), resp.peer());
  EXPECT_THAT(rows[0]["peer"].AsText(), HasSubstr("127.0.0.1"));
  EXPECT_EQ(rows[0]["peer_host"].AsText(), "127.0.0.1");
  EXPECT_GT(rows[0]["peer_port"].AsInt(), 0);
}

TEST_F(RequestLoggingTest, DisabledOrWithoutDatabaseWritesNothing) {
  {
    Harness h(db(), nullptr, "request_logging", {{"request_log.enabled", "false"}});
    ASSERT_THAT(h.Echo(Req("hi")), IsOk());
  }
  EXPECT_TRUE(LogRows(db()).empty());
  rpcforge::MiddlewareEnv env;  // no database
  EXPECT_EQ(rpcforge::logging::RequestLoggingMiddleware::FromEnv(env), nullptr);
  rpcforge::App app;
  EXPECT_TRUE(app.HasMiddleware("request_logging"));
}

}  // namespace request_log_testing
