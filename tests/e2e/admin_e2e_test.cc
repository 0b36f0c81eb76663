// SPDX-License-Identifier: Apache-2.0
// The blog sample as a real process with its admin port: calls over gRPC, then
// /metrics and /api/v1/overview over HTTP, each number checked against the database.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

#include "e2e_util.h"
#include "rpcforge/client/dynamic_client.h"
#include "rpcforge/db/database.h"
#include "rpcforge/testing/fake_time_process.h"

using rpcforge::e2e::Joined;
using rpcforge::e2e::MigratedDatabase;
using rpcforge::e2e::RunOnce;
using rpcforge::testing::FakeTimeProcess;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

namespace {

// Chromium runs headless Chromium (Debian's chromium, installed by ci/setup) with
// `args` after its fixed flags, for at most 90 s, and returns its standard output. Not
// a FakeTimeProcess: Chromium does not run under libfaketime.
std::string Chromium(const std::vector<std::string>& args) {
  EXPECT_STRNE(CHROMIUM_BIN, "") << "no chromium on PATH: apt-get install chromium (ci/setup does)";
  const std::string base =
      ::testing::TempDir() + "/rpcforge_e2e_chromium_" + std::to_string(::getpid());
  std::string command = std::string("timeout 90 '") + CHROMIUM_BIN +
                        "' --headless --no-sandbox --disable-gpu --disable-dev-shm-usage"
                        " --no-first-run --user-data-dir='" +
                        base +
                        ".profile'"
                        // Virtual time runs the page's fetches and timers, then stops.
                        " --virtual-time-budget=5000";
  for (const auto& a : args) command += " '" + a + "'";
  command += " >'" + base + ".out' 2>'" + base + ".err'";
  const int rc = std::system(command.c_str());
  std::ifstream out_file(base + ".out");
  std::stringstream out;
  out << out_file.rdbuf();
  std::ifstream err_file(base + ".err");
  std::stringstream err;
  err << err_file.rdbuf();
  EXPECT_EQ(rc, 0) << command << "\n" << err.str().substr(0, 4000);
  std::error_code ec;
  std::filesystem::remove_all(base + ".profile", ec);
  std::filesystem::remove(base + ".out", ec);
  std::filesystem::remove(base + ".err", ec);
  return out.str();
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
  RunOnce(with({"users", "create", "ops", "--staff"}));
  std::smatch m;
  const std::string created = RunOnce(with({"keys", "create", "--name", "ops", "--user", "ops"}));
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

  // The page, in a real headless Chromium, shows the database's numbers. The key goes
  // in the URL fragment, which the browser never sends.
  const std::string url = (*admin)[1] + "/#key=" + key;
  const std::string dom = Chromium({"--dump-dom", url});
  EXPECT_THAT(dom, HasSubstr("data-loaded=\"yes\"")) << dom;
  EXPECT_THAT(dom, HasSubstr("id=\"total-requests\">" + std::to_string(count("1 = 1")) + "<"));
  EXPECT_THAT(dom, HasSubstr("id=\"errors\" class=\"err\">" +
                             std::to_string(count("status = 'error'")) + "<"));
  EXPECT_THAT(dom, HasSubstr("<td>/blog.v1.PostController/Create</td><td class=\"num\">3</td>"));
  EXPECT_THAT(dom, HasSubstr("<td class=\"err\">NOT_FOUND</td>"));  // the live tail
  // A screenshot for people, kept as a test artifact.
  const std::string png = std::string(E2E_ARTIFACT_DIR) + "/admin_page.png";
  std::remove(png.c_str());
  Chromium({"--window-size=1280,900", "--screenshot=" + png, url});
  EXPECT_GT(std::filesystem::exists(png) ? std::filesystem::file_size(png) : 0, 10000u) << png;

  client.reset();
  EXPECT_TRUE(server.Terminate(SIGTERM, 20s).success());
}

}  // namespace
