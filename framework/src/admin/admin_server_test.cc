// SPDX-License-Identifier: Apache-2.0
// The admin HTTP port over real loopback HTTP (cpp-httplib's client), against the
// test database and the shared test server's call metrics: who may ask, and that every
// number equals what the database (or the calls made) says.
#include "rpcforge/admin/admin_server.h"

#include <gmock/gmock.h>
#include <grpcpp/client_context.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "rpcforge/auth/api_keys.h"
#include "rpcforge/fixtures/rpc_test_case.h"
#include "rpcforge/testing/fake_clock.h"
#include "server/testdata/echo.grpc.pb.h"
#include "server/testdata/echo_service.h"

namespace {

using nlohmann::json;
using rpcforge::test::EchoRequest;
using rpcforge::test::EchoResponse;
using rpcforge::test::EchoService;
using ::testing::HasSubstr;

rpcforge::App& EchoApp() {
  static rpcforge::App* app = [] {
    auto* a = new rpcforge::App();
    a->AddService<rpcforge_test::EchoImpl>();
    return a;
  }();
  return *app;
}

class AdminServerTest : public rpcforge::fixtures::RpcTestCase {
 protected:
  rpcforge::App& app() override { return EchoApp(); }

  void SetUp() override {
    rpcforge::fixtures::RpcTestCase::SetUp();
    namespace auth = rpcforge::auth;
    staff_key_ =
        auth::CreateApiKey(db(), auth::CreateUser(db(), {"ops", "", true, false}), "ops").key;
    plain_key_ =
        auth::CreateApiKey(db(), auth::CreateUser(db(), {"ada", "", false, false}), "ada").key;
    rpcforge::admin::AdminOptions options;
    admin_ = rpcforge::admin::AdminServer::Start(db(), rpcforge::Clock::Real(), &server().server(),
                                                 options);
    client_ = std::make_unique<httplib::Client>(admin_->url());
    client_->set_read_timeout(10);
  }
  void TearDown() override {
    client_.reset();
    admin_.reset();
    rpcforge::fixtures::RpcTestCase::TearDown();
  }

  // Call makes one Echo call (`fail` as EchoImpl understands it).
  grpc::StatusCode Call(const std::string& fail = "", const std::string& key = "") {
    grpc::ClientContext ctx;
    if (!key.empty()) ctx.AddMetadata("x-api-key", key);
    EchoRequest req;
    req.set_message("hi");
    req.set_fail(fail);
    EchoResponse resp;
    return Stub<EchoService>()->Echo(&ctx, req, &resp).error_code();
  }

  httplib::Result Get(const std::string& path, const std::string& key) {
    httplib::Headers headers;
    if (!key.empty()) headers.emplace("x-api-key", key);
    return client_->Get(path.c_str(), headers);
  }
  json GetJson(const std::string& path) {
    auto r = Get(path, staff_key_);
    EXPECT_TRUE(r) << path;
    if (!r) return json();
    EXPECT_EQ(r->status, 200) << path << ": " << r->body;
    return json::parse(r->body);
  }
  int64_t Count(const std::string& where = "1 = 1") {
    return db()
        .Query("SELECT count(*) AS n FROM rpcforge_requestlog WHERE " + where)[0]["n"]
        .AsInt();
  }

