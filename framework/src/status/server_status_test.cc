// SPDX-License-Identifier: Apache-2.0
// Server status: the row's lifecycle, replaced rows, heartbeats and is_running with a
// FakeClock, the services recorded for a real (test) server, and failure tolerance.
#include "rpcforge/status/server_status.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "rpcforge/app.h"
#include "rpcforge/db/database.h"
#include "rpcforge/db/framework_models.h"
#include "rpcforge/db/query.h"
#include "rpcforge/fixtures/test_case.h"
#include "rpcforge/testing/fake_clock.h"
#include "rpcforge/testing/test_server.h"
#include "server/testdata/echo_service.h"

using rpcforge::db::Row;
using rpcforge::status::ListServerInstances;
using rpcforge::status::ServerInstance;
using rpcforge::status::ServerStatusOptions;
using rpcforge::status::ServerStatusReporter;
using rpcforge::testing::FakeClock;
using std::chrono::seconds;
using ::testing::ElementsAre;

namespace {

class ServerStatusTest : public rpcforge::fixtures::TestCase {
 protected:
  Row Get(const std::string& instance_id) {
    return rpcforge::db::ServerStatusModel().Objects(db()).Get("instance_id", instance_id);
  }
};

ServerStatusOptions Options(int port, int64_t pid) {
  ServerStatusOptions o;
  o.host = "127.0.0.1";
  o.port = port;
  o.pid = pid;
  o.heartbeat_interval = seconds(10);
  o.heartbeat_thread = false;  // the test drives Heartbeat()
  o.services = {{"blog.v1.PostService", {"GetPost", "ListPosts"}}};
  return o;
}

}  // namespace

TEST_F(ServerStatusTest, LifecycleStartingRunningHeartbeatStoppingStopped) {
  FakeClock clock;
  const auto t0 = clock.Now();
  ServerStatusReporter reporter(db(), clock, Options(50051, 42));
  EXPECT_EQ(reporter.instance_id(), "127.0.0.1:50051:42");

  ASSERT_TRUE(reporter.Start());
  Row row = Get("127.0.0.1:50051:42");
  EXPECT_EQ(row["status"].AsText(), "starting");
  EXPECT_EQ(row["host"].AsText(), "127.0.0.1");
  EXPECT_EQ(row["port"].AsInt(), 50051);
  EXPECT_EQ(row["pid"].AsInt(), 42);
  EXPECT_EQ(row["started_at"].AsTime(), t0);
  EXPECT_TRUE(row["last_heartbeat"].is_null());
  EXPECT_EQ(row["services"].AsText(),
            R"([{"methods":["GetPost","ListPosts"],"name":"blog.v1.PostService"}])");

  ASSERT_TRUE(reporter.MarkRunning());
  EXPECT_EQ(Get(reporter.instance_id())["status"].AsText(), "running");
  EXPECT_EQ(Get(reporter.instance_id())["last_heartbeat"].AsTime(), t0);

  clock.Advance(seconds(10));
  ASSERT_TRUE(reporter.Heartbeat());
  EXPECT_EQ(Get(reporter.instance_id())["last_heartbeat"].AsTime(), t0 + seconds(10));

  ASSERT_TRUE(reporter.MarkStopping());
  EXPECT_EQ(Get(reporter.instance_id())["status"].AsText(), "stopping");
  clock.Advance(seconds(3));
  ASSERT_TRUE(reporter.MarkStopped());
  row = Get(reporter.instance_id());
  EXPECT_EQ(row["status"].AsText(), "stopped");
  EXPECT_EQ(row["stopped_at"].AsTime(), t0 + seconds(13));
  EXPECT_EQ(row["error_message"].AsText(), "");
}

