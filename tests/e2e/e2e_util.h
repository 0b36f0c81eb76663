// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the end-to-end tests (real processes over loopback TCP).
#ifndef RPCFORGE_TESTS_E2E_E2E_UTIL_H_
#define RPCFORGE_TESTS_E2E_E2E_UTIL_H_

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "rpcforge/testing/fake_time_process.h"

namespace rpcforge::e2e {

// kListening matches the line `serve` prints once it accepts calls; group 1 is the
// address.
inline const std::regex kListening("listening on (\\S+)");

// Joined is a process's captured output lines, one per line, for failure messages.
inline std::string Joined(const std::vector<std::string>& lines) {
  std::string all;
  for (const auto& l : lines) all += l + "\n";
  return all;
}

// RunOnce runs `argv` (with `env` added to its environment) to its end (at most 60 s),
// expects it to succeed, and returns its output (stdout and stderr).
inline std::string RunOnce(std::vector<std::string> argv,
                           std::map<std::string, std::string> env = {}) {
  using namespace std::chrono_literals;
  rpcforge::testing::FakeTimeProcess::Options options;
  options.argv = std::move(argv);
  options.env = std::move(env);
  options.capture_stderr = true;
  rpcforge::testing::FakeTimeProcess proc(options);
  proc.Start();
  auto status = proc.Wait(60s);
  std::string out = Joined(proc.output());
  EXPECT_TRUE(status && status->success()) << out;
  return out;
}

// MigratedDatabase is a database file in the test's temporary folder, created and
// migrated by the binary `bin` (`serve` refuses a database with unapplied migrations),
// and removed with its WAL files and journal folder at the end of its scope. `empty()`
// when migrate failed.
class MigratedDatabase {
 public:
  MigratedDatabase(const std::string& bin, const std::string& name)
      : path_(::testing::TempDir() + "/rpcforge_e2e_" + std::to_string(::getpid()) + "_" + name) {
    Remove();
    const std::string command =
        "'" + bin + "' --log-level error --database '" + path_ + "' migrate >/dev/null";
    if (std::system(command.c_str()) != 0) path_.clear();
  }
  ~MigratedDatabase() { Remove(); }
  MigratedDatabase(const MigratedDatabase&) = delete;
  MigratedDatabase& operator=(const MigratedDatabase&) = delete;

  bool empty() const { return path_.empty(); }
  operator const std::string&() const { return path_; }  // NOLINT(google-explicit-constructor)

 private:
  void Remove() const {
    if (path_.empty()) return;
    std::error_code ec;
    for (const char* suffix : {"", "-wal", "-shm", "-rpcforge-journal"}) {
      std::filesystem::remove_all(path_ + suffix, ec);
    }
  }
  std::string path_;
};

}  // namespace rpcforge::e2e

#endif  // RPCFORGE_TESTS_E2E_E2E_UTIL_H_
