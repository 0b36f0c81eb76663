// SPDX-License-Identifier: Apache-2.0
// helloworld as a real process: serve on a kernel-chosen port, a Python grpcio
// client, graceful SIGTERM, bind and config errors, and `serve --dev` reloading.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <regex>
#include <string>

#include "e2e_util.h"
#include "rpcforge/client/dynamic_client.h"
#include "rpcforge/testing/fake_time_process.h"

using rpcforge::e2e::Joined;
using rpcforge::e2e::kListening;
using rpcforge::e2e::MigratedDatabase;
using rpcforge::e2e::RunOnce;
using rpcforge::testing::FakeTimeProcess;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

namespace {

std::string TempFile(const std::string& name, const std::string& content) {
  std::string dir = ::testing::TempDir();
  std::string path = dir + "/rpcforge_e2e_" + std::to_string(getpid()) + "_" + name;
  std::ofstream(path) << content;
  return path;
}

TEST(HelloworldProcess, ServesAPythonClientAndStopsGracefully) {
  const MigratedDatabase db(HELLOWORLD_BIN, "python.sqlite3");
  ASSERT_FALSE(db.empty());
  FakeTimeProcess server({HELLOWORLD_BIN, "--database", db, "serve", "--address", "127.0.0.1:0"});
  server.Start();
  auto match = server.WaitForMatch(kListening, 20s);
  ASSERT_TRUE(match) << Joined(server.output());
  const std::string address = (*match)[1];

  FakeTimeProcess::Options client_options;
  client_options.argv = {SYSTEM_PYTHON, PYTHON_CLIENT, PYTHON_GEN_DIR, address};
  client_options.capture_stderr = true;
  FakeTimeProcess client(client_options);
  client.Start();
  auto status = client.Wait(60s);
  ASSERT_TRUE(status) << "python client did not finish";
  const auto lines = client.output();
  EXPECT_TRUE(status->success()) << status->ToString() << "\n" << Joined(lines);
  EXPECT_THAT(lines, Contains("reply: Hello, Ada!"));
  EXPECT_THAT(lines, Contains("trailer: Ada"));
  EXPECT_THAT(lines, Contains("john: INVALID_ARGUMENT Cannot say hello to John"));
  EXPECT_THAT(lines, Contains("blank: INVALID_ARGUMENT name This field may not be blank."));
  EXPECT_THAT(lines, Contains("stream: 3 Hello, Bo! (3)"));

  auto exit = server.Terminate(SIGTERM, 20s);
  EXPECT_TRUE(exit.success()) << exit.ToString();
}

// What an operator sees at start: one "listening on" line (stdout, for scripts), the
// server's one "started" log line, nothing else about listening.
TEST(HelloworldProcess, StartingSaysListeningOnce) {
  FakeTimeProcess::Options options;
  const MigratedDatabase db(HELLOWORLD_BIN, "once.sqlite3");
  ASSERT_FALSE(db.empty());
  options.argv = {HELLOWORLD_BIN, "--database", db, "serve", "--address", "127.0.0.1:0"};
  options.capture_stderr = true;
  FakeTimeProcess server(options);
  server.Start();
  ASSERT_TRUE(server.WaitForMatch(kListening, 20s)) << Joined(server.output());
  ASSERT_TRUE(server.Terminate(SIGTERM, 20s).success());
  int listening = 0, started = 0;
  for (const std::string& line : server.output()) {
    if (line.find("listening") != std::string::npos) ++listening;
    if (line.find("started: 1 service(s) on 127.0.0.1:") != std::string::npos) ++started;
  }
  EXPECT_EQ(listening, 1) << Joined(server.output());
  EXPECT_EQ(started, 1) << Joined(server.output());
}

TEST(HelloworldProcess, ASecondServerOnTheSamePortSaysWhy) {
  const MigratedDatabase db(HELLOWORLD_BIN, "busy.sqlite3");
  ASSERT_FALSE(db.empty());
  FakeTimeProcess first({HELLOWORLD_BIN, "--database", db, "serve", "--address", "127.0.0.1:0"});
  first.Start();
  auto match = first.WaitForMatch(kListening, 20s);
  ASSERT_TRUE(match);
  FakeTimeProcess::Options options;
  options.argv = {HELLOWORLD_BIN, "--database", db, "serve", "--address", (*match)[1]};
  options.capture_stderr = true;
  FakeTimeProcess second(options);
  second.Start();
  auto status = second.Wait(20s);
  ASSERT_TRUE(status);
  EXPECT_FALSE(status->success());
  const std::string out = Joined(second.output());
  EXPECT_THAT(out, HasSubstr("address already in use"));
  // Only the framework's explanation: no raw gRPC core dump before it.
  EXPECT_THAT(out, Not(HasSubstr("chttp2")));
  EXPECT_THAT(out, Not(HasSubstr("UNKNOWN:")));
  EXPECT_TRUE(first.Terminate(SIGTERM, 20s).success());
}

TEST(HelloworldProcess, ConfigErrorsNameTheKeyAndLineAndExit2) {
  const std::string config = TempFile("bad.yaml", "server:\n  adress: \"x\"\n");
  FakeTimeProcess::Options options;
  options.argv = {HELLOWORLD_BIN, "--config", config, "serve"};
  options.capture_stderr = true;
  FakeTimeProcess proc(options);
  proc.Start();
  auto status = proc.Wait(20s);
  ASSERT_TRUE(status);
  EXPECT_TRUE(status->exited);
  EXPECT_EQ(status->code, 2);
  EXPECT_THAT(Joined(proc.output()), HasSubstr(config + ":2:3: server.adress"));
  std::remove(config.c_str());
}

TEST(HelloworldProcess, DevModeRestartsWhenTheConfigChanges) {
  const std::string config =
      TempFile("dev.yaml", "server:\n  address: \"127.0.0.1:0\"\nlogging:\n  level: info\n");
  const MigratedDatabase db(HELLOWORLD_BIN, "dev.sqlite3");
  ASSERT_FALSE(db.empty());
  FakeTimeProcess server({HELLOWORLD_BIN, "--config", config, "--database", db, "serve", "--dev"});
  server.Start();
  ASSERT_TRUE(server.WaitForMatch(kListening, 20s)) << Joined(server.output());
  // Rewrite the config (a different size, so the change is seen whatever the mtime
  // granularity), and expect a second server to come up.
  std::ofstream(config) << "server:\n  address: \"127.0.0.1:0\"\nlogging:\n  level: warn\n";
  auto second = server.WaitForLine(kListening, 20s);  // the first one was consumed
  ASSERT_TRUE(second) << Joined(server.output());
  auto exit = server.Terminate(SIGTERM, 30s);
  EXPECT_TRUE(exit.success()) << exit.ToString();
  std::remove(config.c_str());
}

// FakeTimeProcess moves a running server's clock: an API key expires for it, while
// gRPC deadlines (monotonic time, never faked) keep working.
TEST(HelloworldProcess, AKeyExpiresWhenTheServersClockJumpsAndDeadlinesStillWork) {
  const MigratedDatabase db(HELLOWORLD_BIN, "expiry.sqlite3");
  ASSERT_FALSE(db.empty());
  const std::string config = TempFile("expiry.yaml", "auth:\n  require_auth: true\n");
  const std::vector<std::string> base = {HELLOWORLD_BIN, "--config", config, "--database", db};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> argv = base;
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  };
  RunOnce(with({"users", "create", "ada"}));
  const std::string created =
      RunOnce(with({"keys", "create", "--name", "e2e", "--user", "ada", "--expires-in", "1h"}));
  std::smatch m;
  ASSERT_TRUE(std::regex_search(created, m, std::regex("\\b([0-9a-f]{64})\\b"))) << created;
  const std::string key = m[1];

