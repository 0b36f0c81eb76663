// SPDX-License-Identifier: Apache-2.0
// FakeTimeProcess against testdata/print_time.cc: the child sees the offset, sees it
// move while it runs, and its monotonic clock is not faked.
#include "rpcforge/testing/fake_time_process.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <regex>
#include <string>

using rpcforge::testing::ExitStatus;
using rpcforge::testing::FakeTimeProcess;
using std::chrono::hours;
using std::chrono::seconds;

namespace {

constexpr auto kTimeout = std::chrono::seconds(10);

struct Reading {
  long long wall = 0;    // time(nullptr)
  long long chrono = 0;  // system_clock, seconds
  long long steady_ns = 0;
};

// Asks the child for its clocks and parses the answer.
Reading Ask(FakeTimeProcess& p) {
  p.WriteStdin("time\n");
  auto groups =
      p.WaitForMatch(std::regex("^wall=(-?\\d+) chrono=(-?\\d+) steady_ns=(\\d+)$"), kTimeout);
  if (!groups) {
    ADD_FAILURE() << "no time line from the child";
    return {};
  }
  return {std::stoll((*groups)[1]), std::stoll((*groups)[2]), std::stoll((*groups)[3])};
}

// The real time in whole seconds, read from the precise CLOCK_REALTIME. Not time():
// glibc serves time() from the coarse clock, which lags the precise one by up to a
// tick, so near a second boundary it read one second behind the child (whose time()
// libfaketime computes from the precise clock) and the upper bounds below failed.
long long RealNow() {
  return std::chrono::duration_cast<seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

long long SteadyNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

TEST(FakeTimeProcessTest, FindsLibfaketime) {
  std::string lib = FakeTimeProcess::FindLibfaketime();
  EXPECT_THAT(lib, ::testing::HasSubstr("libfaketime.so.1"));
  EXPECT_TRUE(FileExists(lib));
}

TEST(FakeTimeProcessTest, ChildSeesInitialOffset) {
  FakeTimeProcess p({RPCFORGE_TESTING_PRINT_TIME});
  p.SetOffset(hours(24));
  EXPECT_EQ(p.timestamp_spec(), "+86400s");
  p.Start();
  ASSERT_TRUE(p.WaitForLine(std::regex("^ready pid="), kTimeout));
  long long before = RealNow();
  Reading r = Ask(p);
  long long after = RealNow();
  EXPECT_GE(r.wall, before + 86400);
  EXPECT_LE(r.wall, after + 86400);
  EXPECT_GE(r.chrono, before + 86400);
  EXPECT_LE(r.chrono, after + 86400);
}

TEST(FakeTimeProcessTest, MovingTheFileWhileRunningChangesWhatTheChildSees) {
  FakeTimeProcess p({RPCFORGE_TESTING_PRINT_TIME});
  p.Start();
  ASSERT_TRUE(p.ReadLine(kTimeout));
  long long before = RealNow();
  Reading r0 = Ask(p);
  EXPECT_GE(r0.wall, before);
  EXPECT_LE(r0.wall, RealNow());

  p.AdvanceBy(hours(1));
  before = RealNow();
  Reading r1 = Ask(p);
  EXPECT_GE(r1.wall, before + 3600);
  EXPECT_LE(r1.wall, RealNow() + 3600);

  p.AdvanceBy(hours(1));
  EXPECT_EQ(p.offset(), hours(2));
  EXPECT_EQ(p.timestamp_spec(), "+7200s");
  before = RealNow();
  Reading r2 = Ask(p);
  EXPECT_GE(r2.wall, before + 7200);
  EXPECT_LE(r2.wall, RealNow() + 7200);

  p.SetOffset(seconds(-86400));
  EXPECT_EQ(p.timestamp_spec(), "-86400s");
  before = RealNow();
  Reading r3 = Ask(p);
  EXPECT_GE(r3.chrono, before - 86400);
  EXPECT_LE(r3.chrono, RealNow() - 86400);
}

TEST(FakeTimeProcessTest, MonotonicClockIsNotFaked) {
  FakeTimeProcess p({RPCFORGE_TESTING_PRINT_TIME});
  p.SetOffset(hours(24 * 365));
  p.Start();
  ASSERT_TRUE(p.ReadLine(kTimeout));
  long long before = SteadyNs();
  Reading r = Ask(p);
  long long after = SteadyNs();
  // CLOCK_MONOTONIC is system-wide: the child's reading lies between ours.
  EXPECT_GE(r.steady_ns, before);
  EXPECT_LE(r.steady_ns, after);
  EXPECT_GE(r.wall, RealNow() + 365LL * 86400 - 5);
}

TEST(FakeTimeProcessTest, StartAtAbsoluteTime) {
  FakeTimeProcess p({RPCFORGE_TESTING_PRINT_TIME});
  std::chrono::system_clock::time_point t(seconds(1893456000));  // 2030-01-01T00:00:00Z
  p.SetStartAt(t);
  EXPECT_EQ(p.timestamp_spec(), "@2030-01-01 00:00:00");
  p.Start();
  ASSERT_TRUE(p.ReadLine(kTimeout));
  Reading r = Ask(p);
  // Start-at: the given time plus the (short) time since the child started.
  EXPECT_GE(r.wall, 1893456000);
  EXPECT_LE(r.wall, 1893456000 + 10);
}

TEST(FakeTimeProcessTest, TimestampFileIsRewrittenAtomically) {
  FakeTimeProcess p({RPCFORGE_TESTING_PRINT_TIME});
  p.SetOffset(seconds(5));
  std::ifstream in(p.timestamp_file());
  std::string content;
  std::getline(in, content);
  EXPECT_EQ(content, "+5s");
  EXPECT_FALSE(FileExists(p.timestamp_file() + ".tmp"));
}

TEST(FakeTimeProcessTest, EnvironmentIsPassedAndFaketimeSettingsForced) {
  FakeTimeProcess p({RPCFORGE_TESTING_PRINT_TIME},
                    {{"RPCFORGE_TEST_VAR", "hello"}, {"FAKETIME_DONT_FAKE_MONOTONIC", "0"}});
  p.Start();
  ASSERT_TRUE(p.ReadLine(kTimeout));
  p.WriteStdin(
      "env RPCFORGE_TEST_VAR\nenv FAKETIME_DONT_FAKE_MONOTONIC\n"
      "env FAKETIME_NO_CACHE\nenv FAKETIME_TIMESTAMP_FILE\nenv LD_PRELOAD\n");
  EXPECT_EQ(p.ReadLine(kTimeout), "RPCFORGE_TEST_VAR=hello");
  EXPECT_EQ(p.ReadLine(kTimeout), "FAKETIME_DONT_FAKE_MONOTONIC=1");
  EXPECT_EQ(p.ReadLine(kTimeout), "FAKETIME_NO_CACHE=1");
  EXPECT_EQ(p.ReadLine(kTimeout), "FAKETIME_TIMESTAMP_FILE=" + p.timestamp_file());
  auto preload = p.ReadLine(kTimeout);
  ASSERT_TRUE(preload);
  EXPECT_THAT(*preload, ::testing::HasSubstr("libfaketime.so.1"));
}

TEST(FakeTimeProcessTest, WaitForMatchSkipsLinesAndReturnsGroups) {
  FakeTimeProcess p({RPCFORGE_TESTING_PRINT_TIME});
  p.Start();
  p.WriteStdin("say starting\nsay listening on 127.0.0.1:45678\nsay after\n");
  auto groups = p.WaitForMatch(std::regex("listening on (\\S+):(\\d+)"), kTimeout);
  ASSERT_TRUE(groups);
  ASSERT_EQ(groups->size(), 3u);
  EXPECT_EQ((*groups)[1], "127.0.0.1");
  EXPECT_EQ((*groups)[2], "45678");
  EXPECT_EQ(p.ReadLine(kTimeout), "after");
  EXPECT_THAT(p.output(), ::testing::ElementsAre(::testing::StartsWith("ready pid="), "starting",
                                                 "listening on 127.0.0.1:45678", "after"));
}

TEST(FakeTimeProcessTest, PredicateMayReadOutput) {
  FakeTimeProcess p({RPCFORGE_TESTING_PRINT_TIME});
  p.Start();
  p.WriteStdin("say one\nsay two\n");
  size_t seen = 0;
  auto line = p.WaitForLine(
      [&](const std::string& l) {
        seen = p.output().size();  // would deadlock if called under the lock
        return l == "two";
      },
      kTimeout);
  EXPECT_EQ(line, "two");
  EXPECT_EQ(seen, 3u);
}

TEST(FakeTimeProcessTest, WaitForLineTimesOutBounded) {
  FakeTimeProcess p({RPCFORGE_TESTING_PRINT_TIME});
  p.Start();
  ASSERT_TRUE(p.ReadLine(kTimeout));
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(p.ReadLine(std::chrono::milliseconds(50)));
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(5));
  EXPECT_TRUE(p.running());
}

TEST(FakeTimeProcessTest, EndOfOutputEndsWaitEarly) {
  FakeTimeProcess p({RPCFORGE_TESTING_PRINT_TIME});
  p.Start();
  p.WriteStdin("say bye\n");
  p.CloseStdin();
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(p.WaitForLine([](const std::string& l) { return l == "never"; }, seconds(30)));
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(20));
  auto st = p.Wait(kTimeout);
  ASSERT_TRUE(st);
  EXPECT_TRUE(st->success()) << st->ToString();
  EXPECT_FALSE(p.running());
}

