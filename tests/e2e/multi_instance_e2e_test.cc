// SPDX-License-Identifier: Apache-2.0
// Many server processes on one PostgreSQL database behind one client channel: grpc's
// round_robin over the three addresses, concurrent clients, every call logged exactly
// once, a rate limit exact across instances (rate_limit_storage: database), `status`
// rows for each instance; kill -9 one and the clients go on through the
// others (the channel's retry policy takes the calls the dead one refused), its status
// row stops counting as running after its heartbeat window, and it comes back.
//
// Needs a server: RPCFORGE_TEST_POSTGRES (ci/test starts one with ci/postgres).
#include <gmock/gmock.h>
#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "e2e_util.h"
#include "rpcforge/auth/api_keys.h"
#include "rpcforge/db/database.h"
#include "rpcforge/status/server_status.h"
#include "rpcforge/testing/fake_time_process.h"
#include "server/testdata/echo.grpc.pb.h"

using rpcforge::e2e::Joined;
using rpcforge::e2e::kListening;
using rpcforge::test::EchoRequest;
using rpcforge::test::EchoResponse;
using rpcforge::test::EchoService;
using rpcforge::testing::FakeTimeProcess;
using namespace std::chrono_literals;

namespace {

constexpr auto kHeartbeat = 300ms;

// The retry policy a client of several instances should use: a call the dying
// instance refuses (UNAVAILABLE) goes to another one, at most 4 attempts.
constexpr const char* kServiceConfig = R"({
  "loadBalancingConfig": [{"round_robin": {}}],
  "methodConfig": [{
    "name": [{"service": "rpcforge.test.EchoService"}],
    "retryPolicy": {
      "maxAttempts": 4, "initialBackoff": "0.05s", "maxBackoff": "0.5s",
      "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]
    }
  }]
})";

// SharedDatabase is a database of its own on the test server, migrated, with one
// user and API key; dropped at the end.
class SharedDatabase {
 public:
  SharedDatabase() {
    const char* base = std::getenv("RPCFORGE_TEST_POSTGRES");
    if (base == nullptr || *base == '\0') return;
    std::string url = base;
    name_ = "rpcforge_e2e_" + std::to_string(::getpid());
    admin_ = rpcforge::db::Database::Open(url);
    admin_->Execute("DROP DATABASE IF EXISTS \"" + name_ + "\" WITH (FORCE)");
    admin_->Execute("CREATE DATABASE \"" + name_ + "\"");
    url_ = rpcforge::db::WithPostgresDatabase(url, name_);
    rpcforge::e2e::RunOnce({ECHO_APP_BIN, "--database", url_, "--log-level", "warn", "migrate"});
    auto db = rpcforge::db::Database::Open(url_);
    auto user = rpcforge::auth::CreateUser(*db, {"load", ""});
    key_ =
        rpcforge::auth::CreateApiKey(*db, user, "load", std::nullopt, rpcforge::Clock::Real()).key;
  }
  ~SharedDatabase() {
    if (admin_ == nullptr) return;
    try {
      admin_->Execute("DROP DATABASE IF EXISTS \"" + name_ + "\" WITH (FORCE)");
    } catch (const std::exception&) {
    }
  }
  bool available() const { return !url_.empty(); }
  const std::string& url() const { return url_; }
  const std::string& key() const { return key_; }

 private:
  std::unique_ptr<rpcforge::db::Database> admin_;
  std::string name_;
  std::string url_;
  std::string key_;
};

// kConfig limits Expand to 50 calls an hour in total, counted in the database.
constexpr const char* kConfig = R"(rate_limit_storage: database
rate_limits:
  - methods: [rpcforge.test.EchoService/Expand]
    max_calls: 50
    period: 1h
    key: "metadata:x-tenant"
)";

std::string ConfigPath() {
  return ::testing::TempDir() + "/rpcforge_multi_instance_" + std::to_string(::getpid()) + ".yaml";
}

