// SPDX-License-Identifier: Apache-2.0
// The request log: one row per call of every kind with the real code, sizes, peer and
// identity (whatever the middleware order); cancellation and deadlines through a real
// server; write-behind with back-pressure, flushing on shutdown and on destruction;
// visibility in transactional tests; statistics, retention and the documented config.
#include "rpcforge/logging/request_log.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <grpcpp/client_context.h>
#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <condition_variable>
#include <fstream>
#include <future>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "core/source_file_for_tests.h"
#include "rpcforge/app.h"
#include "rpcforge/config/config.h"
#include "rpcforge/db/database.h"
#include "rpcforge/db/framework_models.h"
#include "rpcforge/db/migrate.h"
#include "rpcforge/db/query.h"
#include "rpcforge/fixtures/test_case.h"
#include "rpcforge/log.h"
#include "rpcforge/middleware/request_logging.h"
#include "rpcforge/testing/fake_clock.h"
#include "rpcforge/testing/matchers.h"
#include "rpcforge/testing/test_server.h"
#include "server/call_state.h"
#include "server/testdata/echo.grpc.pb.h"
#include "server/testdata/echo_service.h"

using rpcforge::db::Row;
using rpcforge::logging::RequestLogEntry;
using rpcforge::logging::RequestLogOptions;
using rpcforge::logging::RequestLogWriter;
using rpcforge::test::EchoRequest;
using rpcforge::test::EchoResponse;
using rpcforge::test::EchoService;
using rpcforge::testing::FakeClock;
using rpcforge::testing::IsOk;
using rpcforge::testing::StatusIs;
using rpcforge::testing::TestServer;
using rpcforge::testing::TestServerOptions;
using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::DoubleEq;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

constexpr auto kTick = milliseconds(25);

// Counter is a bounded rendezvous between handler threads and the test.
class Counter {
 public:
  void Add() {
    std::lock_guard<std::mutex> lock(mu_);
    ++n_;
    cv_.notify_all();
  }
  bool WaitFor(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, seconds(10), [&] { return n_ >= n; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int n_ = 0;
};

struct Identity {
  std::optional<rpcforge::auth::User> user;
  std::optional<rpcforge::auth::ApiKey> key;
};

// test_done: counts calls whose whole chain (request_logging included) returned.
class DoneMiddleware : public rpcforge::Middleware {
 public:
  explicit DoneMiddleware(std::shared_ptr<Counter> done) : done_(std::move(done)) {}
  grpc::Status Handle(rpcforge::ServerCall&, rpcforge::Next next) override {
    grpc::Status status = next();
    done_->Add();
    return status;
  }

 private:
  std::shared_ptr<Counter> done_;
};

// test_identity: what the auth middleware does, from a test-controlled identity.
class IdentityMiddleware : public rpcforge::Middleware {
 public:
  explicit IdentityMiddleware(std::shared_ptr<Identity> id) : id_(std::move(id)) {}
  grpc::Status Handle(rpcforge::ServerCall& call, rpcforge::Next next) override {
    rpcforge::context_internal::CallState::SetUser(call.context(), id_->user);
    rpcforge::context_internal::CallState::SetApiKey(call.context(), id_->key);
    return next();
  }

 private:
  std::shared_ptr<Identity> id_;
};

// test_tick: marks the call as entered and moves the fake clock by kTick.
class TickMiddleware : public rpcforge::Middleware {
 public:
  TickMiddleware(FakeClock* clock, std::shared_ptr<Counter> entered)
      : clock_(clock), entered_(std::move(entered)) {}
  grpc::Status Handle(rpcforge::ServerCall&, rpcforge::Next next) override {
    if (clock_) clock_->Advance(kTick);
    entered_->Add();
    return next();
  }

 private:
  FakeClock* clock_;
  std::shared_ptr<Counter> entered_;
};

// An App serving Echo through `middlewares` on `db`, with the test middlewares above.
// test_logline: logs one warning from inside the call.
class LogLineMiddleware : public rpcforge::Middleware {
 public:
  grpc::Status Handle(rpcforge::ServerCall&, rpcforge::Next next) override {
    rpcforge::log::Write(rpcforge::log::Level::kWarn, "inside the call", "test");
    return next();
  }
};

// StderrCapture sends fd 2 to a file for its lifetime; text() reads it back.
class StderrCapture {
 public:
  StderrCapture() : path_(::testing::TempDir() + "/rpcforge_stderr_" + std::to_string(getpid())) {
    std::fflush(stderr);
    saved_ = dup(2);
    const int fd = open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 2);
    close(fd);
  }
  ~StderrCapture() { Restore(); }
  std::string Restore() {
    if (saved_ >= 0) {
      std::fflush(stderr);
      dup2(saved_, 2);
      close(saved_);
      saved_ = -1;
    }
    std::ifstream in(path_);
    std::stringstream text;
    text << in.rdbuf();
    std::remove(path_.c_str());
    return text.str();
  }

 private:
  std::string path_;
  int saved_ = -1;
};

struct Harness {
  Harness(rpcforge::db::Database& db, FakeClock* clock,
          const std::string& middlewares = "test_done,request_logging,test_identity,test_tick",
          std::vector<std::pair<std::string, std::string>> config = {}, bool loopback = false) {
    app.AddService(echo);
    auto d = done;
    app.RegisterMiddleware("test_done", [d](const rpcforge::MiddlewareEnv&) {
      return std::make_shared<DoneMiddleware>(d);
    });
    auto id = identity;
    app.RegisterMiddleware("test_identity", [id](const rpcforge::MiddlewareEnv&) {
      return std::make_shared<IdentityMiddleware>(id);
    });
    app.RegisterMiddleware("test_logline", [](const rpcforge::MiddlewareEnv&) {
      return std::make_shared<LogLineMiddleware>();
    });
    auto e = entered;
    app.RegisterMiddleware("test_tick", [clock, e](const rpcforge::MiddlewareEnv&) {
      return std::make_shared<TickMiddleware>(clock, e);
    });
    TestServerOptions options;
    options.app = &app;
    options.clock = clock;
    options.database = &db;
    options.config = std::move(config);
    options.config.emplace_back("middlewares", middlewares);
    options.listen_on_loopback = loopback;
    server = std::make_unique<TestServer>(options);
    stub = server->Stub<EchoService>();
  }