TEST(FakeTimeProcessTest, ExitCode) {
  FakeTimeProcess p({RPCFORGE_TESTING_PRINT_TIME});
  p.Start();
  p.WriteStdin("exit 3\n");
  auto st = p.Wait(kTimeout);
  ASSERT_TRUE(st);
  EXPECT_TRUE(st->exited);
  EXPECT_EQ(st->code, 3);
  EXPECT_EQ(st->ToString(), "exited with code 3");
  // Terminate after exit returns the same status.
  EXPECT_EQ(p.Terminate().code, 3);
  EXPECT_THROW(p.WriteStdin("time\n"), std::runtime_error);
}

TEST(FakeTimeProcessTest, TerminateWithSignal) {
  FakeTimeProcess p({RPCFORGE_TESTING_PRINT_TIME});
  p.Start();
  ASSERT_TRUE(p.ReadLine(kTimeout));
  EXPECT_TRUE(FileExists("/dev/shm/faketime_shm_" + std::to_string(p.pid())));
  ExitStatus st = p.Terminate(SIGTERM, kTimeout);
  EXPECT_FALSE(st.exited);
  EXPECT_EQ(st.signal, SIGTERM);
  EXPECT_FALSE(FileExists("/dev/shm/faketime_shm_" + std::to_string(p.pid())));
  EXPECT_FALSE(p.running());
}

