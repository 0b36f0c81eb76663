// SPDX-License-Identifier: Apache-2.0
// `logs stats`, `logs tail` and `status` through the command line, on a temporary
// database migrated by the `migrate` command.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <sstream>

#include "cli/commands.h"
#include "rpcforge/app.h"
#include "rpcforge/db/database.h"
#include "rpcforge/logging/request_log.h"
#include "rpcforge/status/server_status.h"
#include "rpcforge/testing/command.h"
#include "rpcforge/testing/fake_clock.h"

using rpcforge::testing::FakeClock;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

using Result = rpcforge::testing::CommandResult;

Result RunCli(rpcforge::App& app, const std::vector<std::string>& args) {
  return rpcforge::testing::RunCommand(app, args);
}

// A migrated database file of its own per test; the App reads a FakeClock.
class LogsCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = ::testing::TempDir() + "/rpcforge_logs_cmd_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".sqlite3";
    Remove();
    app_.SetClock(&clock_);
    Result r = Run({"migrate"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  void TearDown() override { Remove(); }

  void Remove() {
    for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path_ + suffix).c_str());
  }

  Result Run(std::vector<std::string> args) {
    args.insert(args.begin(), {"--database", path_});
    return RunCli(app_, std::move(args));
  }

  rpcforge::logging::RequestLogEntry Entry(const std::string& method, const std::string& status,
                                           double ms, std::chrono::minutes age) {
    rpcforge::logging::RequestLogEntry e;
    e.request_id = rpcforge::logging::NewRequestId();
    e.service = "blog.v1.PostService";
    e.method = method;
    e.full_method = "/blog.v1.PostService/" + method;
    e.status = status;
    e.code = status == "success" ? "OK" : "NOT_FOUND";
    e.error_message = status == "success" ? "" : "Post 7 not found";
    e.duration_ms = ms;
    e.peer = "ipv4:10.0.0.1:4242";
    e.created_at = clock_.Now() - age;
    e.completed_at = e.created_at;
    return e;
  }

  FakeClock clock_;
  rpcforge::App app_;
  std::string path_;
};

}  // namespace