  FakeTimeProcess server(with({"serve", "--address", "127.0.0.1:0"}));
  server.Start();
  auto listening = server.WaitForMatch(kListening, 20s);
  ASSERT_TRUE(listening);
  auto client = rpcforge::DynamicClient::Connect((*listening)[1]);
  auto say_hello = [&] {
    return client->Call("helloworld.v1.Greeter/SayHello", R"({"name": "Ada"})",
                        {{"x-api-key", key}}, std::chrono::milliseconds(5000));
  };
  auto before = say_hello();
  EXPECT_EQ(before.code, grpc::StatusCode::OK) << before.ErrorText();

  server.SetOffset(std::chrono::hours(2));  // the key expired an hour ago, for the server
  auto after = say_hello();
  EXPECT_EQ(after.code, grpc::StatusCode::UNAUTHENTICATED) << after.ErrorText();
  EXPECT_EQ(after.message, "Invalid or expired API key");
  // Those calls had 5 s deadlines, set after a 2 h jump of wall time, and none was
  // DEADLINE_EXCEEDED: deadlines run on the monotonic clock, which is never faked.
  auto anonymous = client->Call("helloworld.v1.Greeter/SayHello", R"({"name": "Bo"})", {},
                                std::chrono::milliseconds(5000));
  EXPECT_EQ(anonymous.code, grpc::StatusCode::UNAUTHENTICATED) << anonymous.ErrorText();

  server.SetOffset(std::chrono::seconds(0));  // back in time: the key works again
  EXPECT_EQ(say_hello().code, grpc::StatusCode::OK);
  client.reset();  // its reflection stream is an open call the server would drain
  EXPECT_TRUE(server.Terminate(SIGTERM, 20s).success());
  std::remove(config.c_str());
}

}  // namespace
