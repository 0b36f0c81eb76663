// SPDX-License-Identifier: Apache-2.0
// The command line every application shares: help, check, config errors and flags.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>
#include <vector>

#include "cli/commands.h"
#include "rpcforge/app.h"
#include "rpcforge/testing/command.h"
#include "server/testdata/echo_service.h"

using ::testing::HasSubstr;
using ::testing::Not;

namespace {

using Result = rpcforge::testing::CommandResult;

Result RunCli(rpcforge::App& app, const std::vector<std::string>& args) {
  return rpcforge::testing::RunCommand(app, args);
}

// WriteConfig writes `text` to this process's config file, removed when the process
// exits (each test runs in a process of its own under ctest).
std::string WriteConfig(const std::string& text) {
  struct RemovedAtExit {
    std::string path = ::testing::TempDir() + "/rpcforge_cli_" + std::to_string(getpid()) + ".yaml";
    ~RemovedAtExit() { std::remove(path.c_str()); }
  };
  static const RemovedAtExit file;
  std::ofstream(file.path) << text;
  return file.path;
}

TEST(Cli, HelpListsTheCommands) {
  rpcforge::App app;
  Result r = RunCli(app, {"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("serve"));
  EXPECT_THAT(r.out, HasSubstr("check"));
  EXPECT_THAT(r.out, HasSubstr("--config"));
  EXPECT_THAT(r.out, HasSubstr("--database"));
  EXPECT_THAT(r.out, HasSubstr("--log-level"));
}

TEST(Cli, NoCommandOrAnUnknownOneIsAUsageError) {
  rpcforge::App app;
  EXPECT_EQ(RunCli(app, {}).exit_code, 2);
  Result r = RunCli(app, {"frobnicate"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("frobnicate"));
}

TEST(Cli, CheckListsServicesMethodsKindsAndMiddlewares) {
  rpcforge::App app;
  app.AddService<rpcforge_test::EchoImpl>();
  Result r = RunCli(app, {"check"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("config: ok (defaults)"));
  EXPECT_THAT(r.out, HasSubstr("rpcforge.test.EchoService"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("Echo +unary"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("Expand +server_streaming"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("Collect +client_streaming"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("Chat +bidi_streaming"));
  EXPECT_THAT(r.out, HasSubstr("middlewares: max_concurrency, signals"));
}

TEST(Cli, CheckNamesTheMethodsWithoutAHandler) {
  // EchoImpl overrides every handler but Unimplemented and NestedTypes.
  rpcforge::App app;
  app.AddService<rpcforge_test::EchoImpl>();
  Result r = RunCli(app, {"check"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, ::testing::ContainsRegex(
                         "Unimplemented +unary  \\(no handler: answers UNIMPLEMENTED\\)"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex(
                         "NestedTypes +unary  \\(no handler: answers UNIMPLEMENTED\\)"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("Echo +unary\n"));
  EXPECT_THAT(r.out, HasSubstr("warning: 2 method(s) have no handler and answer UNIMPLEMENTED"));
}

TEST(Cli, CheckRejectsAnUnknownMiddlewareOrService) {
  rpcforge::App app;
  app.AddService<rpcforge_test::EchoImpl>();
  std::string config = WriteConfig("middlewares: [signals, nope]\n");
  Result r = RunCli(app, {"--config", config, "check"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("unknown middleware 'nope'"));
  config = WriteConfig("enabled_services: [pkg.Missing]\n");
  r = RunCli(app, {"--config", config, "check"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("pkg.Missing"));
}

TEST(Cli, ConfigErrorsNameKeyAndLineAndExit2) {
  rpcforge::App app;
  std::string config = WriteConfig("server:\n  max_workers: many\n");
  Result r = RunCli(app, {"--config", config, "check"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr(config + ":2:16: server.max_workers"));
  EXPECT_THAT(r.out, Not(HasSubstr("config: ok")));
}

TEST(Cli, FlagsOverrideTheConfigFile) {
  rpcforge::App app;
  std::string config = WriteConfig("logging:\n  level: loud\n");
  // The flag replaces the file's bad value, so the whole config is valid.
  Result r = RunCli(app, {"--config", config, "--log-level", "warn", "check"});
  EXPECT_EQ(r.exit_code, 2) << "the file itself is still read strictly";
  config = WriteConfig("server:\n  address: \"127.0.0.1:1\"\n");
  r = RunCli(app, {"--config", config, "--log-level", "bogus", "check"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("flag --log-level"));
  r = RunCli(app, {"--config", config, "check"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("address: 127.0.0.1:1"));
}

TEST(Cli, EnvironmentOverridesTheFileAndFlagsOverrideTheEnvironment) {
  rpcforge::App app;
  std::string config = WriteConfig("server:\n  address: \"127.0.0.1:1\"\n");
  setenv("RPCFORGE_SERVER_ADDRESS", "127.0.0.1:2", 1);
  Result r = RunCli(app, {"--config", config, "check"});
  EXPECT_THAT(r.out, HasSubstr("address: 127.0.0.1:2"));
  r = RunCli(app, {"--config", config, "serve", "--address", "x", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  unsetenv("RPCFORGE_SERVER_ADDRESS");
}

}  // namespace

TEST(Cli, CommandHelpIsPrintedOnce) {
  rpcforge::App app;
  Result r = RunCli(app, {"serve", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("--address"));
  EXPECT_THAT(r.out, HasSubstr("--dev"));
  const auto first = r.out.find("--dev");
  EXPECT_EQ(r.out.find("--dev", first + 1), std::string::npos) << r.out;
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define RPCFORGE_OWN_MALLOC 0  // the sanitizer's allocator replaces glibc's
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define RPCFORGE_OWN_MALLOC 0
#endif
#endif
#if !defined(RPCFORGE_OWN_MALLOC) && defined(__GLIBC__)
#define RPCFORGE_OWN_MALLOC 1
#endif

#if defined(RPCFORGE_OWN_MALLOC) && RPCFORGE_OWN_MALLOC
namespace {
// The arenas glibc's malloc has, from malloc_info(3): one <heap nr="N"> per arena.
int MallocArenas() {
  char* text = nullptr;
  size_t size = 0;
  FILE* f = open_memstream(&text, &size);
  malloc_info(0, f);
  fclose(f);
  int n = 0;
  for (const char* at = text; (at = strstr(at, "<heap nr=")) != nullptr; ++at) ++n;
  free(text);
  return n;
}
}  // namespace

// New threads would each take an arena of their own (up to 8 per core); after
// LimitMallocArenas they share two.
TEST(Cli, ServeLimitsMallocToTwoArenas) {
  unsetenv("MALLOC_ARENA_MAX");
  const int before = MallocArenas();
  ASSERT_EQ(rpcforge::cli_internal::LimitMallocArenas(), 2);
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([] {
      std::vector<std::unique_ptr<char[]>> blocks;
      for (int j = 0; j < 64; ++j) blocks.emplace_back(new char[4096 + j]);
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_LE(MallocArenas(), std::max(before, 2));
}

TEST(Cli, MallocArenaMaxInTheEnvironmentIsLeftToGlibc) {
  setenv("MALLOC_ARENA_MAX", "4", 1);
  EXPECT_EQ(rpcforge::cli_internal::LimitMallocArenas(), 0);
  unsetenv("MALLOC_ARENA_MAX");
}
#endif