std::string ConfigFile() {
  const std::string path = ConfigPath();
  std::ofstream(path) << kConfig;
  return path;
}

std::unique_ptr<FakeTimeProcess> Serve(const SharedDatabase& db, const std::string& address) {
  static const std::string config = ConfigFile();
  FakeTimeProcess::Options options;
  options.argv = {ECHO_APP_BIN,  "--config", config,  "--database", db.url(),
                  "--log-level", "warn",     "serve", "--address",  address};
  options.env = {
      {"RPCFORGE_SERVER_STATUS_HEARTBEAT_INTERVAL", std::to_string(kHeartbeat.count()) + "ms"}};
  auto server = std::make_unique<FakeTimeProcess>(options);
  server->Start();
  return server;
}

struct Calls {
  int64_t ok = 0;
  int64_t failed = 0;
  std::map<std::string, int64_t> by_peer;  // which instance answered
  std::string first_error;
};

// Load runs `clients` threads of `each` calls over `channel`.
Calls Load(const std::shared_ptr<grpc::Channel>& channel, const std::string& key, int clients,
           int each) {
  Calls all;
  std::mutex mu;
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&] {
      auto stub = EchoService::NewStub(channel);
      EchoRequest request;
      request.set_message("hello");
      for (int i = 0; i < each; ++i) {
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + 10s);
        ctx.AddMetadata("x-api-key", key);
        EchoResponse response;
        const grpc::Status status = stub->Echo(&ctx, request, &response);
        std::lock_guard<std::mutex> lock(mu);
        if (status.ok()) {
          ++all.ok;
          ++all.by_peer[ctx.peer()];
        } else {
          ++all.failed;
          if (all.first_error.empty()) all.first_error = status.error_message();
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  return all;
}

// Expands makes `n` Expand calls for tenant "t1" over `channel` from 5 threads and
// counts the answers by code.
std::map<grpc::StatusCode, int> Expands(const std::shared_ptr<grpc::Channel>& channel,
                                        const std::string& key, int n) {
  std::map<grpc::StatusCode, int> codes;
  std::mutex mu;
  std::atomic<int> next{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 5; ++t) {
    threads.emplace_back([&] {
      auto stub = EchoService::NewStub(channel);
      EchoRequest request;
      request.set_message("x");
      request.set_count(1);
      while (next.fetch_add(1) < n) {
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + 10s);
        ctx.AddMetadata("x-api-key", key);
        ctx.AddMetadata("x-tenant", "t1");
        auto reader = stub->Expand(&ctx, request);
        EchoResponse response;
        while (reader->Read(&response)) {
        }
        const grpc::Status status = reader->Finish();
        std::lock_guard<std::mutex> lock(mu);
        ++codes[status.error_code()];
      }
    });
  }
  for (auto& t : threads) t.join();
  return codes;
}

int64_t OkEchoRows(const std::string& url) {
  auto db = rpcforge::db::Database::Open(url);
  return db
      ->Query("SELECT COUNT(*) AS n FROM rpcforge_requestlog WHERE method = 'Echo' AND code = 'OK'")
          [0]["n"]
      .AsInt();
}

int Running(const std::string& url) {
  auto db = rpcforge::db::Database::Open(url);
  int n = 0;
  for (const auto& i :
       rpcforge::status::ListServerInstances(*db, rpcforge::Clock::Real(), kHeartbeat)) {
    n += i.is_running ? 1 : 0;
  }
  return n;
}

