// SPDX-License-Identifier: Apache-2.0
// The dispatcher's call interrupt: database work of a call stops when its deadline
// passes or its client cancels, instead of running on after the client gave up.
#include <gmock/gmock.h>
#include <grpcpp/client_context.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <future>
#include <thread>

#include "rpcforge/app.h"
#include "rpcforge/db/database.h"
#include "rpcforge/testing/matchers.h"
#include "rpcforge/testing/test_server.h"
#include "server/testdata/echo.grpc.pb.h"
#include "server/testdata/echo_service.h"

using rpcforge::test::EchoRequest;
using rpcforge::test::EchoResponse;
using rpcforge::test::EchoService;
using rpcforge::testing::StatusIs;
using rpcforge_test::EchoImpl;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

namespace {

class CallInterruptTest : public ::testing::Test {
 protected:
  CallInterruptTest() {
    echo_ = app_.AddService<EchoImpl>();
    rpcforge::testing::TestServerOptions options;
    options.app = &app_;
    options.database = db_.get();
    options.config = {{"request_log.enabled", "false"}};
    server_ = std::make_unique<rpcforge::testing::TestServer>(options);
  }

  static EchoRequest SlowQuery() {
    EchoRequest request;
    request.set_fail("slow_query");
    return request;
  }

  std::unique_ptr<rpcforge::db::Database> db_ = rpcforge::db::Database::Open(":memory:");
  rpcforge::App app_;
  std::shared_ptr<EchoImpl> echo_;
  std::unique_ptr<rpcforge::testing::TestServer> server_;
};

}  // namespace

// The query alone would run for minutes; the bounds below allow a slow machine a
// second, which is still three orders of magnitude less.
TEST_F(CallInterruptTest, ALongQueryStopsAtTheCallsDeadline) {
  auto stub = server_->Stub<EchoService>();
  grpc::ClientContext ctx;
  const auto deadline = steady_clock::now() + milliseconds(300);
  ctx.set_deadline(std::chrono::system_clock::now() + milliseconds(300));
  EchoResponse response;
  EXPECT_THAT(stub->Echo(&ctx, SlowQuery(), &response),
              StatusIs(grpc::StatusCode::DEADLINE_EXCEEDED));
  const auto ended = echo_->WaitForSlowQuery(milliseconds(10000));
  ASSERT_TRUE(ended.has_value()) << "the handler is still running its query";
  EXPECT_EQ(ended->second, "DEADLINE_EXCEEDED");
  EXPECT_LT(ended->first - deadline, milliseconds(1000));
}

TEST_F(CallInterruptTest, ALongQueryStopsWhenTheClientCancels) {
  auto stub = server_->Stub<EchoService>();
  grpc::ClientContext ctx;
  std::thread canceller([&ctx] {
    std::this_thread::sleep_for(milliseconds(200));
    ctx.TryCancel();
  });
  EchoResponse response;
  EXPECT_THAT(stub->Echo(&ctx, SlowQuery(), &response), StatusIs(grpc::StatusCode::CANCELLED));
  const auto cancelled_at = steady_clock::now();
  canceller.join();
  const auto ended = echo_->WaitForSlowQuery(milliseconds(10000));
  ASSERT_TRUE(ended.has_value()) << "the handler is still running its query";
  EXPECT_EQ(ended->second, "CANCELLED");
  EXPECT_LT(ended->first - cancelled_at, milliseconds(1000));
}

TEST(CallInterrupt, WaitingForTheWriterLockEndsAtTheDeadline) {
  // A file database: the writer lock, not its only connection, is what the insert
  // waits for.
  const std::string path =
      ::testing::TempDir() + "call_interrupt_" + std::to_string(::getpid()) + ".sqlite3";
  auto db = rpcforge::db::Database::Open(path);
  db->Execute("CREATE TABLE t (x INTEGER)");
  std::promise<void> holding, release;
  std::thread writer([&] {
    auto tx = db->Atomic();  // holds the writer lock
    holding.set_value();
    release.get_future().wait();
    tx.Commit();
  });
  holding.get_future().wait();
  const auto start = steady_clock::now();
  {
    rpcforge::db::CallInterrupt interrupt(start + milliseconds(100), nullptr);
    EXPECT_THROW(db->Execute("INSERT INTO t VALUES (1)"), rpcforge::DeadlineExceeded);
  }
  EXPECT_LT(steady_clock::now() - start, milliseconds(1000));  // not the 30 s lease timeout
  release.set_value();
  writer.join();
  EXPECT_EQ(db->Execute("INSERT INTO t VALUES (2)").changes, 1);  // no scope: works again
  db.reset();
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
}

TEST(CallInterrupt, NoScopeAndAFutureDeadlineLeaveQueriesAlone) {
  auto db = rpcforge::db::Database::Open(":memory:");
  EXPECT_EQ(db->Query("SELECT 41 + 1")[0].at(0).AsInt(), 42);
  rpcforge::db::CallInterrupt interrupt(steady_clock::now() + std::chrono::hours(1),
                                        [] { return false; });
  EXPECT_EQ(db->Query("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
                      "LIMIT 100000) SELECT count(*) FROM c")[0]
                .at(0)
                .AsInt(),
            100000);
  EXPECT_NO_THROW(rpcforge::db::CallInterrupt::Check());
}