  grpc::Status Echo(const EchoRequest& req, EchoResponse* resp = nullptr) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + seconds(30));
    EchoResponse ignored;
    return stub->Echo(&ctx, req, resp ? resp : &ignored);
  }

  std::shared_ptr<rpcforge_test::EchoImpl> echo = std::make_shared<rpcforge_test::EchoImpl>();
  std::shared_ptr<Counter> done = std::make_shared<Counter>();
  std::shared_ptr<Counter> entered = std::make_shared<Counter>();
  std::shared_ptr<Identity> identity = std::make_shared<Identity>();
  rpcforge::App app;
  std::unique_ptr<TestServer> server;
  std::unique_ptr<EchoService::Stub> stub;
};

EchoRequest Req(const std::string& message, const std::string& fail = "") {
  EchoRequest r;
  r.set_message(message);
  r.set_fail(fail);
  return r;
}

std::vector<Row> LogRows(rpcforge::db::Database& db) {
  return rpcforge::db::RequestLogModel().Objects(db).OrderBy({"id"}).All();
}

RequestLogEntry Entry(const std::string& full_method, const std::string& status, double ms,
                      rpcforge::Clock::TimePoint created) {
  RequestLogEntry e;
  e.request_id = rpcforge::logging::NewRequestId();
  e.full_method = full_method;
  auto slash = full_method.find('/', 1);
  e.service = full_method.substr(1, slash - 1);
  e.method = full_method.substr(slash + 1);
  e.status = status;
  e.code = status == "success" ? "OK" : "INTERNAL";
  e.duration_ms = ms;
  e.created_at = created;
  e.completed_at = created;
  return e;
}

// MigratedInMemory is a private in-memory database with every registered migration.
std::unique_ptr<rpcforge::db::Database> MigratedInMemory() {
  rpcforge::db::DatabaseOptions dbo;
  dbo.path = ":memory:";
  auto database = std::make_unique<rpcforge::db::Database>(dbo);
  std::ostringstream ignored;
  rpcforge::db::Migrate(*database, rpcforge::db::Registry::Global(), ignored);
  return database;
}

class RequestLogTest : public rpcforge::fixtures::TestCase {};
class RequestLogCommitTest : public rpcforge::fixtures::TransactionTestCase {};

}  // namespace

// ---------------------------------------------------------------- ids and peers

