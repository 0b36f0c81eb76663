// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/testing/fake_time_process.h"

#include <fcntl.h>
#include <glob.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <stdexcept>

extern char** environ;

namespace rpcforge::testing {
namespace {

std::runtime_error SysError(const std::string& what, int err) {
  return std::runtime_error("FakeTimeProcess: " + what + ": " + std::strerror(err));
}

bool StartsWith(const std::string& s, std::string_view prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

void CloseFd(int* fd) {
  if (*fd >= 0) {
    ::close(*fd);
    *fd = -1;
  }
}

// OpenPidfd returns a pollable fd for `pid`, or -1 where pidfd_open is unsupported.
int OpenPidfd(pid_t pid) {
#ifdef SYS_pidfd_open
  long fd = ::syscall(SYS_pidfd_open, pid, 0);
  return fd >= 0 ? static_cast<int>(fd) : -1;
#else
  (void)pid;
  return -1;
#endif
}

ExitStatus FromWaitStatus(int st) {
  ExitStatus s;
  if (WIFEXITED(st)) {
    s.exited = true;
    s.code = WEXITSTATUS(st);
  } else if (WIFSIGNALED(st)) {
    s.signal = WTERMSIG(st);
  }
  return s;
}

// libfaketime 0.9.10 creates a POSIX shared memory object and a semaphore named after
// the pid of the process that loads it (unless FAKETIME_SHARED is inherited), and
// removes them only at a normal exit: a child ended by a signal leaves
// /dev/shm/faketime_shm_<pid> and /dev/shm/sem.faketime_sem_<pid> behind.
void RemoveFaketimeLeftovers(pid_t pid) {
  std::string id = std::to_string(static_cast<long>(pid));
  ::unlink(("/dev/shm/faketime_shm_" + id).c_str());
  ::unlink(("/dev/shm/sem.faketime_sem_" + id).c_str());
}

}  // namespace

std::string ExitStatus::ToString() const {
  if (exited) return "exited with code " + std::to_string(code);
  const char* name = ::strsignal(signal);
  return "killed by signal " + std::to_string(signal) + " (" + (name ? name : "?") + ")";
}

FakeTimeProcess::FakeTimeProcess(std::vector<std::string> argv,
                                 std::map<std::string, std::string> env)
    : FakeTimeProcess(Options{std::move(argv), std::move(env), false, ""}) {}

FakeTimeProcess::FakeTimeProcess(Options options) : options_(std::move(options)) {
  if (options_.argv.empty()) {
    throw std::invalid_argument("FakeTimeProcess: argv is empty");
  }
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/rpcforge-faketime-XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) throw SysError("mkdtemp " + pattern, errno);
  dir_ = buf.data();
  timestamp_file_ = dir_ + "/timestamp";
  WriteSpec("+0s");
}

FakeTimeProcess::~FakeTimeProcess() {
  try {
    if (pid_ > 0 && !status_) {
      ::kill(-pid_, SIGKILL);  // the whole process group: grandchildren too
      ::kill(pid_, SIGKILL);
      if (!Wait(std::chrono::seconds(10))) {
        std::fprintf(stderr, "FakeTimeProcess: child %d did not die after SIGKILL\n",
                     static_cast<int>(pid_));
      }
    }
  } catch (...) {
    // Destructors never throw.
  }
  StopReader();
  CloseFd(&stdin_fd_);
  ::unlink((timestamp_file_ + ".tmp").c_str());
  ::unlink(timestamp_file_.c_str());
  ::rmdir(dir_.c_str());
}

std::string FakeTimeProcess::FindLibfaketime() {
  std::vector<std::string> searched;
  if (const char* env = std::getenv("RPCFORGE_LIBFAKETIME"); env && *env) {
    if (::access(env, R_OK) == 0) return env;
    searched.push_back(std::string(env) + " ($RPCFORGE_LIBFAKETIME)");
  }
  const char* patterns[] = {
      "/usr/lib/*-linux-gnu*/faketime/libfaketime.so.1",
      "/usr/lib/faketime/libfaketime.so.1",
      "/usr/lib64/faketime/libfaketime.so.1",
      "/usr/local/lib/faketime/libfaketime.so.1",
      "/usr/local/lib/libfaketime.so.1",
  };
  for (const char* pattern : patterns) {
    searched.push_back(pattern);
    glob_t g{};
    if (::glob(pattern, 0, nullptr, &g) == 0) {
      for (size_t i = 0; i < g.gl_pathc; ++i) {
        std::string path = g.gl_pathv[i];
        if (::access(path.c_str(), R_OK) == 0) {
          ::globfree(&g);
          return path;
        }
      }
    }
    ::globfree(&g);
  }
  std::string msg =
      "FakeTimeProcess: libfaketime.so.1 not found (install the Debian package "
      "'libfaketime', or set RPCFORGE_LIBFAKETIME to its path); searched:";
  for (const auto& s : searched) msg += " " + s;
  throw std::runtime_error(msg);
}

void FakeTimeProcess::WriteSpec(const std::string& spec) {
  // Write-then-rename: the child (which re-reads the file on every clock read) sees
  // either the old or the new content, never a torn one.
  std::string tmp = timestamp_file_ + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr) throw SysError("cannot write " + tmp, errno);
  std::string line = spec + "\n";
  bool ok = std::fwrite(line.data(), 1, line.size(), f) == line.size();
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) throw SysError("cannot write " + tmp, errno);
  if (::rename(tmp.c_str(), timestamp_file_.c_str()) != 0) {
    throw SysError("cannot rename " + tmp + " to " + timestamp_file_, errno);
  }
  spec_ = spec;
}

