// SPDX-License-Identifier: Apache-2.0
// LogCapture records the framework's log lines (`rpcforge::log`) while it is alive, so
// a test can assert what was logged.
//
//   rpcforge::testing::LogCapture logs(rpcforge::log::Level::kDebug);
//   RunTheCode();
//   EXPECT_TRUE(logs.Contains("request finished"));
//   EXPECT_THAT(logs.lines(), Contains(HasSubstr("[server]")));
#ifndef RPCFORGE_TESTING_LOG_CAPTURE_H_
#define RPCFORGE_TESTING_LOG_CAPTURE_H_

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rpcforge/log.h"

namespace rpcforge::testing {

// LogCapture registers a sink with `rpcforge::log::AddSink` on construction and removes
// it on destruction (RAII), keeping every record written meanwhile, from any thread.
//
// Levels: a default-constructed LogCapture keeps what the framework writes at the
// current global level (`rpcforge::log::GetLevel()`, info unless changed). Given
// `min_level`, it keeps only records at or above it, and if `min_level` is below the
// global level it lowers the global level to `min_level` for its lifetime (so more
// also goes to stderr) and restores the previous level on destruction. Don't nest
// captures that change the level in different orders.
//
// Thread-safe: all accessors may be called while other threads log. Not copyable.
class LogCapture {
 public:
  LogCapture();
  explicit LogCapture(log::Level min_level);
  ~LogCapture();

  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  // records returns a copy of every captured record, oldest first.
  std::vector<log::Record> records() const;

  // lines returns every captured record formatted as "<level> [<component>] <message>",
  // e.g. "warn [server] slow call", oldest first: what a matcher such as
  // `Contains(HasSubstr("slow"))` or `ElementsAre(...)` wants.
  std::vector<std::string> lines() const;

  // messages returns the bare messages, oldest first.
  std::vector<std::string> messages() const;

  // Contains is true when some captured line (as in `lines()`) contains `substr`.
  bool Contains(std::string_view substr) const;

  // WaitFor waits up to `timeout` for a line containing `substr` (already captured or
  // logged later by another thread) and returns it, or nullopt on timeout.
  std::optional<std::string> WaitFor(std::string_view substr,
                                     std::chrono::milliseconds timeout) const;

  // Clear forgets everything captured so far.
  void Clear();

  // FormatLine is how `lines()` renders one record.
  static std::string FormatLine(const log::Record& record);

 private:
  void Init();

  log::Level min_level_;
  std::optional<log::Level> restore_level_;
  int sink_id_ = 0;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<log::Record> records_;
};

}  // namespace rpcforge::testing

#endif  // RPCFORGE_TESTING_LOG_CAPTURE_H_
