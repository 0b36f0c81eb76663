// SPDX-License-Identifier: Apache-2.0
// What a real server process keeps when it is killed: kill -9 under load loses no
// request-log row and no API-key count of an answered call (durable mode, the
// default: journaled before the answer, replayed by the next process), and SIGTERM with a handler
// that ignores cancellation still exits within the grace period plus one second with the rows of
// every answered call written.
#include <gmock/gmock.h>
#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "e2e_util.h"
#include "rpcforge/auth/api_keys.h"
#include "rpcforge/db/database.h"
#include "rpcforge/testing/fake_time_process.h"
#include "server/testdata/echo.grpc.pb.h"

using rpcforge::e2e::Joined;
using rpcforge::e2e::kListening;
using rpcforge::test::EchoRequest;
using rpcforge::test::EchoResponse;
using rpcforge::test::EchoService;
using rpcforge::testing::ExitStatus;
using rpcforge::testing::FakeTimeProcess;
using namespace std::chrono_literals;

namespace {

// A migrated database in its own directory, with one user and API key.
class AppDatabase {
 public:
  AppDatabase() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "rpcforge_e2e_XXXXXX").string();
    dir_ = mkdtemp(tmpl.data());
    path_ = (dir_ / "app.sqlite3").string();
    FakeTimeProcess migrate({ECHO_APP_BIN, "--database", path_, "--log-level", "warn", "migrate"});
    migrate.Start();
    auto status = migrate.Wait(60s);
    EXPECT_TRUE(status && status->success());
    auto db = rpcforge::db::Database::Open(path_);
    auto user = rpcforge::auth::CreateUser(*db, {"load", ""});
    key_ =
        rpcforge::auth::CreateApiKey(*db, user, "load", std::nullopt, rpcforge::Clock::Real()).key;
  }
  ~AppDatabase() { std::filesystem::remove_all(dir_); }

  const std::string& path() const { return path_; }
  const std::string& key() const { return key_; }

  // Counts of what the killed server left in its database.
  int64_t OkEchoRows() const {
    auto db = rpcforge::db::Database::Open(path_);
    return db
        ->Query("SELECT COUNT(*) FROM rpcforge_requestlog WHERE method = 'Echo' AND code = 'OK'")[0]
        .at(0)
        .AsInt();
  }
  int64_t KeyCount() const {
    auto db = rpcforge::db::Database::Open(path_);
    return db->Query("SELECT request_count FROM rpcforge_apikey")[0].at(0).AsInt();
  }

 private:
  std::filesystem::path dir_;
  std::string path_;
  std::string key_;
};

std::unique_ptr<FakeTimeProcess> Serve(const AppDatabase& db,
                                       std::map<std::string, std::string> env = {}) {
  FakeTimeProcess::Options options;
  options.argv = {ECHO_APP_BIN, "--database", db.path(),   "--log-level",
                  "warn",       "serve",      "--address", "127.0.0.1:0"};
  options.env = std::move(env);
  auto server = std::make_unique<FakeTimeProcess>(options);
  server->Start();
  return server;
}

grpc::Status Echo(EchoService::Stub& stub, const std::string& key, const EchoRequest& request,
                  std::chrono::milliseconds timeout = 5000ms) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + timeout);
  ctx.AddMetadata("x-api-key", key);
  EchoResponse response;
  return stub.Echo(&ctx, request, &response);
}

}  // namespace

TEST(Durability, KillNineUnderLoadLosesNoAnsweredCall) {
  AppDatabase db;
  auto server = Serve(db);
  auto match = server->WaitForMatch(kListening, 30s);
  ASSERT_TRUE(match) << Joined(server->output());
  auto channel = grpc::CreateChannel((*match)[1], grpc::InsecureChannelCredentials());

  constexpr int kClients = 16;
  std::atomic<int64_t> answered{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&] {
      auto stub = EchoService::NewStub(channel);
      EchoRequest request;
      request.set_message("load");
      // Bounded: at most 20,000 calls per client, and the test stops them.
      for (int i = 0; i < 20000 && !stop; ++i) {
        if (Echo(*stub, db.key(), request).ok()) {
          ++answered;
        } else if (stop) {
          break;
        }
      }
    });
  }
  // Let the load run, then kill the server in the middle of it.
  for (int i = 0; i < 200 && answered < 3000; ++i) std::this_thread::sleep_for(10ms);
  const ExitStatus exit = server->Terminate(SIGKILL, 10s);
  stop = true;
  for (auto& t : clients) t.join();
  EXPECT_FALSE(exit.exited) << exit.ToString();
  ASSERT_GT(answered.load(), 100);

  // The rows of the last batches are in the killed server's journal: the next
  // process that opens the database (here `logs tail`) puts them in.
  FakeTimeProcess reader(
      {ECHO_APP_BIN, "--database", db.path(), "--log-level", "warn", "logs", "tail", "-n", "1"});
  reader.Start();
  auto read = reader.Wait(60s);
  ASSERT_TRUE(read && read->success());

  // Every answered call has its row and its count; at most the calls in flight at
  // the kill (one per client) may have been written without being answered.
  const int64_t rows = db.OkEchoRows();
  const int64_t count = db.KeyCount();
  EXPECT_GE(rows, answered.load());
  EXPECT_LE(rows, answered.load() + kClients);
  EXPECT_GE(count, answered.load());
  EXPECT_LE(count, answered.load() + kClients);
}

TEST(Durability, SigtermWithAStuckHandlerExitsWithinTheGracePeriodPlusOneSecond) {
  for (const char* mode : {"durable", "write_behind"}) {
    SCOPED_TRACE(mode);
    AppDatabase db;
    auto server = Serve(
        db, {{"RPCFORGE_SERVER_SHUTDOWN_GRACE_PERIOD", "1s"}, {"RPCFORGE_REQUEST_LOG_MODE", mode}});
    auto match = server->WaitForMatch(kListening, 30s);
    ASSERT_TRUE(match) << Joined(server->output());
    auto channel = grpc::CreateChannel((*match)[1], grpc::InsecureChannelCredentials());
    auto stub = EchoService::NewStub(channel);
    EchoRequest quick;
    quick.set_message("quick");
    constexpr int kAnswered = 20;
    for (int i = 0; i < kAnswered; ++i) ASSERT_TRUE(Echo(*stub, db.key(), quick).ok());

    // A handler that sleeps 30 s without looking at its cancellation.
    std::thread stuck([&] {
      EchoRequest request;
      request.set_fail("ignore_cancel");
      request.set_sleep_ms(30000);
      const grpc::Status status = Echo(*stub, db.key(), request, 60000ms);
      EXPECT_FALSE(status.ok());
    });
    std::this_thread::sleep_for(300ms);  // let it reach the handler
    const auto signalled = std::chrono::steady_clock::now();
    kill(server->pid(), SIGTERM);
    auto status = server->Wait(10s);
    const auto took = std::chrono::steady_clock::now() - signalled;
    stuck.join();
    ASSERT_TRUE(status) << "still running 10 s after SIGTERM";
    EXPECT_TRUE(status->success()) << status->ToString();
    // The promise is grace + 1 s; a little more for signal delivery and reaping.
    EXPECT_LT(took, 2300ms) << std::chrono::duration_cast<std::chrono::milliseconds>(took).count();
    EXPECT_EQ(db.OkEchoRows(), kAnswered);
    // The stuck call used the key too: counted when it was authenticated.
    EXPECT_EQ(db.KeyCount(), kAnswered + 1);
  }
}