TEST_F(ServerStatusTest, ARowDeletedWhileTheServerRunsIsWrittenAgain) {
  FakeClock clock;
  const auto t0 = clock.Now();
  ServerStatusReporter reporter(db(), clock, Options(50051, 42));
  ASSERT_TRUE(reporter.Start());
  ASSERT_TRUE(reporter.MarkRunning());
  db().Execute("DELETE FROM rpcforge_serverstatus");  // an operator's clean-up
  clock.Advance(seconds(10));
  ASSERT_TRUE(reporter.Heartbeat());
  Row row = Get(reporter.instance_id());
  EXPECT_EQ(row["status"].AsText(), "running");
  EXPECT_EQ(row["started_at"].AsTime(), t0);
  EXPECT_EQ(row["last_heartbeat"].AsTime(), t0 + seconds(10));
  EXPECT_EQ(row["services"].AsText(),
            R"([{"methods":["GetPost","ListPosts"],"name":"blog.v1.PostService"}])");

  db().Execute("DELETE FROM rpcforge_serverstatus");
  ASSERT_TRUE(reporter.MarkStopped());
  row = Get(reporter.instance_id());
  EXPECT_EQ(row["status"].AsText(), "stopped");
  EXPECT_FALSE(row["stopped_at"].is_null());
}

TEST_F(ServerStatusTest, ErrorIsRecordedWithItsMessage) {
  FakeClock clock;
  ServerStatusReporter reporter(db(), clock, Options(50051, 7));
  ASSERT_TRUE(reporter.Start());
  ASSERT_TRUE(reporter.MarkError("cannot bind: address already in use"));
  Row row = Get(reporter.instance_id());
  EXPECT_EQ(row["status"].AsText(), "error");
  EXPECT_EQ(row["error_message"].AsText(), "cannot bind: address already in use");
  EXPECT_FALSE(row["stopped_at"].is_null());
}

TEST_F(ServerStatusTest, StartingMarksEarlierRowsOfTheSameAddressReplaced) {
  FakeClock clock;
  ServerStatusReporter stopped(db(), clock, Options(50051, 4));
  ASSERT_TRUE(stopped.Start());
  ASSERT_TRUE(stopped.MarkStopped());
  ServerStatusReporter old_running(db(), clock, Options(50051, 1));
  ASSERT_TRUE(old_running.Start());
  ASSERT_TRUE(old_running.MarkRunning());
  ServerStatusReporter other_port(db(), clock, Options(50052, 3));
  ASSERT_TRUE(other_port.Start());
  ASSERT_TRUE(other_port.MarkRunning());

  clock.Advance(seconds(5));
  ServerStatusReporter fresh(db(), clock, Options(50051, 5));
  ASSERT_TRUE(fresh.Start());
  Row replaced = Get("127.0.0.1:50051:1");
  EXPECT_EQ(replaced["status"].AsText(), "stopped");
  EXPECT_EQ(replaced["error_message"].AsText(), "replaced");
  EXPECT_EQ(replaced["stopped_at"].AsTime(), clock.Now());
  EXPECT_EQ(Get("127.0.0.1:50052:3")["status"].AsText(), "running");  // another address
  EXPECT_EQ(Get("127.0.0.1:50051:4")["error_message"].AsText(), "");  // already stopped
  EXPECT_EQ(Get("127.0.0.1:50051:5")["status"].AsText(), "starting");

  // A row still starting is replaced too.
  clock.Advance(seconds(1));
  ServerStatusReporter newest(db(), clock, Options(50051, 6));
  ASSERT_TRUE(newest.Start());
  EXPECT_EQ(Get("127.0.0.1:50051:5")["status"].AsText(), "stopped");
  EXPECT_EQ(Get("127.0.0.1:50051:5")["error_message"].AsText(), "replaced");

  // The same instance id starting again (pid reuse) reuses its row.
  ServerStatusReporter again(db(), clock, Options(50051, 6));
  ASSERT_TRUE(again.Start());
  EXPECT_EQ(rpcforge::db::ServerStatusModel().Objects(db()).Count(), 5);
  EXPECT_EQ(Get("127.0.0.1:50051:6")["status"].AsText(), "starting");
}

TEST_F(ServerStatusTest, IsRunningWhileTheHeartbeatIsYoungerThanThreeIntervals) {
  FakeClock clock;
  ServerStatusReporter reporter(db(), clock, Options(50051, 42));
  ASSERT_TRUE(reporter.Start());
  ASSERT_TRUE(reporter.MarkRunning());
  auto running = [&] {
    auto list = ListServerInstances(db(), clock, seconds(10));
    return list.size() == 1 && list[0].is_running;
  };
  EXPECT_TRUE(running());
  clock.Advance(seconds(29));
  EXPECT_TRUE(running());
  clock.Advance(seconds(1));  // 30 s = 3 intervals without a heartbeat
  EXPECT_FALSE(running());
  ASSERT_TRUE(reporter.Heartbeat());
  EXPECT_TRUE(running());
  ASSERT_TRUE(reporter.MarkStopped());
  EXPECT_FALSE(running());

  ServerInstance i;
  i.status = "starting";
  i.started_at = clock.Now();
  EXPECT_TRUE(rpcforge::status::IsRunning(i, clock.Now() + seconds(29), seconds(10)));
  i.status = "error";
  EXPECT_FALSE(rpcforge::status::IsRunning(i, clock.Now(), seconds(10)));
}