// WaitFor polls `fn` every 50 ms for at most `limit`.
template <typename Fn>
bool WaitFor(Fn fn, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (int i = 0; i < 1000; ++i) {
    if (fn()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

}  // namespace

TEST(MultiInstance, ThreeServersOnOnePostgresBehindOneChannel) {
  SharedDatabase db;
  if (!db.available()) {
    const char* required = std::getenv("RPCFORGE_REQUIRE_POSTGRES");
    if (required != nullptr && std::string(required) == "1") FAIL() << "no PostgreSQL server";
    GTEST_SKIP() << "RPCFORGE_TEST_POSTGRES is unset";
  }
  std::vector<std::unique_ptr<FakeTimeProcess>> servers;
  std::vector<std::string> addresses;
  for (int i = 0; i < 3; ++i) {
    servers.push_back(Serve(db, "127.0.0.1:0"));
    auto match = servers.back()->WaitForMatch(kListening, 30s);
    ASSERT_TRUE(match) << Joined(servers.back()->output());
    addresses.push_back((*match)[1]);
  }
  grpc::ChannelArguments args;
  args.SetServiceConfigJSON(kServiceConfig);
  auto channel =
      grpc::CreateCustomChannel("ipv4:" + addresses[0] + "," + addresses[1] + "," + addresses[2],
                                grpc::InsecureChannelCredentials(), args);

  // Every instance answers, and each call is logged once, whichever answered it.
  const Calls first = Load(channel, db.key(), 8, 60);
  EXPECT_EQ(first.failed, 0) << first.first_error;
  EXPECT_EQ(first.ok, 480);
  EXPECT_EQ(first.by_peer.size(), 3u);
  for (const auto& [peer, n] : first.by_peer) EXPECT_GT(n, 0) << peer;
  EXPECT_TRUE(WaitFor([&] { return Running(db.url()) == 3; }, 5s)) << Running(db.url());
  EXPECT_TRUE(WaitFor([&] { return OkEchoRows(db.url()) == 480; }, 5s)) << OkEchoRows(db.url());

  // The rate limit counts the three instances' calls together: 50 of 90, not 150.
  const std::map<grpc::StatusCode, int> codes = Expands(channel, db.key(), 90);
  EXPECT_EQ(codes.size(), 2u);
  EXPECT_EQ(codes.count(grpc::StatusCode::OK) ? codes.at(grpc::StatusCode::OK) : 0, 50);
  EXPECT_EQ(codes.count(grpc::StatusCode::RESOURCE_EXHAUSTED)
                ? codes.at(grpc::StatusCode::RESOURCE_EXHAUSTED)
                : 0,
            40);

  // kill -9 one of them under load: the clients go on through the other two.
  std::atomic<bool> killed{false};
  std::thread killer([&] {
    std::this_thread::sleep_for(100ms);
    servers[1]->Terminate(SIGKILL, 10s);
    killed = true;
  });
  const Calls during = Load(channel, db.key(), 8, 60);
  killer.join();
  ASSERT_TRUE(killed);
  EXPECT_EQ(during.failed, 0) << during.first_error;
  const Calls after = Load(channel, db.key(), 4, 30);
  EXPECT_EQ(after.failed, 0) << after.first_error;
  EXPECT_EQ(after.by_peer.count("ipv4:" + addresses[1]), 0u);
  // Its status row stops counting as running once its heartbeat is 3 intervals old.
  EXPECT_TRUE(WaitFor([&] { return Running(db.url()) == 2; }, 5s)) << Running(db.url());

  // Restarted on its port, it serves again and reports running.
  servers[1] = Serve(db, addresses[1]);
  ASSERT_TRUE(servers[1]->WaitForMatch(kListening, 30s)) << Joined(servers[1]->output());
  EXPECT_TRUE(WaitFor([&] { return Running(db.url()) == 3; }, 5s)) << Running(db.url());
  EXPECT_TRUE(WaitFor(
      [&] {
        const Calls again = Load(channel, db.key(), 4, 30);
        return again.failed == 0 && again.by_peer.count("ipv4:" + addresses[1]) > 0;
      },
      10s));

  channel.reset();  // no open connection for the servers' shutdown to wait on
  for (auto& s : servers) {
    const rpcforge::testing::ExitStatus exit = s->Terminate(SIGTERM, 15s);
    EXPECT_TRUE(exit.success()) << exit.ToString();
  }
  EXPECT_EQ(Running(db.url()), 0);
  std::remove(ConfigPath().c_str());
}