TEST(FakeTimeProcessTest, TerminateEscalatesToSigkill) {
  FakeTimeProcess p({RPCFORGE_TESTING_PRINT_TIME});
  p.Start();
  p.WriteStdin("ignore-term\n");
  ASSERT_TRUE(p.WaitForLine(std::regex("ignoring SIGTERM"), kTimeout));
  ExitStatus st = p.Terminate(SIGTERM, std::chrono::milliseconds(200));
  EXPECT_FALSE(st.exited);
  EXPECT_EQ(st.signal, SIGKILL);
  EXPECT_THAT(st.ToString(), ::testing::StartsWith("killed by signal 9"));
}

int CountOpenFds() {
  int count = 0;
  for (int fd = 0; fd < 1024; ++fd) count += ::fcntl(fd, F_GETFD) != -1;
  return count;
}

TEST(FakeTimeProcessTest, ChildGetsOnlyStdioAndParentLeaksNoFds) {
  int before = CountOpenFds();
  {
    // An fd the parent opened without O_CLOEXEC must not reach the child.
    int leaky = ::open("/dev/null", O_RDONLY);
    ASSERT_GE(leaky, 0);
    FakeTimeProcess p({RPCFORGE_TESTING_PRINT_TIME});
    p.Start();
    p.WriteStdin("fds\n");
    // 0-2, plus the two libfaketime opens for its shared memory.
    EXPECT_TRUE(p.WaitForLine(std::regex("^fds=5$"), kTimeout))
        << ::testing::PrintToString(p.output());
    ::close(leaky);
  }
  EXPECT_EQ(CountOpenFds(), before);
}

TEST(FakeTimeProcessTest, DestructorKillsAndReaps) {
  pid_t pid;
  std::string dir;
  {
    FakeTimeProcess p({RPCFORGE_TESTING_PRINT_TIME});
    p.Start();
    ASSERT_TRUE(p.ReadLine(kTimeout));
    pid = p.pid();
    dir = p.timestamp_file();
    ASSERT_GT(pid, 0);
  }
  // Reaped: no such child any more (a zombie would still answer kill(pid, 0)).
  EXPECT_EQ(::kill(pid, 0), -1);
  EXPECT_FALSE(FileExists(dir));
  // libfaketime's shared memory of a killed child is removed too.
  EXPECT_FALSE(FileExists("/dev/shm/faketime_shm_" + std::to_string(pid)));
  EXPECT_FALSE(FileExists("/dev/shm/sem.faketime_sem_" + std::to_string(pid)));
}

TEST(FakeTimeProcessTest, CaptureStderr) {
  FakeTimeProcess::Options options;
  options.argv = {RPCFORGE_TESTING_PRINT_TIME};
  options.capture_stderr = true;
  FakeTimeProcess p(options);
  p.Start();
  p.WriteStdin("err on stderr\n");
  EXPECT_TRUE(p.WaitForLine(std::regex("^on stderr$"), kTimeout));
}

TEST(FakeTimeProcessTest, ClearErrors) {
  FakeTimeProcess::Options missing_lib;
  missing_lib.argv = {RPCFORGE_TESTING_PRINT_TIME};
  missing_lib.libfaketime = "/nonexistent/libfaketime.so.1";
  FakeTimeProcess a(missing_lib);
  try {
    a.Start();
    ADD_FAILURE() << "Start succeeded without libfaketime";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("/nonexistent/libfaketime.so.1"));
  }

  FakeTimeProcess b({"/nonexistent/program"});
  try {
    b.Start();
    ADD_FAILURE() << "Start succeeded for a missing program";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("cannot start '/nonexistent/program'"));
  }
  EXPECT_THROW(FakeTimeProcess(std::vector<std::string>{}), std::invalid_argument);
  FakeTimeProcess c({RPCFORGE_TESTING_PRINT_TIME});
  EXPECT_THROW(c.Terminate(), std::logic_error);
}
