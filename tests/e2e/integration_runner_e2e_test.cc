// SPDX-License-Identifier: Apache-2.0
// `app integration-test` as CI runs it: passes on a healthy build, and fails with the
// right step named against deliberately broken configurations.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "rpcforge/testing/fake_time_process.h"

using rpcforge::testing::FakeTimeProcess;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

namespace {

struct RunResult {
  int code = -1;
  std::string output;
};

RunResult Integration(const std::string& config_text, std::vector<std::string> extra = {}) {
  std::string config = ::testing::TempDir() + "/rpcforge_it_" + std::to_string(getpid()) + "_" +
                       ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".yaml";
  std::ofstream(config) << config_text;
  FakeTimeProcess::Options options;
  options.argv = {HELLOWORLD_BIN, "--config",         config,       "--log-level",
                  "error",        "integration-test", "--examples", HELLOWORLD_EXAMPLES};
  options.argv.insert(options.argv.end(), extra.begin(), extra.end());
  options.capture_stderr = true;
  FakeTimeProcess proc(options);
  proc.Start();
  RunResult run;
  auto status = proc.Wait(120s);
  for (const auto& line : proc.output()) run.output += line + "\n";
  if (status && status->exited) run.code = status->code;
  std::remove(config.c_str());
  return run;
}

TEST(IntegrationRunner, PassesOnTheHelloworldSampleWithAuthRequired) {
  std::ifstream in(HELLOWORLD_INTEGRATION_CONFIG);
  std::string config((std::istreambuf_iterator<char>(in)), {});
  std::string junit =
      ::testing::TempDir() + "/rpcforge_it_junit_" + std::to_string(getpid()) + ".xml";
  RunResult run = Integration(config, {"--junit", junit});
  EXPECT_EQ(run.code, 0) << run.output;
  for (const char* step : {"descriptors", "server", "keys", "clients", "logs", "cleanup"}) {
    EXPECT_THAT(run.output, HasSubstr(std::string("\xE2\x9C\x93 ") + step + ":")) << run.output;
  }
  EXPECT_THAT(run.output, HasSubstr("6/6 steps passed"));
  std::ifstream xml(junit);
  std::string text((std::istreambuf_iterator<char>(xml)), {});
  EXPECT_THAT(text, HasSubstr("<testsuite name=\"rpcforge integration: helloworld\" tests=\"6\" "
                              "failures=\"0\""));
  std::remove(junit.c_str());
}

TEST(IntegrationRunner, QuietPrintsOnlyFailuresAndTheTotal) {
  RunResult run = Integration("", {"--quiet"});
  EXPECT_EQ(run.code, 0) << run.output;
  EXPECT_THAT(run.output, Not(HasSubstr("\xE2\x9C\x93")));
  EXPECT_THAT(run.output, HasSubstr("6/6 steps passed"));
}

TEST(IntegrationRunner, FailsAtLogsWhenRequestLoggingIsOff) {
  RunResult run = Integration("request_log:\n  enabled: false\n");
  EXPECT_EQ(run.code, 1) << run.output;
  EXPECT_THAT(run.output, HasSubstr("\xE2\x9C\x97 logs:"));
  EXPECT_THAT(run.output, HasSubstr("request log rows (one per call), found 0"));
  EXPECT_THAT(run.output, HasSubstr("\xE2\x9C\x93 cleanup:"));  // cleanup still ran
}

TEST(IntegrationRunner, FailsAtClientsWhenAuthIsMissingFromTheChain) {
  RunResult run =
      Integration("auth:\n  require_auth: true\nmiddlewares: [signals, request_logging]\n");
  EXPECT_EQ(run.code, 1) << run.output;
  EXPECT_THAT(run.output, HasSubstr("\xE2\x9C\x97 clients:"));
  EXPECT_THAT(run.output, HasSubstr("without a key: expected UNAUTHENTICATED, got OK"));
}

TEST(IntegrationRunner, FailsAtServerWhenItNeverBecomesHealthy) {
  RunResult run = Integration("server:\n  health: false\n", {"--ready-timeout-ms", "1500"});
  EXPECT_EQ(run.code, 1) << run.output;
  EXPECT_THAT(run.output, HasSubstr("\xE2\x9C\x97 server:"));
  EXPECT_THAT(run.output, HasSubstr("health check never said SERVING"));
  EXPECT_THAT(run.output, HasSubstr("\xE2\x9C\x93 cleanup:"));
}

}  // namespace