// Version 7 (RFC 9562): time-ordered, so the request_id index grows at its end
// instead of at a random leaf (a v4 id made the row's insert three times dearer).
TEST(RequestLog, RequestIdsAreTimeOrderedVersion7Uuids) {
  std::set<std::string> seen;
  const auto before = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  std::string previous_ms;
  for (int i = 0; i < 1000; ++i) {
    std::string id = rpcforge::logging::NewRequestId();
    ASSERT_THAT(id, ::testing::MatchesRegex(
                        "[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"));
    // The first 48 bits are the Unix time in milliseconds, never going back.
    const std::string ms = id.substr(0, 8) + id.substr(9, 4);
    EXPECT_GE(ms, previous_ms);
    previous_ms = ms;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
  const long long first_ms = std::stoll(previous_ms, nullptr, 16);
  EXPECT_GE(first_ms, before);
  EXPECT_LE(first_ms, before + 60000);
}

// ---------------------------------------------------------------- one row per call

// Every batch size is cut into INSERTs of 64, 8 and 1 rows: a connection never holds
// more than three prepared shapes of this large statement, and no row is lost.
TEST_F(RequestLogTest, BatchesOfAnySizeUseThreeInsertShapes) {
  std::mutex mu;
  std::set<std::string> shapes;
  const int observer = db().AddQueryObserver([&](const rpcforge::db::QueryEvent& e) {
    if (e.sql.find("INSERT INTO \"rpcforge_requestlog\"") == 0) {
      std::lock_guard<std::mutex> lock(mu);
      shapes.emplace(e.sql);
    }
  });
  const auto now = rpcforge::Clock::Real().Now();
  int64_t rows = 0;
  for (int n : {1, 7, 8, 9, 63, 64, 65, 127, 200}) {
    std::vector<rpcforge::logging::RequestLogEntry> entries;
    for (int i = 0; i < n; ++i) entries.push_back(Entry("/a.S/Get", "success", 1, now));
    rpcforge::logging::WriteRequestLogs(db(), entries);
    rows += n;
  }
  db().RemoveQueryObserver(observer);
  EXPECT_EQ(shapes.size(), 3u);
  EXPECT_EQ(db().Query("SELECT COUNT(*) FROM rpcforge_requestlog")[0].at(0).AsInt(), rows);
}

TEST_F(RequestLogTest, UnaryCallWritesOneCompleteRowVisibleAtOnce) {
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

TEST_F(RequestLogTest, FailedCallsLogTheirRealCodeAndClientMessage) {
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

TEST_F(RequestLogTest, StreamingCallsAreLoggedOnceWithCountsAndSizes) {
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
TEST_F(RequestLogTest, UnknownMethodsAreLoggedAsUnimplemented) {
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

TEST_F(RequestLogTest, ClientCancellationIsLoggedAsCancelled) {
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
TEST_F(RequestLogTest, AStreamEndedByItsDeadlineIsLoggedAsTimeoutThoughTheHandlerReturned) {
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

TEST_F(RequestLogTest, DeadlineExceededIsLoggedAsTimeout) {
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

// ---------------------------------------------------------------- identity and peer

TEST_F(RequestLogTest, IdentityIsLoggedWhateverTheMiddlewareOrder) {
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

TEST_F(RequestLogTest, AnIdentityWithoutARowIsAuthenticatedButNotLinked) {
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

// A user deleted while its calls ran fails the foreign key of its rows: that statement is
// written again with such ids as NULL, and the other rows of the batch keep their links.
TEST_F(RequestLogTest, ARowWhoseUserIsGoneIsKeptUnlinkedAndTheRestStayLinked) {
  const int64_t user_id =
      rpcforge::db::UserModel().Objects(db()).Create({{"username", "alice"}})["id"].AsInt();
  std::mutex mu;
  int statements = 0;
  const int observer = db().AddQueryObserver([&](const rpcforge::db::QueryEvent& e) {
    if (e.sql.find("INSERT INTO \"rpcforge_requestlog\"") != 0) return;
    std::lock_guard<std::mutex> lock(mu);
    ++statements;
    // The usual statement carries no per-row subselect.
    if (statements == 1) {
      EXPECT_EQ(e.sql.find("SELECT"), std::string::npos);
      EXPECT_FALSE(e.ok);
    }
  });
  const auto now = rpcforge::Clock::Real().Now();
  std::vector<RequestLogEntry> entries;
  for (int i = 0; i < 65; ++i) {
    entries.push_back(Entry("/a.S/Get", "success", 1, now));
    entries.back().user_id = i == 3 ? user_id + 1000 : user_id;  // row 3: no such user
    entries.back().is_authenticated = true;
  }
  rpcforge::logging::WriteRequestLogs(db(), entries);
  db().RemoveQueryObserver(observer);
  // 64 rows (failed, then checked) and 1 row.
  EXPECT_EQ(statements, 3);
  auto rows = LogRows(db());
  ASSERT_EQ(rows.size(), 65u);
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i]["request_id"].AsText(), entries[i].request_id);
    if (i == 3) {
      EXPECT_TRUE(rows[i]["user_id"].is_null());
    } else {
      EXPECT_EQ(rows[i]["user_id"].AsInt(), user_id) << i;
    }
  }
}

// With the JSON log format, a line logged during a call says which call: its method,
// peer, request id (the one its request-log row has) and time so far; a line logged
// outside any call has none of these.
TEST_F(RequestLogTest, JsonLogLinesOfACallCarryItsMethodPeerAndRequestId) {
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
TEST_F(RequestLogTest, TheAccessLogHasALinePerCallWithItsCode) {
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

TEST_F(RequestLogTest, TcpPeerIsStoredWithHostAndPort) {
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

TEST_F(RequestLogTest, DisabledOrWithoutDatabaseWritesNothing) {
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

// ---------------------------------------------------------------- write-behind

TEST(RequestLogWriter, FullQueueMakesProducersWaitAndLosesNothing) {
  const auto owned = MigratedInMemory();
  rpcforge::db::Database& database = *owned;
  FakeClock clock;

  std::mutex mu;
  std::condition_variable cv;
  bool released = false;
  RequestLogOptions options;
  options.queue_size = 2;
  options.batch_size = 1;
  auto writer = std::make_unique<RequestLogWriter>(database, clock, options);
  writer->TEST_SetBeforeBatchHook([&] {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, seconds(10), [&] { return released; });
  });

  constexpr int kRows = 10;
  std::thread producer([&] {
    for (int i = 0; i < kRows; ++i) {
      writer->Enqueue(Entry("/a.S/M", "success", i, clock.Now()));
    }
  });
  // One row is stalled in the writer, two fill the queue, the producer waits.
  ASSERT_TRUE(writer->TEST_WaitForBlockedProducers(1, seconds(10)));
  EXPECT_LE(writer->pending(), 3u);
  {
    std::lock_guard<std::mutex> lock(mu);
    released = true;
  }
  cv.notify_all();
  producer.join();
  writer->Flush();
  EXPECT_EQ(writer->written(), static_cast<uint64_t>(kRows));
  EXPECT_EQ(LogRows(database).size(), static_cast<size_t>(kRows));
}

TEST(RequestLogWriter, FlushAndDestructionWriteEverythingQueued) {
  const auto owned = MigratedInMemory();
  rpcforge::db::Database& database = *owned;
  FakeClock clock;

  for (bool by_destructor : {false, true}) {
    std::mutex mu;
    std::condition_variable cv;
    bool released = false;
    RequestLogOptions options;
    options.batch_size = 2;
    auto writer = std::make_unique<RequestLogWriter>(database, clock, options);
    writer->TEST_SetBeforeBatchHook([&] {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait_for(lock, seconds(10), [&] { return released; });
    });
    for (int i = 0; i < 7; ++i) writer->Enqueue(Entry("/a.S/M", "success", i, clock.Now()));
    // Whether the release comes before or after Flush/destruction begins, every row
    // queued behind the stalled batch must be written by the time they return.
    std::thread finisher([&] {
      if (by_destructor) {
        writer.reset();
      } else {
        writer->Flush();
      }
    });
    {
      std::lock_guard<std::mutex> lock(mu);
      released = true;
    }
    cv.notify_all();
    finisher.join();
    EXPECT_EQ(LogRows(database).size(), by_destructor ? 14u : 7u) << by_destructor;
    writer.reset();
  }
}

// Durable (the default): the answer waits for the commit of the batch holding the
// call's row, so a crash after the answer cannot lose the row.
TEST_F(RequestLogCommitTest, ADurableCallIsAnsweredOnlyAfterItsRowCommits) {
  Harness h(db(), nullptr, "request_logging");
  rpcforge::db::GroupCommit* commit = h.server->server().group_commit();
  ASSERT_NE(commit, nullptr);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> stalled{false};
  commit->TEST_SetBeforeBatchHook([&] {
    stalled = true;
    released.wait();
  });
  std::atomic<bool> answered{false};
  grpc::Status status;
  std::thread client([&] {
    status = h.Echo(Req("durable"));
    answered = true;
  });
  for (int i = 0; i < 5000 && !stalled; ++i) std::this_thread::sleep_for(milliseconds(1));
  ASSERT_TRUE(stalled);
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_FALSE(answered) << "answered before its log row was committed";
  EXPECT_TRUE(LogRows(db()).empty());
  release.set_value();
  client.join();
  commit->TEST_SetBeforeBatchHook(nullptr);  // it refers to this test's locals
  EXPECT_THAT(status, IsOk());
  EXPECT_EQ(LogRows(db()).size(), 1u);
}

TEST_F(RequestLogCommitTest, WriteBehindAnswersFirstAndWritesSoonAfter) {
  Harness h(db(), nullptr, "request_logging", {{"request_log.mode", "write_behind"}});
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  h.server->server().group_commit()->TEST_SetBeforeBatchHook([&] { released.wait(); });
  ASSERT_THAT(h.Echo(Req("behind")), IsOk());  // answered with the writer stalled
  EXPECT_TRUE(LogRows(db()).empty());
  release.set_value();
  h.server->server().group_commit()->Flush();
  h.server->server().group_commit()->TEST_SetBeforeBatchHook(nullptr);
  EXPECT_EQ(LogRows(db()).size(), 1u);
}

TEST_F(RequestLogCommitTest, ServerShutdownFlushesTheLog) {
  Harness h(db(), nullptr, "request_logging", {{"request_log.batch_size", "3"}});
  // Shutdown hooks run after the flush (serve marks the instance stopped after it).
  size_t rows_in_hook = 0;
  h.app.OnShutdown([&] { rows_in_hook = LogRows(db()).size(); });
  constexpr int kCalls = 20;
  for (int i = 0; i < kCalls; ++i) ASSERT_THAT(h.Echo(Req("m" + std::to_string(i))), IsOk());
  h.server->server().Shutdown();
  // Committed by the writer thread, visible to every connection.
  EXPECT_EQ(rows_in_hook, static_cast<size_t>(kCalls));
  EXPECT_EQ(LogRows(db()).size(), static_cast<size_t>(kCalls));
}

TEST_F(RequestLogCommitTest, FlushRequestLogsWaitsForTheWritersOfThatDatabase) {
  FakeClock clock;
  std::mutex mu;
  std::condition_variable cv;
  bool released = false;
  RequestLogWriter writer(db(), clock);
  writer.TEST_SetBeforeBatchHook([&] {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, seconds(10), [&] { return released; });
  });
  for (int i = 0; i < 5; ++i) writer.Enqueue(Entry("/a.S/M", "success", i, clock.Now()));
  rpcforge::db::DatabaseOptions other_options;
  rpcforge::db::Database other(other_options);
  rpcforge::logging::FlushRequestLogs(&other);  // another database: returns at once
  std::thread flusher([&] { rpcforge::logging::FlushRequestLogs(&db()); });
  {
    std::lock_guard<std::mutex> lock(mu);
    released = true;
  }
  cv.notify_all();
  flusher.join();
  EXPECT_EQ(LogRows(db()).size(), 5u);
}

// ---------------------------------------------------------------- stats and retention

TEST_F(RequestLogTest, StatsComputeRatesAndNearestRankPercentiles) {
  FakeClock clock;
  const auto now = clock.Now();
  std::vector<RequestLogEntry> entries;
  // 100 calls of /a.S/Get with durations 1..100 ms: 90 ok, 5 errors, 3 cancelled,
  // 2 timeouts.
  for (int i = 1; i <= 100; ++i) {
    const char* status = i <= 90   ? "success"
                         : i <= 95 ? "error"
                         : i <= 98 ? "cancelled"
                                   : "timeout";
    entries.push_back(Entry("/a.S/Get", status, i, now - std::chrono::minutes(i)));
  }
  entries.push_back(Entry("/b.T/Put", "success", 7, now - std::chrono::hours(1)));
  // Outside a 24h window.
  entries.push_back(Entry("/b.T/Put", "error", 1000, now - std::chrono::hours(25)));
  rpcforge::logging::WriteRequestLogs(db(), entries);

  auto stats = rpcforge::logging::RequestLogStats(db(), std::chrono::hours(24), clock);
  EXPECT_EQ(stats.overall.total, 101);
  EXPECT_EQ(stats.overall.successful, 91);
  EXPECT_EQ(stats.overall.errors, 5);
  EXPECT_EQ(stats.overall.cancelled, 3);
  EXPECT_EQ(stats.overall.timeout, 2);
  EXPECT_THAT(stats.overall.success_rate, DoubleEq(91.0 / 101.0));

  const auto& get = stats.by_method.at("/a.S/Get");
  EXPECT_EQ(get.total, 100);
  EXPECT_THAT(get.success_rate, DoubleEq(0.9));
  EXPECT_THAT(get.avg_ms, DoubleEq(50.5));
  EXPECT_THAT(get.p50_ms, DoubleEq(50));
  EXPECT_THAT(get.p95_ms, DoubleEq(95));
  EXPECT_THAT(get.p99_ms, DoubleEq(99));
  EXPECT_EQ(stats.by_service.at("a.S").total, 100);
  EXPECT_EQ(stats.by_service.at("b.T").total, 1);
  EXPECT_THAT(stats.by_method.at("/b.T/Put").p99_ms, DoubleEq(7));

  // A 30-minute window keeps the Gets of the last 30 minutes (1..30 ms).
  auto recent = rpcforge::logging::RequestLogStats(db(), std::chrono::minutes(30), clock);
  EXPECT_EQ(recent.overall.total, 30);
  EXPECT_THAT(recent.overall.p50_ms, DoubleEq(15));
}

TEST_F(RequestLogTest, StatsOfNothingAreZero) {
  FakeClock clock;
  auto stats = rpcforge::logging::RequestLogStats(db(), std::chrono::hours(24), clock);
  EXPECT_EQ(stats.overall.total, 0);
  EXPECT_EQ(stats.overall.success_rate, 0);
  EXPECT_EQ(stats.overall.avg_ms, 0);
  EXPECT_EQ(stats.overall.p99_ms, 0);
  EXPECT_TRUE(stats.by_service.empty());
  EXPECT_EQ(rpcforge::logging::Percentile({}, 50), 0);
  EXPECT_EQ(rpcforge::logging::Percentile({4}, 1), 4);
  EXPECT_EQ(rpcforge::logging::Percentile({1, 2, 3, 4}, 100), 4);
  EXPECT_EQ(rpcforge::logging::Percentile({1, 2, 3, 4}, 50), 2);
}

TEST_F(RequestLogTest, PurgeDeletesRowsOlderThanTheRetention) {
  FakeClock clock;
  const auto now = clock.Now();
  rpcforge::logging::WriteRequestLogs(db(),
                                      {Entry("/a.S/M", "success", 1, now - std::chrono::hours(49)),
                                       Entry("/a.S/M", "success", 1, now - std::chrono::hours(47)),
                                       Entry("/a.S/M", "success", 1, now)});
  RequestLogOptions keep_forever;
  keep_forever.retention = milliseconds(0);
  EXPECT_EQ(RequestLogWriter(db(), clock, keep_forever).PurgeExpired(now), 0);

  RequestLogOptions two_days;
  two_days.retention = std::chrono::hours(48);
  RequestLogWriter writer(db(), clock, two_days);
  EXPECT_EQ(writer.PurgeExpired(now), 1);
  EXPECT_EQ(LogRows(db()).size(), 2u);
  clock.Advance(std::chrono::hours(2));
  EXPECT_EQ(writer.PurgeExpired(clock.Now()), 1);
  EXPECT_EQ(LogRows(db()).size(), 1u);
}

TEST(RequestLog, OptionsComeFromTheConfig) {
  auto loaded = rpcforge::config::LoadString(
      "request_log:\n  queue_size: 7\n  batch_size: 3\n  retention: 2d\n");
  ASSERT_TRUE(loaded.ok()) << loaded.ErrorText();
  auto o = RequestLogOptions::FromConfig(&loaded.config);
  EXPECT_EQ(o.queue_size, 7u);
  EXPECT_EQ(o.batch_size, 3u);
  EXPECT_EQ(o.retention, std::chrono::hours(48));
  auto d = RequestLogOptions::FromConfig(nullptr);
  EXPECT_EQ(d.queue_size, 10000u);
  EXPECT_EQ(d.batch_size, 1000u);
  EXPECT_EQ(d.retention, std::chrono::hours(24 * 30));
}

// ---------------------------------------------------------------- docs/security.md

TEST(RequestLog, DocumentedConfigAndCommandsAreValid) {
  const std::string doc = rpcforge::strings::ReadSourceFile("docs/security.md");
  const std::string heading = "\n## Request logging and server status\n";
  size_t at = doc.find(heading);
  ASSERT_NE(at, std::string::npos);
  const std::string section = doc.substr(at);
  size_t begin = section.find("```yaml\n");
  ASSERT_NE(begin, std::string::npos);
  begin += 8;
  const std::string yaml = section.substr(begin, section.find("```", begin) - begin);
  auto loaded = rpcforge::config::LoadString(yaml, "docs/security.md");
  ASSERT_TRUE(loaded.ok()) << loaded.ErrorText();
  auto errors = rpcforge::config::Validate(loaded.config);
  EXPECT_TRUE(errors.empty());
  EXPECT_TRUE(rpcforge::config::RequestLogEnabled(loaded.config));
  EXPECT_EQ(rpcforge::config::RequestLogQueueSize(loaded.config), 10000);
  EXPECT_EQ(rpcforge::config::RequestLogBatchSize(loaded.config), 1000);
  EXPECT_EQ(rpcforge::config::RequestLogRetention(loaded.config), std::chrono::hours(24 * 7));
  EXPECT_EQ(rpcforge::config::HeartbeatInterval(loaded.config), seconds(15));
  EXPECT_THAT(section, HasSubstr("app logs stats --hours 24"));
  EXPECT_THAT(section, HasSubstr("app logs tail -n 50"));
  EXPECT_THAT(section, HasSubstr("app status"));
}

// ---------------------------------------------------------------- migration

TEST(RequestLog, Migration0002AddsThePeerColumnsToAnOlderSchema) {
  const auto owned = MigratedInMemory();
  rpcforge::db::Database& database = *owned;
  // Turn the table back into what 0001_initial created before 0002 existed.
  for (const char* column : {"peer_host", "peer_port", "request_messages", "response_messages"}) {
    database.Execute(std::string("ALTER TABLE rpcforge_requestlog DROP COLUMN ") + column);
  }
  database.Execute(
      "DELETE FROM rpcforge_migrations WHERE app = 'rpcforge' AND name = '0002_requestlog_peer'");
  std::ostringstream again;
  EXPECT_EQ(rpcforge::db::Migrate(database, rpcforge::db::Registry::Global(), again), 1);
  EXPECT_THAT(again.str(), HasSubstr("Applying rpcforge.0002_requestlog_peer... OK"));
  FakeClock clock;
  RequestLogEntry e = Entry("/a.S/M", "success", 1, clock.Now());
  e.peer_host = "::1";
  e.peer_port = 5;
  rpcforge::logging::WriteRequestLogs(database, {e});
  auto rows = LogRows(database);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["peer_host"].AsText(), "::1");
  EXPECT_EQ(rows[0]["peer_port"].AsInt(), 5);
}

// A row the database refuses (here: its table is gone) is logged and dropped, and the
// writer and the per-database totals the admin port reports count it.
TEST(RequestLogWriter, RowsTheDatabaseRefusesAreCountedAsDropped) {
  const auto owned = MigratedInMemory();
  rpcforge::db::Database& database = *owned;
  database.Execute("DROP TABLE rpcforge_requestlog");
  FakeClock clock;
  RequestLogWriter writer(database, clock);
  for (int i = 0; i < 3; ++i) writer.Enqueue(Entry("/a.S/M", "success", i, clock.Now()));
  writer.Flush();
  EXPECT_EQ(writer.written(), 0u);
  EXPECT_EQ(writer.dropped(), 3u);
  EXPECT_EQ(writer.pending(), 0u);
  const auto totals = rpcforge::logging::RequestLogTotalsFor(&database);
  EXPECT_EQ(totals.dropped, 3u);
  EXPECT_EQ(totals.written, 0u);
}