TEST_F(LogsCommandsTest, StatsPrintsTotalsRatesAndBreakdowns) {
  {
    auto db = rpcforge::db::Database::Open(path_);
    rpcforge::logging::WriteRequestLogs(
        *db, {Entry("GetPost", "success", 10, std::chrono::minutes(5)),
              Entry("GetPost", "error", 30, std::chrono::minutes(10)),
              Entry("ListPosts", "success", 20, std::chrono::minutes(20)),
              Entry("ListPosts", "success", 20, std::chrono::minutes(60 * 30))});
  }
  Result r = Run({"logs", "stats"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Requests in the last 24h: 3"));
  EXPECT_THAT(r.out, HasSubstr("successful: 2"));
  EXPECT_THAT(r.out, HasSubstr("errors: 1"));
  EXPECT_THAT(r.out, HasSubstr("success rate: 66.7%"));
  EXPECT_THAT(r.out, HasSubstr("duration ms: avg 20.00, p50 20.00, p95 30.00, p99 30.00"));
  EXPECT_THAT(r.out, HasSubstr("By service:"));
  EXPECT_THAT(r.out, HasSubstr("blog.v1.PostService"));
  EXPECT_THAT(r.out, HasSubstr("/blog.v1.PostService/GetPost"));

  Result wide = Run({"logs", "stats", "--hours", "48"});
  ASSERT_EQ(wide.exit_code, 0) << wide.err;
  EXPECT_THAT(wide.out, HasSubstr("Requests in the last 48h: 4"));

  EXPECT_EQ(Run({"logs", "stats", "--hours", "0"}).exit_code, 2);
  EXPECT_EQ(Run({"logs"}).exit_code, 2);  // a subcommand is required
}

TEST_F(LogsCommandsTest, TailPrintsTheLatestRowsOldestFirst) {
  EXPECT_THAT(Run({"logs", "tail"}).out, HasSubstr("No requests logged."));
  {
    auto db = rpcforge::db::Database::Open(path_);
    rpcforge::logging::WriteRequestLogs(*db,
                                        {Entry("First", "success", 1, std::chrono::minutes(3)),
                                         Entry("Second", "error", 2, std::chrono::minutes(2)),
                                         Entry("Third", "success", 3, std::chrono::minutes(1))});
  }
  Result r = Run({"logs", "tail", "-n", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, Not(HasSubstr("First")));
  const size_t second = r.out.find("/blog.v1.PostService/Second");
  const size_t third = r.out.find("/blog.v1.PostService/Third");
  ASSERT_NE(second, std::string::npos) << r.out;
  ASSERT_NE(third, std::string::npos) << r.out;
  EXPECT_LT(second, third);
  EXPECT_THAT(r.out, HasSubstr("error NOT_FOUND"));
  EXPECT_THAT(r.out, HasSubstr("\"Post 7 not found\""));
  EXPECT_THAT(r.out, HasSubstr("ipv4:10.0.0.1:4242"));
  EXPECT_THAT(Run({"logs", "tail"}).out, HasSubstr("First"));  // default -n 50
}

TEST_F(LogsCommandsTest, StatusPrintsInstancesWithUptimeAndHeartbeat) {
  EXPECT_THAT(Run({"status"}).out, HasSubstr("No server instances recorded."));
  {
    auto db = rpcforge::db::Database::Open(path_);
    rpcforge::status::ServerStatusOptions options;
    options.host = "127.0.0.1";
    options.port = 50051;
    options.pid = 4242;
    options.heartbeat_thread = false;
    options.services = {{"blog.v1.PostService", {"GetPost", "ListPosts"}},
                        {"grpc.health.v1.Health", {"Check"}}};
    rpcforge::status::ServerStatusReporter live(*db, clock_, options);
    ASSERT_TRUE(live.Start());
    ASSERT_TRUE(live.MarkRunning());
    options.port = 50052;
    options.pid = 99;
    rpcforge::status::ServerStatusReporter gone(*db, clock_, options);
    ASSERT_TRUE(gone.Start());
    ASSERT_TRUE(gone.MarkRunning());
    clock_.Advance(std::chrono::seconds(50));
    ASSERT_TRUE(gone.MarkStopped());
    clock_.Advance(std::chrono::seconds(10));
    ASSERT_TRUE(live.Heartbeat());
    clock_.Advance(std::chrono::minutes(1) + std::chrono::seconds(5));
  }
  Result r = Run({"status"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("INSTANCE"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex(
                         "127\\.0\\.0\\.1:50051:4242 +running +yes +2m5s +1m5s ago +2"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("127\\.0\\.0\\.1:50052:99 +stopped +no +50s"));
}

TEST_F(LogsCommandsTest, HelpListsTheCommands) {
  Result r = RunCli(app_, {"--help"});
  EXPECT_THAT(r.out, HasSubstr("logs"));
  EXPECT_THAT(r.out, HasSubstr("status"));
}

namespace {

// Read-only and data commands name the file they would open, create nothing, and say
// how to make it; a database without the framework's tables says to migrate which file.
TEST(DatabaseCommands, AMissingOrUnmigratedDatabaseIsNamedAndNotCreated) {
  rpcforge::App app;
  const std::string path =
      ::testing::TempDir() + "/rpcforge_missing_" + std::to_string(getpid()) + ".sqlite3";
  std::remove(path.c_str());
  for (const std::vector<std::string>& command :
       std::vector<std::vector<std::string>>{{"logs", "tail"},
                                             {"logs", "stats"},
                                             {"status"},
                                             {"users", "list"},
                                             {"keys", "list"},
                                             {"dumpdata"}}) {
    std::vector<std::string> args = {"--database", path};
    args.insert(args.end(), command.begin(), command.end());
    Result r = RunCli(app, args);
    EXPECT_EQ(r.exit_code, 1) << command[0];
    EXPECT_THAT(r.err, HasSubstr("no database at '" + path + "'")) << command[0];
    EXPECT_THAT(r.err, HasSubstr("--database " + path + " migrate")) << command[0];
    EXPECT_NE(access(path.c_str(), F_OK), 0) << command[0] << " created " << path;
  }
  {
    rpcforge::db::Database empty(rpcforge::db::DatabaseOptions{path});  // a file, no tables
  }
  Result r = RunCli(app, {"--database", path, "logs", "tail"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr(path + ": no such table: rpcforge_requestlog"));
  EXPECT_THAT(r.err, HasSubstr("not migrated: run `"));
  EXPECT_THAT(r.err, Not(HasSubstr("Internal server error")));
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
}

}  // namespace