  std::string staff_key_;
  std::string plain_key_;
  std::unique_ptr<rpcforge::admin::AdminServer> admin_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(AdminServerTest, OnlyStaffKeysGetIn) {
  auto r = Get("/api/v1/overview", "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_THAT(r->body, HasSubstr("an API key is required"));
  r = Get("/api/v1/overview", std::string(64, 'a'));
  EXPECT_EQ(r->status, 401);
  r = Get("/metrics", plain_key_);
  EXPECT_EQ(r->status, 403);
  EXPECT_THAT(r->body, HasSubstr("staff or superuser"));
  EXPECT_EQ(Get("/api/v1/overview", staff_key_)->status, 200);
  // Health answers anyone (load balancers); an unknown page is a JSON 404.
  r = Get("/api/v1/health", "");
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(json::parse(r->body)["status"], "ok");
  r = Get("/nope", staff_key_);
  EXPECT_EQ(r->status, 404);
  EXPECT_THAT(r->body, HasSubstr("no such page"));
  EXPECT_THAT(admin_->url(), ::testing::MatchesRegex("http://127\\.0\\.0\\.1:[0-9]+"));
}

TEST_F(AdminServerTest, OverviewAndTimelineEqualTheRequestLog) {
  for (int i = 0; i < 3; ++i) ASSERT_EQ(Call(), grpc::StatusCode::OK);
  ASSERT_EQ(Call("not_found"), grpc::StatusCode::NOT_FOUND);
  const json o = GetJson("/api/v1/overview?hours=1");
  EXPECT_EQ(o["total_requests"], Count());
  EXPECT_EQ(o["total_requests"], 4);
  EXPECT_EQ(o["errors"], Count("status = 'error'"));
  EXPECT_DOUBLE_EQ(o["success_rate"].get<double>(), 0.75);
  const json& echo = o["methods"]["/rpcforge.test.EchoService/Echo"];
  EXPECT_EQ(echo["total_requests"], 4);
  EXPECT_EQ(o["services"]["rpcforge.test.EchoService"]["errors"], 1);
  EXPECT_GE(o["p99_ms"].get<double>(), o["p50_ms"].get<double>());

  const json t = GetJson("/api/v1/timeline?hours=2&bucket=hour");
  int64_t total = 0;
  for (const auto& p : t["points"]) total += p["requests"].get<int64_t>();
  EXPECT_EQ(total, Count());
  EXPECT_THAT(t["points"][0]["start"].get<std::string>(),
              ::testing::MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:00:00Z"));
  EXPECT_EQ(GetJson("/api/v1/timeline?bucket=day")["points"][0]["requests"], Count());
}

TEST_F(AdminServerTest, RequestsArePagedNewestFirstAndFiltered) {
  for (int i = 0; i < 5; ++i) ASSERT_EQ(Call(), grpc::StatusCode::OK);
  ASSERT_EQ(Call("not_found"), grpc::StatusCode::NOT_FOUND);
  ASSERT_EQ(Call("", staff_key_), grpc::StatusCode::OK);
  std::vector<int64_t> ids;
  std::string token;
  for (int page = 0; page < 10; ++page) {
    const json r = GetJson("/api/v1/requests?page_size=3" +
                           (token.empty() ? std::string() : "&page_token=" + token));
    for (const auto& row : r["requests"]) ids.push_back(row["id"].get<int64_t>());
    token = r["next_page_token"].get<std::string>();
    if (token.empty()) break;
  }
  ASSERT_EQ(static_cast<int64_t>(ids.size()), Count());
  EXPECT_TRUE(std::is_sorted(ids.rbegin(), ids.rend()));
  const json errors = GetJson("/api/v1/requests?code=NOT_FOUND");
  ASSERT_EQ(errors["requests"].size(), 1u);
  EXPECT_EQ(errors["requests"][0]["error_message"], "Echo: 42 not found");
  EXPECT_EQ(GetJson("/api/v1/requests?user=ops")["requests"].size(), 1u);
  EXPECT_EQ(
      GetJson("/api/v1/requests?method=Echo&service=rpcforge.test.EchoService")["requests"].size(),
      7u);
  EXPECT_EQ(GetJson("/api/v1/requests?since=2200-01-01T00:00:00Z")["requests"].size(), 0u);
  for (const char* bad :
       {"page_size=0", "page_size=x", "code=NOPE", "since=yesterday", "page_token=-1"}) {
    auto r = Get(std::string("/api/v1/requests?") + bad, staff_key_);
    EXPECT_EQ(r->status, 400) << bad;
    EXPECT_THAT(r->body, HasSubstr("\"error\"")) << bad;
  }
}

TEST_F(AdminServerTest, KeysShowUsageButNeverTheKey) {
  ASSERT_EQ(Call("", staff_key_), grpc::StatusCode::OK);
  auto r = Get("/api/v1/keys", staff_key_);
  ASSERT_EQ(r->status, 200);
  EXPECT_THAT(r->body, ::testing::Not(HasSubstr(staff_key_)));
  EXPECT_THAT(r->body, ::testing::Not(HasSubstr(plain_key_)));
  const json keys = json::parse(r->body)["keys"];
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0]["user"], "ops");
  EXPECT_EQ(keys[0]["prefix"], staff_key_.substr(0, 8));
  EXPECT_GE(keys[0]["request_count"].get<int64_t>(), 1);
  EXPECT_EQ(GetJson("/api/v1/instances")["instances"].size(),
            static_cast<size_t>(
                db().Query("SELECT count(*) AS n FROM rpcforge_serverstatus")[0]["n"].AsInt()));
}

// Parses the Prometheus text: every sample line is NAME{LABELS} VALUE, after its
// # TYPE line.
std::map<std::string, double> ParseMetrics(const std::string& text, std::set<std::string>* typed) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  std::string line;
  const std::regex sample(R"(([a-z_]+)(\{[^}]*\})? ([-+0-9.eE]+|\+Inf|NaN))");
  const std::regex type(R"(# TYPE ([a-z_]+) (counter|gauge|histogram))");
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_match(line, m, type)) {
      typed->insert(m[1]);
    } else if (line.rfind("# HELP ", 0) == 0) {
      continue;
    } else {
      EXPECT_TRUE(std::regex_match(line, m, sample)) << "not a sample: " << line;
      out[m[1].str() + m[2].str()] = std::stod(m[3]);
    }
  }
  return out;
}