void FakeTimeProcess::SetOffset(std::chrono::seconds offset) {
  long long s = offset.count();
  WriteSpec((s < 0 ? "-" : "+") + std::to_string(s < 0 ? -s : s) + "s");
  offset_ = offset;
}

void FakeTimeProcess::AdvanceBy(std::chrono::seconds delta) { SetOffset(offset_ + delta); }

void FakeTimeProcess::SetStartAt(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  if (::gmtime_r(&tt, &tm) == nullptr) {
    throw std::runtime_error("FakeTimeProcess: time out of range");
  }
  char buf[64];
  std::strftime(buf, sizeof(buf), "@%Y-%m-%d %H:%M:%S", &tm);
  WriteSpec(buf);
  offset_ = std::chrono::seconds(0);
}

namespace {

// ChildEnvironment: the parent's environment minus any FAKETIME* settings, plus
// `extra`, plus the settings FakeTimeProcess depends on (those win).
std::map<std::string, std::string> ChildEnvironment(const std::map<std::string, std::string>& extra,
                                                    const std::string& lib,
                                                    const std::string& timestamp_file) {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string kv = *e;
    size_t eq = kv.find('=');
    if (eq == std::string::npos) continue;
    std::string key = kv.substr(0, eq);
    if (StartsWith(key, "FAKETIME")) continue;
    env[key] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : extra) env[k] = v;
  std::string preload = lib;
  if (auto it = env.find("LD_PRELOAD"); it != env.end() && !it->second.empty()) {
    preload += ":" + it->second;
  }
  env["LD_PRELOAD"] = preload;
  // A child built with AddressSanitizer refuses to run when another library is
  // preloaded ahead of its runtime; libfaketime must be, so let it.
  std::string& asan = env["ASAN_OPTIONS"];
  asan += (asan.empty() ? "" : ":") + std::string("verify_asan_link_order=0");
  env["FAKETIME_TIMESTAMP_FILE"] = timestamp_file;
  env["FAKETIME_NO_CACHE"] = "1";
  env["FAKETIME_DONT_FAKE_MONOTONIC"] = "1";
  return env;
}

// SpawnSetup: the child's stdin/stdout(/stderr) and no other inherited fd; its own
// process group, an empty signal mask and default dispositions.
struct SpawnSetup {
  SpawnSetup(int stdin_fd, int stdout_fd, bool capture_stderr) {
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, stdin_fd, 0);
    posix_spawn_file_actions_adddup2(&actions, stdout_fd, 1);
    if (capture_stderr) posix_spawn_file_actions_adddup2(&actions, stdout_fd, 2);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    // Fds opened by other code without O_CLOEXEC must not leak into the child either.
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
#endif
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(
        &attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&attr, 0);
    sigset_t mask;
    sigemptyset(&mask);
    posix_spawnattr_setsigmask(&attr, &mask);
    sigset_t defaults;
    sigemptyset(&defaults);
    for (int sig :
         {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM}) {
      sigaddset(&defaults, sig);
    }
    posix_spawnattr_setsigdefault(&attr, &defaults);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;

  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
};

}  // namespace

