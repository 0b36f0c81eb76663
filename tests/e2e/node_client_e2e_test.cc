// SPDX-License-Identifier: Apache-2.0
// The helloworld and blog samples as real processes, called by a client nobody here
// wrote: Node's @grpc/grpc-js, with the .proto files loaded at run time
// (tests/e2e/node_client/client.js). Its npm dependencies come from
// node_client/package-lock.json: the build runs `npm ci` there when node_modules is
// missing, and these tests fail, saying so, when it is still missing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "e2e_util.h"
#include "rpcforge/testing/fake_time_process.h"

using rpcforge::e2e::Joined;
using rpcforge::e2e::kListening;
using rpcforge::testing::FakeTimeProcess;
using ::testing::Contains;
using namespace std::chrono_literals;

namespace {

class NodeClient : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(std::filesystem::path(NODE_BIN).is_absolute())
        << "node was not found when CMake configured (" << NODE_BIN
        << "): install Node.js (ci/setup installs Debian's nodejs and npm), then reconfigure";
    ASSERT_TRUE(
        std::filesystem::is_directory(std::filesystem::path(NODE_CLIENT_DIR) / "node_modules"))
        << NODE_CLIENT_DIR << "/node_modules is missing: run `npm ci` in " << NODE_CLIENT_DIR
        << " (the build tries it; it needs the npm registry)";
  }

  // StartServer starts `argv` and returns the address it prints as "listening on".
  std::string StartServer(std::vector<std::string> argv) {
    server_ = std::make_unique<FakeTimeProcess>(std::move(argv));
    server_->Start();
    auto match = server_->WaitForMatch(kListening, 30s);
    if (!match) {
      ADD_FAILURE() << "the server did not say where it listens:\n" << Joined(server_->output());
      return "";
    }
    return (*match)[1];
  }

  // RunClient runs client.js with `args` and returns its stdout and stderr lines,
  // failing the test when it does not exit with 0.
  std::vector<std::string> RunClient(std::vector<std::string> args) {
    FakeTimeProcess::Options options;
    options.argv = {NODE_BIN, std::string(NODE_CLIENT_DIR) + "/client.js"};
    options.argv.insert(options.argv.end(), args.begin(), args.end());
    options.capture_stderr = true;
    FakeTimeProcess client(options);
    client.Start();
    auto status = client.Wait(60s);
    const auto lines = client.output();
    if (!status) {
      ADD_FAILURE() << "the node client did not finish in 60 s:\n" << Joined(lines);
    } else {
      EXPECT_TRUE(status->success()) << "node client " << status->ToString() << ":\n"
                                     << Joined(lines);
    }
    return lines;
  }

  void TearDown() override {
    if (server_) {
      EXPECT_TRUE(server_->running()) << "the server died:\n" << Joined(server_->output());
      auto exit = server_->Terminate(SIGTERM, 20s);
      EXPECT_TRUE(exit.success()) << exit.ToString();
    }
    if (!dir_.empty()) std::filesystem::remove_all(dir_);  // after the server stopped
  }

  // TempDir creates a directory that TearDown removes.
  std::filesystem::path TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "rpcforge_node_XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) ADD_FAILURE() << "mkdtemp " << tmpl << " failed";
    dir_ = tmpl;
    return dir_;
  }

  std::unique_ptr<FakeTimeProcess> server_;
  std::filesystem::path dir_;
};

}  // namespace

TEST_F(NodeClient, CallsEveryKindOfHelloworldMethod) {
  const rpcforge::e2e::MigratedDatabase db(HELLOWORLD_BIN, "node.sqlite3");
  ASSERT_FALSE(db.empty());
  const std::string address =
      StartServer({HELLOWORLD_BIN, "--database", db, "serve", "--address", "127.0.0.1:0"});
  ASSERT_FALSE(address.empty());
  const auto lines = RunClient({address});
  EXPECT_THAT(lines, Contains("reply: Hello, Ada!"));
  EXPECT_THAT(lines, Contains("trailer: Ada"));
  EXPECT_THAT(lines, Contains("john: INVALID_ARGUMENT Cannot say hello to John"));
  EXPECT_THAT(lines, Contains("blank: INVALID_ARGUMENT name This field may not be blank."));
  EXPECT_THAT(lines, Contains("stream: 3 Hello, Bo! (3)"));
  EXPECT_THAT(lines, Contains("client stream: Hello, Ada, Bo and Cy!"));
  EXPECT_THAT(lines, Contains("bidi: 2 Hello, Ada! | Hello, Bo!"));
  EXPECT_THAT(lines, Contains("deadline: DEADLINE_EXCEEDED"));
}

TEST_F(NodeClient, CreatesListsAndUpdatesBlogPostsAndSendsMalformedBytes) {
  const std::string db = (TempDir() / "blog.sqlite3").string();
  FakeTimeProcess::Options migrate_options;
  migrate_options.argv = {BLOG_BIN, "--database", db, "--log-level", "error", "migrate"};
  migrate_options.capture_stderr = true;
  FakeTimeProcess migrate(migrate_options);
  migrate.Start();
  auto migrated = migrate.Wait(60s);
  ASSERT_TRUE(migrated && migrated->success()) << Joined(migrate.output());

  const std::string address = StartServer(
      {BLOG_BIN, "--database", db, "--log-level", "error", "serve", "--address", "127.0.0.1:0"});
  ASSERT_FALSE(address.empty());
  const auto lines = RunClient({"--blog", address});
  EXPECT_THAT(lines, Contains("create: Hello World"));
  EXPECT_THAT(lines, Contains("retrieve: Hello World"));
  EXPECT_THAT(lines, Contains("missing: NOT_FOUND Post: 999 not found"));
  EXPECT_THAT(lines, Contains("list: 2 Hello,Second"));
  EXPECT_THAT(lines, Contains("list filter: 1 Second"));
  EXPECT_THAT(lines, Contains("partial: Hi World"));
  EXPECT_THAT(lines, Contains(::testing::StartsWith(
                         "malformed: INVALID_ARGUMENT The request is not a valid blog.v1.Post")));
}
