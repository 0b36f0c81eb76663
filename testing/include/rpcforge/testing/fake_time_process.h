// SPDX-License-Identifier: Apache-2.0
// FakeTimeProcess runs a child process (typically a server binary) under libfaketime
// and moves its wall clock while it runs, by atomically rewriting the
// FAKETIME_TIMESTAMP_FILE it owns. The child's monotonic clock is never faked
// (FAKETIME_DONT_FAKE_MONOTONIC=1), so gRPC deadlines and timed waits keep working.
// No gtest dependency.
//
//   rpcforge::testing::FakeTimeProcess server({"./blog", "serve", "--port=0"});
//   server.Start();
//   auto addr = server.WaitForMatch(std::regex("listening on (\\S+)"), 10s);
//   server.AdvanceBy(std::chrono::hours(25));    // the server now lives a day later
//   ExitStatus st = server.Terminate(SIGTERM, 10s);
//
// Only offsets ("+3600s") and start-at times ("@2026-01-01 00:00:00") are written: no
// frozen or rate modes (Debian's libfaketime 0.9.10 lacks FAKETIME_UPDATE_TIMESTAMP_FILE).
#ifndef RPCFORGE_TESTING_FAKE_TIME_PROCESS_H_
#define RPCFORGE_TESTING_FAKE_TIME_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace rpcforge::testing {

// ExitStatus says how a child process ended.
struct ExitStatus {
  bool exited = false;  // true: it called exit(code); false: killed by `signal`
  int code = 0;         // exit code, when `exited`
  int signal = 0;       // terminating signal, when !`exited`

  bool success() const { return exited && code == 0; }
  // ToString returns e.g. "exited with code 3" or "killed by signal 15 (Terminated)".
  std::string ToString() const;
};

// FakeTimeProcess owns one child process, its stdin and stdout pipes, a background
// thread draining its stdout, and a private directory holding the timestamp file.
//
// Lifetime: the destructor SIGKILLs the child's process group if it is still running,
// reaps it (no zombies), joins the reader thread and removes the directory. Never
// throws from the destructor.
//
// Errors: Start and the clock setters throw std::runtime_error with the cause
// (libfaketime not found, the program not executable, the file not writable).
//
// Thread-safety: the output readers (ReadLine, WaitForLine, WaitForMatch, output) may
// be called from any thread; call the other members from one thread at a time.
class FakeTimeProcess {
 public:
  struct Options {
    // argv[0] is the program, looked up in PATH when it has no '/'.
    std::vector<std::string> argv;
    // Environment variables set (or overridden) in the child, on top of the parent's.
    std::map<std::string, std::string> env;
    // When true the child's stderr goes to the same pipe as stdout and is read with
    // it; otherwise the child inherits the parent's stderr (so its logs show up in
    // the test output).
    bool capture_stderr = false;
    // Path of libfaketime.so.1; empty: FindLibfaketime().
    std::string libfaketime;
  };

  explicit FakeTimeProcess(Options options);
  explicit FakeTimeProcess(std::vector<std::string> argv,
                           std::map<std::string, std::string> env = {});
  ~FakeTimeProcess();

  FakeTimeProcess(const FakeTimeProcess&) = delete;
  FakeTimeProcess& operator=(const FakeTimeProcess&) = delete;

  // FindLibfaketime returns the path of libfaketime.so.1: $RPCFORGE_LIBFAKETIME if
  // set, else the first existing of /usr/lib/<multiarch>/faketime/, /usr/lib/faketime/,
  // /usr/lib64/faketime/, /usr/local/lib/faketime/. Throws std::runtime_error naming
  // the places searched and the Debian package to install when none exists.
  static std::string FindLibfaketime();

  // Start spawns the child under libfaketime with LD_PRELOAD,
  // FAKETIME_TIMESTAMP_FILE=<timestamp_file()>, FAKETIME_NO_CACHE=1 and
  // FAKETIME_DONT_FAKE_MONOTONIC=1 (inherited FAKETIME* variables are dropped), and
  // appends verify_asan_link_order=0 to ASAN_OPTIONS so sanitizer builds run. The
  // child runs in its own process group with default signal dispositions and only
  // fds 0-2 open. Throws std::runtime_error on failure; at most once per object.
  void Start();