void FakeTimeProcess::Start() {
  if (pid_ > 0) throw std::logic_error("FakeTimeProcess: Start called twice");
  std::string lib = options_.libfaketime.empty() ? FindLibfaketime() : options_.libfaketime;
  if (::access(lib.c_str(), R_OK) != 0) {
    throw std::runtime_error("FakeTimeProcess: libfaketime not readable at " + lib);
  }

  std::map<std::string, std::string> env = ChildEnvironment(options_.env, lib, timestamp_file_);
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = options_.argv;
  std::vector<char*> argv;
  for (auto& s : argv_copy) argv.push_back(s.data());
  argv.push_back(nullptr);

  // stdin is a socket so that writing to a dead child fails with EPIPE
  // (send(MSG_NOSIGNAL)) instead of raising SIGPIPE in the test.
  int in_fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in_fds) != 0) {
    throw SysError("socketpair", errno);
  }
  ::shutdown(in_fds[0], SHUT_WR);  // child side only reads
  int out_fds[2];
  if (::pipe2(out_fds, O_CLOEXEC) != 0) {
    int err = errno;
    ::close(in_fds[0]);
    ::close(in_fds[1]);
    throw SysError("pipe2", err);
  }
  if (::pipe2(stop_fds_, O_CLOEXEC) != 0) {
    int err = errno;
    for (int fd : {in_fds[0], in_fds[1], out_fds[0], out_fds[1]}) ::close(fd);
    throw SysError("pipe2", err);
  }

  pid_t pid = -1;
  int rc;
  {
    SpawnSetup setup(in_fds[0], out_fds[1], options_.capture_stderr);
    rc = ::posix_spawnp(&pid, argv[0], &setup.actions, &setup.attr, argv.data(), envp.data());
  }
  ::close(in_fds[0]);
  ::close(out_fds[1]);
  if (rc != 0) {
    ::close(in_fds[1]);
    ::close(out_fds[0]);
    CloseFd(&stop_fds_[0]);
    CloseFd(&stop_fds_[1]);
    throw SysError("cannot start '" + options_.argv[0] + "'", rc);
  }
  pid_ = pid;
  stdin_fd_ = in_fds[1];
  stdout_fd_ = out_fds[0];
  reader_ = std::thread([this] { ReaderLoop(); });
}

void FakeTimeProcess::ReaderLoop() {
  std::string partial;
  char buf[4096];
  while (true) {
    pollfd fds[2] = {{stdout_fd_, POLLIN, 0}, {stop_fds_[0], POLLIN, 0}};
    int n = ::poll(fds, 2, -1);  // unbounded on purpose: the destructor wakes it
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[1].revents != 0) break;
    ssize_t got = ::read(stdout_fd_, buf, sizeof(buf));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    partial.append(buf, static_cast<size_t>(got));
    std::vector<std::string> complete;
    size_t start = 0;
    for (size_t nl; (nl = partial.find('\n', start)) != std::string::npos; start = nl + 1) {
      std::string line = partial.substr(start, nl - start);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      complete.push_back(std::move(line));
    }
    partial.erase(0, start);
    if (!complete.empty()) {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& l : complete) lines_.push_back(std::move(l));
      cv_.notify_all();
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (!partial.empty()) lines_.push_back(partial);
  eof_ = true;
  cv_.notify_all();
}

void FakeTimeProcess::StopReader() {
  if (reader_.joinable()) {
    char c = 'x';
    if (::write(stop_fds_[1], &c, 1) < 0) {
      // The pipe cannot be full (one byte, written once); nothing else to do.
    }
    reader_.join();
  }
  CloseFd(&stop_fds_[0]);
  CloseFd(&stop_fds_[1]);
  CloseFd(&stdout_fd_);
}

bool FakeTimeProcess::running() {
  if (pid_ <= 0 || status_) return false;
  return !Reap(WNOHANG);
}

