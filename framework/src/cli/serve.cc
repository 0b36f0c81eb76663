// SPDX-License-Identifier: Apache-2.0
// `serve` (and `serve --dev`) and `check`.
#include <google/protobuf/descriptor.h>
#include <malloc.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>

#include "cli/commands.h"
#include "core/logging.h"
#include "rpcforge/admin/admin_server.h"
#include "rpcforge/config/config.h"
#include "rpcforge/db/database.h"
#include "rpcforge/db/group_commit.h"
#include "rpcforge/db/migrate.h"
#include "rpcforge/db/registry.h"
#include "rpcforge/errors.h"
#include "rpcforge/server/dispatcher.h"
#include "rpcforge/status/server_status.h"

namespace rpcforge::cli_internal {
namespace {

// --- serve ----------------------------------------------------------------------------

// Stop drains `server` and exits within `grace` + 1 s whatever its handlers do. gRPC
// cancels the calls still running at the end of the grace period, and database work
// stops with them (db::CallInterrupt), but a handler that ignores cancellation would
// keep Server::Shutdown waiting forever. So the drain runs on its own thread, and if
// it has not finished by grace + 0.9 s the process writes what it can (the request
// log's queue, the status row) within the remaining time and exits anyway. In the
// default durable request-log mode every answered call's row is already committed.
int Stop(Server& server, status::ServerStatusReporter& reporter, std::chrono::milliseconds grace) {
  const auto give_up = std::chrono::steady_clock::now() + grace + std::chrono::milliseconds(900);
  struct Drain {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
  };
  auto drain = std::make_shared<Drain>();
  std::thread([&server, &reporter, drain, give_up] {
    // The status writes may wait for a writer lock a stuck handler holds: bound them.
    db::CallInterrupt bounded(give_up, nullptr);
    reporter.MarkStopping();
    server.Shutdown();
    reporter.MarkStopped();
    std::lock_guard<std::mutex> lock(drain->mu);
    drain->done = true;
    drain->cv.notify_all();
  }).detach();
  std::unique_lock<std::mutex> lock(drain->mu);
  if (drain->cv.wait_until(lock, give_up, [&] { return drain->done; })) return 0;
  lock.unlock();
  RPCFORGE_LOG_WARN("server",
                    "{} handler(s) still running after the {} ms grace period; exiting without "
                    "them",
                    server.dispatcher().busy_workers(), grace.count());
  if (db::GroupCommit* commit = server.group_commit())
    commit->FlushFor(std::chrono::milliseconds(80));
  std::fflush(nullptr);
  std::_Exit(0);
}

// kDevChildEnv marks the server `serve --dev` runs (and restarts).
constexpr const char* kDevChildEnv = "RPCFORGE_SERVE_DEV_CHILD";

int Serve(CommandEnv& env, const std::string& admin_flag) {
  const std::string admin_address = !admin_flag.empty() ? admin_flag : env.config.admin().address();
  LimitMallocArenas();
  ServerSettings settings = ServerSettings::FromConfig(env.config);
  // Termination signals are blocked in every thread (gRPC's threads inherit the mask)
  // and taken synchronously here, so shutdown runs on an ordinary thread.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto database = OpenDatabase(env, OpenMode::kCreate);
  // Under `serve --dev` a schema problem is a warning: the developer is mid-change.
  const bool dev_child = std::getenv(kDevChildEnv) != nullptr;
  const std::vector<std::string> problems = SchemaProblems(env, database.get());
  for (const auto& p : problems) {
    if (dev_child) {
      RPCFORGE_LOG_WARN("server", "{}", p);
    } else {
      *env.err << "error: " << p << "\n";
    }
  }
  if (!problems.empty() && !dev_child) {
    *env.err << "error: the database does not match the models; not serving\n";
    return 1;
  }
  ServerEnv server_env;
  server_env.config = &env.config;
  server_env.database = database.get();
  auto server = Server::Start(*env.app, settings, server_env);
  auto reporter = status::ServerStatusReporter::ForServer(*database, env.app->clock(), *server,
                                                          *env.app, &env.config);
  std::unique_ptr<admin::AdminServer> admin_server;
  if (!admin_address.empty()) {
    admin::AdminOptions options;
    options.address = admin_address;
    options.cert_chain_file = settings.tls.cert_chain_file;
    options.private_key_file = settings.tls.private_key_file;
    options.heartbeat_interval = config::HeartbeatInterval(env.config);
    admin_server = admin::AdminServer::Start(*database, env.app->clock(), server.get(), options);
  }
  // The server logged "started: N service(s) on ADDRESS (pid P)"; scripts wait for this
  // one line on stdout (and the admin one, when there is an admin port).
  if (admin_server) *env.out << "admin listening on " << admin_server->url() << "\n";
  *env.out << "listening on " << server->address() << std::endl;

  int sig = 0;
  sigwait(&signals, &sig);
  RPCFORGE_LOG_INFO("server", "received {}, draining calls", sig == SIGINT ? "SIGINT" : "SIGTERM");
  admin_server.reset();  // before the server it reads
  return Stop(*server, *reporter, settings.shutdown_grace);
}

// --- serve --dev ----------------------------------------------------------------------

struct FileStamp {
  bool exists = false;
  struct timespec mtime {};
  off_t size = 0;
  ino_t inode = 0;
  bool operator!=(const FileStamp& o) const {
    return exists != o.exists || mtime.tv_sec != o.mtime.tv_sec ||
           mtime.tv_nsec != o.mtime.tv_nsec || size != o.size || inode != o.inode;
  }
};

FileStamp Stamp(const std::string& path) {
  FileStamp s;
  struct stat st {};
  if (!path.empty() && stat(path.c_str(), &st) == 0) {
    s.exists = true;
    s.mtime = st.st_mtim;
    s.size = st.st_size;
    s.inode = st.st_ino;
  }
  return s;
}

pid_t SpawnChild(const std::string& binary, const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, nullptr);
    setenv(kDevChildEnv, "1", 1);
    execv(binary.c_str(), argv.data());
    std::perror("exec");
    _exit(127);
  }
  return pid;
}

