// SPDX-License-Identifier: Apache-2.0
// The blog sample as a real process with its admin port: calls over gRPC, then
// /metrics and /api/v1/overview over HTTP, each number checked against the database.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <thread>

#include "e2e_util.h"
#include "rpcforge/client/dynamic_client.h"
#include "rpcforge/db/database.h"
#include "rpcforge/testing/fake_time_process.h"

using rpcforge::e2e::Joined;
using rpcforge::e2e::MigratedDatabase;
using rpcforge::testing::FakeTimeProcess;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

namespace {

std::string RunToEnd(std::vector<std::string> argv) {
  FakeTimeProcess::Options options;
  options.argv = std::move(argv);
  options.capture_stderr = true;
  FakeTimeProcess proc(options);
  proc.Start();
  auto status = proc.Wait(60s);
  const std::string out = Joined(proc.output());
  EXPECT_TRUE(status && status->success()) << out;
  return out;
}

TEST(AdminProcess, MetricsAndOverviewEqualTheDatabase) {
  const MigratedDatabase db(BLOG_BIN, "admin.sqlite3");
  ASSERT_FALSE(db.empty());
  const std::vector<std::string> base = {BLOG_BIN, "--database", db, "--log-level", "error"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> argv = base;
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  };
  RunToEnd(with({"users", "create", "ops", "--staff"}));
  std::smatch m;
  const std::string created = RunToEnd(with({"keys", "create", "--name", "ops", "--user", "ops"}));
  ASSERT_TRUE(std::regex_search(created, m, std::regex("\\b([0-9a-f]{64})\\b"))) << created;
  const std::string key = m[1];

  FakeTimeProcess server(
      with({"serve", "--address", "127.0.0.1:0", "--admin-address", "127.0.0.1:0"}));
  server.Start();
  auto admin = server.WaitForMatch(std::regex("admin listening on (http://\\S+)"), 20s);
  ASSERT_TRUE(admin) << Joined(server.output());
  auto grpc_address = server.WaitForMatch(rpcforge::e2e::kListening, 20s);
  ASSERT_TRUE(grpc_address) << Joined(server.output());

  auto client = rpcforge::DynamicClient::Connect((*grpc_address)[1]);
  for (int i = 0; i < 3; ++i) {
    auto r = client->Call("blog.v1.PostController/Create",
                          R"({"title": "Post )" + std::to_string(i) + R"(", "content": "x"})");
    ASSERT_EQ(r.code, grpc::StatusCode::OK) << r.ErrorText();
  }
  auto missing = client->Call("blog.v1.PostController/Retrieve", R"({"id": 999})");
  ASSERT_EQ(missing.code, grpc::StatusCode::NOT_FOUND);

  httplib::Client http((*admin)[1]);
  http.set_read_timeout(10);
  const httplib::Headers auth = {{"x-api-key", key}};
  auto metrics = http.Get("/metrics", auth);
  ASSERT_TRUE(metrics);
  ASSERT_EQ(metrics->status, 200) << metrics->body;
  EXPECT_THAT(metrics->body,
              HasSubstr("rpcforge_requests_total{method=\"/blog.v1.PostController/Create\","
                        "code=\"OK\"} 3\n"));
  EXPECT_THAT(metrics->body,
              HasSubstr("rpcforge_requests_total{method=\"/blog.v1.PostController/Retrieve\","
                        "code=\"NOT_FOUND\"} 1\n"));
  EXPECT_THAT(metrics->body, HasSubstr("# TYPE rpcforge_request_duration_seconds histogram"));

  // The durable request log journals each row before the answer and writes it to the
  // database in the next batch: wait (bounded) until all four are there.
  auto database = rpcforge::db::Database::Open(db);
  const auto count = [&](const std::string& where) {
    return database->Query("SELECT count(*) AS n FROM rpcforge_requestlog WHERE " + where)[0]["n"]
        .AsInt();
  };
  for (int i = 0; i < 200 && count("1 = 1") < 4; ++i) std::this_thread::sleep_for(50ms);
  ASSERT_EQ(count("1 = 1"), 4);
  auto overview = http.Get("/api/v1/overview?hours=1", auth);
  ASSERT_TRUE(overview);
  ASSERT_EQ(overview->status, 200) << overview->body;
  const auto o = nlohmann::json::parse(overview->body);
  EXPECT_EQ(o["total_requests"].get<int64_t>(), count("1 = 1"));
  EXPECT_EQ(o["errors"].get<int64_t>(), count("status = 'error'"));
  ASSERT_TRUE(o["methods"].contains("/blog.v1.PostController/Create")) << overview->body;
  EXPECT_EQ(o["methods"]["/blog.v1.PostController/Create"]["total_requests"].get<int64_t>(),
            count("full_method = '/blog.v1.PostController/Create'"));
  EXPECT_EQ(http.Get("/api/v1/overview")->status, 401);

  client.reset();
  EXPECT_TRUE(server.Terminate(SIGTERM, 20s).success());
}

}  // namespace