bool FakeTimeProcess::Reap(int options) {
  if (status_) return true;
  for (int attempt = 0; attempt < 100; ++attempt) {
    // Look first without reaping: while the child is a zombie its pid cannot be
    // reused, so its libfaketime leftovers can be removed safely by name.
    siginfo_t info{};
    int r = ::waitid(P_PID, static_cast<id_t>(pid_), &info,
                     WEXITED | WNOWAIT | ((options & WNOHANG) ? WNOHANG : 0));
    if (r != 0) {
      if (errno == EINTR) continue;
      throw SysError("waitid", errno);
    }
    if (info.si_pid == 0) return false;  // still running
    RemoveFaketimeLeftovers(pid_);
    int st = 0;
    pid_t w = ::waitpid(pid_, &st, 0);  // returns at once: the child is dead
    if (w == pid_) {
      status_ = FromWaitStatus(st);
      return true;
    }
    if (errno != EINTR) throw SysError("waitpid", errno);
  }
  return false;
}

void FakeTimeProcess::WriteStdin(std::string_view data) {
  if (stdin_fd_ < 0) throw std::runtime_error("FakeTimeProcess: stdin is closed");
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::send(stdin_fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw SysError("write to the child's stdin", errno);
    }
    done += static_cast<size_t>(n);
  }
}

void FakeTimeProcess::CloseStdin() { CloseFd(&stdin_fd_); }

std::optional<std::string> FakeTimeProcess::ReadLine(std::chrono::milliseconds timeout) {
  return WaitForLine([](const std::string&) { return true; }, timeout);
}

std::optional<std::string> FakeTimeProcess::WaitForLine(
    const std::function<bool(const std::string&)>& predicate, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    while (next_line_ < lines_.size()) {
      std::string line = lines_[next_line_++];
      // The predicate runs unlocked: it may call output() or take its time.
      lock.unlock();
      bool match = predicate(line);
      lock.lock();
      if (match) return line;
    }
    if (eof_) return std::nullopt;
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && next_line_ == lines_.size()) {
      return std::nullopt;
    }
  }
}

std::optional<std::string> FakeTimeProcess::WaitForLine(const std::regex& re,
                                                        std::chrono::milliseconds timeout) {
  return WaitForLine([&re](const std::string& line) { return std::regex_search(line, re); },
                     timeout);
}

std::optional<std::vector<std::string>> FakeTimeProcess::WaitForMatch(
    const std::regex& re, std::chrono::milliseconds timeout) {
  auto line = WaitForLine(re, timeout);
  if (!line) return std::nullopt;
  std::smatch m;
  std::regex_search(*line, m, re);
  std::vector<std::string> groups;
  for (const auto& g : m) groups.push_back(g.str());
  return groups;
}

std::vector<std::string> FakeTimeProcess::output() const {
  std::lock_guard<std::mutex> lock(mu_);
  return lines_;
}

std::optional<ExitStatus> FakeTimeProcess::Wait(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) throw std::logic_error("FakeTimeProcess: not started");
  if (status_) return status_;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int pidfd = OpenPidfd(pid_);
  while (true) {
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) break;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    if (pidfd >= 0) {
      pollfd p{pidfd, POLLIN, 0};
      ::poll(&p, 1, static_cast<int>(left.count()) + 1);
    } else {
      // No pidfd (old kernel): poll the child's state at a short interval.
      std::this_thread::sleep_for(std::min(left, std::chrono::milliseconds(5)));
    }
    if (Reap(WNOHANG)) break;
  }
  if (pidfd >= 0) ::close(pidfd);
  if (status_) {
    // The child is gone, but its last output may still be in the pipe: let the reader
    // reach end-of-file, so output() after Wait() has everything the child wrote.
    // Bounded, because a grandchild may still hold the pipe open.
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(2), [&] { return eof_; });
    return status_;
  }
  return std::nullopt;
}

ExitStatus FakeTimeProcess::Terminate(int signal, std::chrono::milliseconds timeout) {
  if (pid_ <= 0) throw std::logic_error("FakeTimeProcess: not started");
  if (status_ || Reap(WNOHANG)) return *status_;
  ::kill(pid_, signal);
  if (auto st = Wait(timeout)) return *st;
  ::kill(-pid_, SIGKILL);
  ::kill(pid_, SIGKILL);
  if (auto st = Wait(std::chrono::seconds(10))) return *st;
  throw std::runtime_error("FakeTimeProcess: child " + std::to_string(pid_) +
                           " survived SIGKILL for 10 s");
}

}  // namespace rpcforge::testing