  // SetOffset makes the child's wall clock read real time + `offset` (negative moves
  // it back). Callable before Start (the initial offset, default 0) and while the
  // child runs: the child sees the change on its next clock read. The file is
  // rewritten atomically (write a temporary file, then rename over it).
  void SetOffset(std::chrono::seconds offset);

  // AdvanceBy adds `delta` to the current offset (after SetStartAt, it starts again
  // from an offset of 0).
  void AdvanceBy(std::chrono::seconds delta);

  // SetStartAt writes the start-at form "@YYYY-MM-DD HH:MM:SS" (UTC, whole seconds):
  // libfaketime then reports `t` plus the real time elapsed since the child started.
  void SetStartAt(std::chrono::system_clock::time_point t);

  // offset returns the offset last set (0 after SetStartAt).
  std::chrono::seconds offset() const { return offset_; }
  // timestamp_spec returns what the timestamp file holds now, e.g. "+3600s".
  const std::string& timestamp_spec() const { return spec_; }
  const std::string& timestamp_file() const { return timestamp_file_; }

  // pid returns the child's pid, or -1 before Start.
  pid_t pid() const { return pid_; }

  // running is true from Start until the child has exited and been reaped.
  bool running();

  // WriteStdin writes `data` to the child's stdin. Throws std::runtime_error when the
  // child has closed its stdin or stdin was closed with CloseStdin.
  void WriteStdin(std::string_view data);
  // CloseStdin closes the child's stdin, so it reads end of file.
  void CloseStdin();

  // ReadLine returns the next unread line of output (without the newline), waiting up
  // to `timeout`; nullopt on timeout or when the output ended with nothing unread.
  std::optional<std::string> ReadLine(std::chrono::milliseconds timeout);

  // WaitForLine consumes output lines until one satisfies `predicate` (or matches
  // `re` with std::regex_search) and returns it; lines skipped are consumed too.
  // Returns nullopt on timeout or when the output ends first.
  std::optional<std::string> WaitForLine(const std::function<bool(const std::string&)>& predicate,
                                         std::chrono::milliseconds timeout);
  std::optional<std::string> WaitForLine(const std::regex& re, std::chrono::milliseconds timeout);

  // WaitForMatch is WaitForLine(re) returning the match groups: [0] is the matched
  // text, [1]... the sub-matches. E.g. "listening on (\\S+):(\\d+)" gives host, port.
  std::optional<std::vector<std::string>> WaitForMatch(const std::regex& re,
                                                       std::chrono::milliseconds timeout);

  // output returns every line read so far (consumed or not), oldest first.
  std::vector<std::string> output() const;

  // Wait waits up to `timeout` for the child to exit on its own and reaps it.
  // Returns nullopt if it is still running. Throws std::logic_error before Start.
  std::optional<ExitStatus> Wait(std::chrono::milliseconds timeout);

  // Terminate sends `signal` to the child and waits up to `timeout` for it to exit;
  // if it has not, SIGKILLs its process group and reaps it (the status then says
  // "killed by signal 9"). Returns the exit status (the earlier one if it had
  // already exited). Throws std::logic_error before Start.
  ExitStatus Terminate(int signal = SIGTERM,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10));

 private:
  void WriteSpec(const std::string& spec);
  void ReaderLoop();
  bool Reap(int options);
  void StopReader();

  Options options_;
  std::string dir_;
  std::string timestamp_file_;
  std::string spec_;
  std::chrono::seconds offset_{0};

  pid_t pid_ = -1;
  std::optional<ExitStatus> status_;
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
  int stop_fds_[2] = {-1, -1};  // self-pipe telling the reader thread to stop
  std::thread reader_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> lines_;  // guarded by mu_
  size_t next_line_ = 0;            // guarded by mu_: first unconsumed line
  bool eof_ = false;                // guarded by mu_
};

}  // namespace rpcforge::testing

#endif  // RPCFORGE_TESTING_FAKE_TIME_PROCESS_H_