TEST_F(ServerStatusTest, ListReadsBackEveryField) {
  FakeClock clock;
  ServerStatusReporter reporter(db(), clock, Options(50051, 42));
  ASSERT_TRUE(reporter.Start());
  ASSERT_TRUE(reporter.MarkRunning());
  auto list = ListServerInstances(db(), clock, seconds(10));
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].instance_id, "127.0.0.1:50051:42");
  EXPECT_EQ(list[0].host, "127.0.0.1");
  EXPECT_EQ(list[0].port, 50051);
  EXPECT_EQ(list[0].pid, 42);
  EXPECT_EQ(list[0].status, "running");
  EXPECT_EQ(list[0].started_at, clock.Now());
  ASSERT_EQ(list[0].services.size(), 1u);
  EXPECT_EQ(list[0].services[0].name, "blog.v1.PostService");
  EXPECT_THAT(list[0].services[0].methods, ElementsAre("GetPost", "ListPosts"));
}

TEST_F(ServerStatusTest, ForServerRecordsTheServedServicesAndTheirMethods) {
  FakeClock clock;
  rpcforge::App app;
  app.AddService<rpcforge_test::EchoImpl>();
  rpcforge::testing::TestServerOptions options;
  options.app = &app;
  options.clock = &clock;
  options.database = &db();
  options.config = {{"server_status.heartbeat_interval", "5s"}};
  rpcforge::testing::TestServer server(options);
  auto reporter = ServerStatusReporter::ForServer(db(), clock, server.server(), app,
                                                  &server.config(), /*heartbeat_thread=*/false);
  EXPECT_EQ(reporter->instance_id(), "inproc:0:" + std::to_string(getpid()));
  EXPECT_EQ(reporter->options().heartbeat_interval, seconds(5));
  auto list = ListServerInstances(db(), clock, seconds(5));
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].status, "running");
  ASSERT_EQ(list[0].services.size(), 1u);
  EXPECT_EQ(list[0].services[0].name, "rpcforge.test.EchoService");
  EXPECT_THAT(list[0].services[0].methods,
              ElementsAre("Echo", "Expand", "Collect", "Chat", "Unimplemented", "NestedTypes"));
}

TEST_F(ServerStatusTest, ThreadedReporterStopsPromptly) {
  FakeClock clock;
  ServerStatusOptions o = Options(50051, 42);
  o.heartbeat_thread = true;
  o.heartbeat_interval = std::chrono::hours(1);
  {
    ServerStatusReporter reporter(db(), clock, o);
    ASSERT_TRUE(reporter.Start());
    ASSERT_TRUE(reporter.MarkRunning());
  }  // the destructor wakes and joins the heartbeat thread without waiting an hour
  EXPECT_EQ(Get("127.0.0.1:50051:42")["status"].AsText(), "running");
}

TEST(ServerStatus, DatabaseFailuresAreReportedNotThrown) {
  rpcforge::db::DatabaseOptions dbo;
  dbo.path = ":memory:";
  rpcforge::db::Database unmigrated(dbo);  // no rpcforge_serverstatus table
  FakeClock clock;
  ServerStatusReporter reporter(unmigrated, clock, Options(1, 1));
  EXPECT_FALSE(reporter.Start());
  EXPECT_FALSE(reporter.MarkRunning());
  EXPECT_FALSE(reporter.Heartbeat());
  EXPECT_FALSE(reporter.MarkStopped());
}

TEST(ServerStatus, InstanceIdsBracketIpv6Hosts) {
  EXPECT_EQ(rpcforge::status::InstanceId("::1", 50051, 7), "[::1]:50051:7");
  EXPECT_EQ(rpcforge::status::InstanceId("10.0.0.1", 1, 2), "10.0.0.1:1:2");
}