// StopChild sends SIGTERM and waits up to `grace`, then SIGKILL.
int StopChild(pid_t pid, std::chrono::milliseconds grace) {
  kill(pid, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid, &status, WNOHANG) == pid) return status;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return status;
}

int ServeDev(CommandEnv& env) {
  const std::string binary = SelfPath();
  if (binary.empty()) throw FailedPrecondition("serve --dev: cannot find this binary's path");
  std::vector<std::string> args;
  for (const auto& a : env.argv) {
    if (a != "--dev") args.push_back(a);
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  const auto grace = ShutdownGraceOf(env) + std::chrono::seconds(2);

  FileStamp binary_stamp = Stamp(binary);
  FileStamp config_stamp = Stamp(env.config_file);
  pid_t child = SpawnChild(binary, args);
  RPCFORGE_LOG_INFO("dev", "watching {}{}{}; server pid {}", binary,
                    env.config_file.empty() ? "" : " and ", env.config_file, child);
  const timespec poll{0, 200 * 1000 * 1000};
  for (;;) {
    int sig = sigtimedwait(&signals, nullptr, &poll);
    if (sig == SIGINT || sig == SIGTERM) {
      if (child > 0) StopChild(child, grace);
      return 0;
    }
    if (child > 0) {
      int status = 0;
      if (waitpid(child, &status, WNOHANG) == child) {
        RPCFORGE_LOG_WARN("dev", "server exited ({}); waiting for a change to restart",
                          WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status));
        child = -1;
      }
    }
    FileStamp b = Stamp(binary), c = Stamp(env.config_file);
    if (b != binary_stamp || c != config_stamp) {
      // A binary being rewritten by the linker changes several times; let it settle.
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      binary_stamp = Stamp(binary);
      config_stamp = Stamp(env.config_file);
      RPCFORGE_LOG_INFO("dev", "change detected, restarting the server");
      if (child > 0) StopChild(child, grace);
      child = SpawnChild(binary, args);
    }
  }
}

// --- check ----------------------------------------------------------------------------

// CheckMigrations prints the schema problems (and apps without migration files) and
// returns how many problems there are. It opens the database only when it exists.
int CheckMigrations(CommandEnv& env) {
  std::unique_ptr<db::Database> database;
  const std::string path = config::DatabasePath(env.config);
  if (!path.empty() && path != ":memory:" && std::filesystem::exists(path)) {
    database = OpenDatabase(env);
  }
  const std::vector<std::string> problems = SchemaProblems(env, database.get());
  for (const auto& p : problems) *env.err << "error: " << p << "\n";
  for (const auto& app : db::UnwrittenMigrationApps(db::Registry::Global())) {
    *env.out << "warning: app '" << app
             << "' has no migration files (its tables are created from the models as they are "
                "now, so a model change goes unnoticed); run `"
             << env.app->name() << " makemigrations " << app << "`\n";
  }
  if (problems.empty()) *env.out << "migrations: ok\n";
  return static_cast<int>(problems.size());
}

