// SPDX-License-Identifier: Apache-2.0
// What a real server process keeps when it is killed: kill -9 under load loses no
// request-log row and no API-key count of an answered call (durable mode, the
// default: journaled before the answer, replayed by the next process; on SQLite beside the
// file, on PostgreSQL in database.journal_dir), and SIGTERM with a handler
// that ignores cancellation still exits within the grace period plus one second with the rows of
// every answered call written.
#include <gmock/gmock.h>
#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
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

// A migrated database with one user and API key: a SQLite file in a directory of its
// own, or (backend "postgres") a database of its own on the RPCFORGE_TEST_POSTGRES
// server, whose journals go to a directory named by database.journal_dir (what a
// PostgreSQL deployment sets for durable calls that do not wait for their commit).
class AppDatabase {
 public:
  explicit AppDatabase(const std::string& backend = "sqlite") {
    std::string tmpl = (std::filesystem::temp_directory_path() / "rpcforge_e2e_XXXXXX").string();
    dir_ = mkdtemp(tmpl.data());
    if (backend == "postgres") {
      const char* base = std::getenv("RPCFORGE_TEST_POSTGRES");
      if (base == nullptr || *base == '\0') return;
      name_ = "rpcforge_durability_" + std::to_string(::getpid());
      admin_ = rpcforge::db::Database::Open(base);
      admin_->Execute("DROP DATABASE IF EXISTS \"" + name_ + "\" WITH (FORCE)");
      admin_->Execute("CREATE DATABASE \"" + name_ + "\"");
      path_ = rpcforge::db::WithPostgresDatabase(base, name_);
      env_["RPCFORGE_DATABASE_JOURNAL_DIR"] = (dir_ / "journals").string();
    } else {
      path_ = (dir_ / "app.sqlite3").string();
    }
    rpcforge::e2e::RunOnce({ECHO_APP_BIN, "--database", path_, "--log-level", "warn", "migrate"},
                           env_);
    auto db = rpcforge::db::Database::Open(path_);
    auto user = rpcforge::auth::CreateUser(*db, {"load", ""});
    key_ =
        rpcforge::auth::CreateApiKey(*db, user, "load", std::nullopt, rpcforge::Clock::Real()).key;
  }
  ~AppDatabase() {
    if (admin_ != nullptr) {
      try {
        admin_->Execute("DROP DATABASE IF EXISTS \"" + name_ + "\" WITH (FORCE)");
      } catch (const std::exception&) {
      }
    }
    std::filesystem::remove_all(dir_);
  }

  bool available() const { return !path_.empty(); }
  const std::string& path() const { return path_; }
  const std::string& key() const { return key_; }
  // env is what every process of this database gets (the journal directory).
  const std::map<std::string, std::string>& env() const { return env_; }
  // JournalFiles counts the files in the journal directory (SQLite: beside the file).
  size_t JournalFiles() const {
    const auto it = env_.find("RPCFORGE_DATABASE_JOURNAL_DIR");
    const std::filesystem::path d =
        std::filesystem::path(it != env_.end() ? it->second : path_ + "-rpcforge-journal");
    std::error_code ec;
    size_t n = 0;
    for (auto e = std::filesystem::directory_iterator(d, ec);
         !ec && e != std::filesystem::directory_iterator(); ++e) {
      ++n;
    }
    return n;
  }

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
  std::map<std::string, std::string> env_;
  std::unique_ptr<rpcforge::db::Database> admin_;  // PostgreSQL: creates and drops it
  std::string name_;
};

std::unique_ptr<FakeTimeProcess> Serve(const AppDatabase& db,
                                       std::map<std::string, std::string> env = {}) {
  FakeTimeProcess::Options options;
  options.argv = {ECHO_APP_BIN, "--database", db.path(),   "--log-level",
                  "warn",       "serve",      "--address", "127.0.0.1:0"};
  options.env = std::move(env);
  for (const auto& [k, v] : db.env()) options.env[k] = v;
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

class DurabilityOn : public ::testing::TestWithParam<std::string> {};

TEST_P(DurabilityOn, KillNineUnderLoadLosesNoAnsweredCall) {
  AppDatabase db(GetParam());
  if (!db.available()) GTEST_SKIP() << "RPCFORGE_TEST_POSTGRES is unset";
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

  // The rows of the last batches are in the killed server's journal (on PostgreSQL
  // too: database.journal_dir), and nowhere else yet: the next
  // process that opens the database (here `logs tail`) puts them in.
  FakeTimeProcess::Options tail;
  tail.argv = {ECHO_APP_BIN, "--database", db.path(), "--log-level", "warn", "logs",
               "tail",       "-n",         "1"};
  tail.env = db.env();
  EXPECT_EQ(db.JournalFiles(), 1u);
  FakeTimeProcess reader(tail);
  reader.Start();
  auto read = reader.Wait(60s);
  ASSERT_TRUE(read && read->success());
  EXPECT_EQ(db.JournalFiles(), 0u);  // replayed, then removed

  // Every answered call has its row and its count; at most the calls in flight at
  // the kill (one per client) may have been written without being answered.
  const int64_t rows = db.OkEchoRows();
  const int64_t count = db.KeyCount();
  EXPECT_GE(rows, answered.load());
  EXPECT_LE(rows, answered.load() + kClients);
  EXPECT_GE(count, answered.load());
  EXPECT_LE(count, answered.load() + kClients);
}

INSTANTIATE_TEST_SUITE_P(Backends, DurabilityOn, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

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
