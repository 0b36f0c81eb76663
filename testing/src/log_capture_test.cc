// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/testing/log_capture.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

namespace rlog = rpcforge::log;
using rpcforge::testing::LogCapture;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

namespace {

// Restores the global log level after each test.
class LogCaptureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    saved_ = rlog::GetLevel();
    rlog::SetLevel(rlog::Level::kInfo);
  }
  void TearDown() override { rlog::SetLevel(saved_); }

 private:
  rlog::Level saved_ = rlog::Level::kInfo;
};

}  // namespace

TEST_F(LogCaptureTest, CapturesLinesWhileAlive) {
  rlog::Write(rlog::Level::kInfo, "before");
  {
    LogCapture logs;
    rlog::Write(rlog::Level::kInfo, "request finished", "server");
    rlog::Write(rlog::Level::kWarn, "slow query", "db");
    rlog::Write(rlog::Level::kDebug, "not at this level", "db");
    EXPECT_THAT(logs.lines(),
                ElementsAre("info [server] request finished", "warn [db] slow query"));
    EXPECT_THAT(logs.messages(), ElementsAre("request finished", "slow query"));
    EXPECT_TRUE(logs.Contains("slow"));
    EXPECT_TRUE(logs.Contains("[server]"));
    EXPECT_FALSE(logs.Contains("before"));
    ASSERT_EQ(logs.records().size(), 2u);
    EXPECT_EQ(logs.records()[1].level, rlog::Level::kWarn);
    EXPECT_EQ(logs.records()[1].component, "db");
  }
  LogCapture later;
  rlog::Write(rlog::Level::kInfo, "after");
  EXPECT_THAT(later.messages(), ElementsAre("after"));
}

TEST_F(LogCaptureTest, MinLevelFiltersAndLowersGlobalLevel) {
  {
    LogCapture debug(rlog::Level::kDebug);
    EXPECT_EQ(rlog::GetLevel(), rlog::Level::kDebug);
    rlog::Write(rlog::Level::kTrace, "trace");
    rlog::Write(rlog::Level::kDebug, "debug");
    EXPECT_THAT(debug.messages(), ElementsAre("debug"));
  }
  EXPECT_EQ(rlog::GetLevel(), rlog::Level::kInfo);
  LogCapture warn(rlog::Level::kWarn);
  EXPECT_EQ(rlog::GetLevel(), rlog::Level::kInfo);  // not raised
  rlog::Write(rlog::Level::kInfo, "info");
  rlog::Write(rlog::Level::kError, "error");
  EXPECT_THAT(warn.messages(), ElementsAre("error"));
}

TEST_F(LogCaptureTest, Clear) {
  LogCapture logs;
  rlog::Write(rlog::Level::kInfo, "one");
  logs.Clear();
  rlog::Write(rlog::Level::kInfo, "two");
  EXPECT_THAT(logs.messages(), ElementsAre("two"));
}

TEST_F(LogCaptureTest, CapturesOtherThreadsAndWaitFor) {
  LogCapture logs;
  std::thread writer([] {
    for (int i = 0; i < 10; ++i) rlog::Write(rlog::Level::kInfo, "tick " + std::to_string(i));
    rlog::Write(rlog::Level::kInfo, "done", "worker");
  });
  auto line = logs.WaitFor("done", std::chrono::seconds(10));
  writer.join();
  ASSERT_TRUE(line.has_value());
  EXPECT_EQ(*line, "info [worker] done");
  EXPECT_EQ(logs.lines().size(), 11u);
  EXPECT_FALSE(logs.WaitFor("never logged", std::chrono::milliseconds(20)).has_value());
}

TEST_F(LogCaptureTest, TwoCapturesBothSeeLines) {
  LogCapture a;
  LogCapture b;
  rlog::Write(rlog::Level::kError, "boom");
  EXPECT_TRUE(a.Contains("boom"));
  EXPECT_TRUE(b.Contains("boom"));
  EXPECT_THAT(a.lines(), ::testing::Contains(HasSubstr("boom")));
}
