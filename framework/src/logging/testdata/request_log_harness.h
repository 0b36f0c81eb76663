// SPDX-License-Identifier: Apache-2.0
// Test-only: what the request log's tests (logging/request_log_test.cc) and the
// request_logging middleware's (middleware/request_logging_test.cc) share: an App
// serving Echo through a chosen middleware chain with test middlewares that set the
// identity, move a FakeClock and count finished calls; and helpers for rows and entries.
#ifndef RPCFORGE_LOGGING_TESTDATA_REQUEST_LOG_HARNESS_H_
#define RPCFORGE_LOGGING_TESTDATA_REQUEST_LOG_HARNESS_H_

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

namespace request_log_testing {

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

inline constexpr auto kTick = milliseconds(25);

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

inline EchoRequest Req(const std::string& message, const std::string& fail = "") {
  EchoRequest r;
  r.set_message(message);
  r.set_fail(fail);
  return r;
}

inline std::vector<Row> LogRows(rpcforge::db::Database& db) {
  return rpcforge::db::RequestLogModel().Objects(db).OrderBy({"id"}).All();
}

inline RequestLogEntry Entry(const std::string& full_method, const std::string& status, double ms,
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
inline std::unique_ptr<rpcforge::db::Database> MigratedInMemory() {
  rpcforge::db::DatabaseOptions dbo;
  dbo.path = ":memory:";
  auto database = std::make_unique<rpcforge::db::Database>(dbo);
  std::ostringstream ignored;
  rpcforge::db::Migrate(*database, rpcforge::db::Registry::Global(), ignored);
  return database;
}

}  // namespace request_log_testing

#endif  // RPCFORGE_LOGGING_TESTDATA_REQUEST_LOG_HARNESS_H_