int Check(CommandEnv& env) {
  std::ostream& out = *env.out;
  out << "config: ok" << (env.config_file.empty() ? " (defaults)" : " (" + env.config_file + ")")
      << "\n";
  ServerSettings settings = ServerSettings::FromConfig(env.config);
  const auto& names =
      settings.middlewares.empty() ? env.app->DefaultMiddlewares() : settings.middlewares;
  try {
    env.app->CheckMiddlewareNames(names);
  } catch (const Error& e) {
    *env.err << "error: middlewares: " << e.message() << "\n";
    return 1;
  }
  std::vector<std::shared_ptr<Service>> services;
  for (const auto& s : env.app->services()) {
    if (config::ServiceEnabled(env.config, s->service_full_name())) services.push_back(s);
  }
  for (const auto& name : settings.enabled_services) {
    bool found = false;
    for (const auto& s : env.app->services()) found |= name == s->service_full_name();
    if (!found) {
      *env.err << "error: enabled_services: unknown service '" << name << "'\n";
      return 1;
    }
  }
  int problems = 0;
  out << "address: " << settings.address << (settings.tls.enabled() ? " (TLS)" : "") << "\n";
  out << "middlewares: ";
  for (size_t i = 0; i < names.size(); ++i) out << (i ? ", " : "") << names[i];
  out << "\nservices (" << services.size() << "):\n";
  int unimplemented = 0;
  for (const auto& s : services) {
    out << "  " << s->service_full_name() << "\n";
    const std::vector<MethodInfo>& methods = s->methods();
    for (size_t i = 0; i < methods.size(); ++i) {
      const MethodInfo& m = methods[i];
      out << "    " << std::left << std::setw(28) << m.method << RpcKindName(m.kind);
      if (m.descriptor == nullptr) {
        out << "  (no descriptor!)";
        ++problems;
      }
      if (i < s->implemented().size() && !s->implemented()[i]) {
        out << "  (no handler: answers UNIMPLEMENTED)";
        ++unimplemented;
      }
      out << "\n";
    }
  }
  if (services.empty()) out << "  (none registered)\n";
  problems += CheckMigrations(env);
  if (unimplemented > 0) {
    out << "warning: " << unimplemented << " method(s) have no handler and answer UNIMPLEMENTED\n";
  }
  return problems == 0 ? 0 : 1;
}

}  // namespace

std::string SelfPath() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return "";
  buf[n] = '\0';
  return buf;
}

int LimitMallocArenas() {
#if defined(__GLIBC__) && defined(M_ARENA_MAX)
  if (std::getenv("MALLOC_ARENA_MAX") != nullptr) return 0;
  constexpr int kArenas = 2;
  return mallopt(M_ARENA_MAX, kArenas) == 1 ? kArenas : 0;
#else
  return 0;
#endif
}

std::chrono::milliseconds ShutdownGraceOf(const CommandEnv& env) {
  return config::ShutdownGrace(env.config);
}

void RegisterServeCommands() {
  RegisterCommand(
      {"serve", "Run the gRPC server until SIGINT/SIGTERM", 10, [](CLI::App& sub) {
         auto address = std::make_shared<std::string>();
         auto admin_address = std::make_shared<std::string>();
         auto dev = std::make_shared<bool>(false);
         sub.add_option("--address", *address,
                        "host:port to listen on (port 0: the kernel picks one)");
         sub.add_option("--admin-address", *admin_address,
                        "host:port of the admin HTTP port (JSON API, /metrics; admin.address)");
         sub.add_flag("--dev", *dev, "restart the server when the binary or the config changes");
         // The lambda owns the option storage: CLI11 writes into it during parsing.
         return [dev, address, admin_address](CommandEnv& env) {
           return *dev ? ServeDev(env) : Serve(env, *admin_address);
         };
       }});
  RegisterCommand({"check", "Validate the config and list services and their methods", 20,
                   [](CLI::App&) { return [](CommandEnv& env) { return Check(env); }; }});
}

}  // namespace rpcforge::cli_internal