TEST_F(AdminServerTest, MetricsCountTheCallsByMethodAndCode) {
  for (int i = 0; i < 3; ++i) ASSERT_EQ(Call(), grpc::StatusCode::OK);
  ASSERT_EQ(Call("not_found"), grpc::StatusCode::NOT_FOUND);
  auto r = Get("/metrics", staff_key_);
  ASSERT_EQ(r->status, 200);
  EXPECT_THAT(r->get_header_value("Content-Type"), HasSubstr("text/plain; version=0.0.4"));
  std::set<std::string> typed;
  const auto m = ParseMetrics(r->body, &typed);
  const std::string method = "method=\"/rpcforge.test.EchoService/Echo\"";
  EXPECT_EQ(m.at("rpcforge_requests_total{" + method + ",code=\"OK\"}"), 3);
  EXPECT_EQ(m.at("rpcforge_requests_total{" + method + ",code=\"NOT_FOUND\"}"), 1);
  EXPECT_EQ(m.at("rpcforge_request_duration_seconds_count{" + method + "}"), 4);
  EXPECT_EQ(m.at("rpcforge_request_duration_seconds_bucket{" + method + ",le=\"+Inf\"}"), 4);
  EXPECT_GT(m.at("rpcforge_request_duration_seconds_sum{" + method + "}"), 0);
  EXPECT_EQ(m.at("rpcforge_calls_in_flight"), 0);
  EXPECT_EQ(m.at("rpcforge_request_log_queue_depth"), 0);
  EXPECT_EQ(m.at("rpcforge_request_log_rows_dropped_total"), 0);
  EXPECT_GE(m.at("rpcforge_db_connections_max"), 1);
  for (const char* name : {"rpcforge_requests_total", "rpcforge_request_duration_seconds",
                           "rpcforge_calls_in_flight", "rpcforge_workers_busy",
                           "rpcforge_request_log_queue_depth", "rpcforge_db_connections_in_use"}) {
    EXPECT_EQ(typed.count(name), 1u) << name;
  }
}

TEST(AdminServer, ABadOrBusyAddressIsAClearError) {
  rpcforge::db::Database db(rpcforge::db::DatabaseOptions{});
  rpcforge::admin::AdminOptions options;
  options.address = "localhost";
  EXPECT_THROW(rpcforge::admin::AdminServer::Start(db, rpcforge::Clock::Real(), nullptr, options),
               rpcforge::InvalidArgument);
  options.address = "127.0.0.1:0";
  auto first = rpcforge::admin::AdminServer::Start(db, rpcforge::Clock::Real(), nullptr, options);
  options.address = first->address();
  try {
    rpcforge::admin::AdminServer::Start(db, rpcforge::Clock::Real(), nullptr, options);
    FAIL() << "two admin servers on one port";
  } catch (const rpcforge::Unavailable& e) {
    EXPECT_THAT(e.what(), HasSubstr("cannot listen on " + first->address()));
  }
}

// TLS like the gRPC port: the same certificate files; a client that trusts the CA gets
// in over https, a plain-HTTP one does not, and files that do not load are an error.
TEST(AdminServer, ServesHttpsWithTheServersCertificate) {
  const std::string dir = ::testing::TempDir() + "/rpcforge_admin_tls_" + std::to_string(getpid());
  const std::string script =
      "set -e; rm -rf " + dir + "; mkdir -p " + dir + " && cd " + dir +
      " && openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost"
      " -addext subjectAltName=IP:127.0.0.1 -keyout key.pem -out cert.pem 2>/dev/null";
  ASSERT_EQ(std::system(("bash -c \"" + script + "\"").c_str()), 0) << "openssl failed";
  rpcforge::db::Database db(rpcforge::db::DatabaseOptions{});
  rpcforge::admin::AdminOptions options;
  options.cert_chain_file = dir + "/cert.pem";
  options.private_key_file = dir + "/key.pem";
  auto admin = rpcforge::admin::AdminServer::Start(db, rpcforge::Clock::Real(), nullptr, options);
  EXPECT_EQ(admin->url(), "https://" + admin->address());
  httplib::SSLClient tls("127.0.0.1",
                         std::stoi(admin->address().substr(admin->address().rfind(':') + 1)));
  tls.set_ca_cert_path((dir + "/cert.pem").c_str());
  tls.enable_server_certificate_verification(true);
  auto r = tls.Get("/api/v1/health");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200);
  httplib::Client plain("http://" + admin->address());
  plain.set_read_timeout(5);
  auto p = plain.Get("/api/v1/health");
  EXPECT_TRUE(!p || p->status != 200);
  admin.reset();
  options.private_key_file = dir + "/missing.pem";
  EXPECT_THROW(rpcforge::admin::AdminServer::Start(db, rpcforge::Clock::Real(), nullptr, options),
               rpcforge::InvalidArgument);
  std::system(("rm -rf " + dir).c_str());
}

}  // namespace
