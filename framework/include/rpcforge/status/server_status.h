// SPDX-License-Identifier: Apache-2.0
// Server status: one `rpcforge_serverstatus` row per running instance
// ("host:port:pid"), kept current by a heartbeat, so operators (`app status`) and other
// instances see which servers are alive and what they serve.
//
//   auto server = rpcforge::Server::Start(app, settings, env);
//   auto reporter = rpcforge::status::ServerStatusReporter::ForServer(
//       db, clock, *server, app, &config);          // starting -> running + heartbeat
//   ...
//   reporter->MarkStopping();
//   server->Shutdown();
//   reporter->MarkStopped();                        // stopped, stopped_at set
//
// Lifecycle of a row: starting -> running -> stopping -> stopped, or error (with a
// message) on failure. Starting an instance marks earlier rows of the same address
// (host:port) that still claim to be starting, running or stopping as stopped with the
// message "replaced". An instance is running while its heartbeat is younger than three
// heartbeat intervals (`IsRunning`).
#ifndef RPCFORGE_STATUS_SERVER_STATUS_H_
#define RPCFORGE_STATUS_SERVER_STATUS_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "rpcforge/clock.h"
#include "rpcforge/export.h"

namespace rpcforge::config::v1 {
class Config;
}  // namespace rpcforge::config::v1

namespace rpcforge::db {
class Database;
}  // namespace rpcforge::db

namespace rpcforge {
class App;
class Server;
}  // namespace rpcforge

namespace rpcforge::status {

// ServiceDescription is one served service and the bare names of its methods.
struct ServiceDescription {
  std::string name;                  // "blog.v1.PostService"
  std::vector<std::string> methods;  // "ListPosts", ...
};

// ServerStatusOptions describe the instance a reporter stands for.
struct ServerStatusOptions {
  std::string host;  // "127.0.0.1", "::1" (no brackets), "inproc"
  int port = 0;
  int64_t pid = 0;  // 0 = this process
  std::chrono::milliseconds heartbeat_interval = std::chrono::seconds(30);
  // Start the background heartbeat thread in MarkRunning. Tests with a FakeClock
  // leave it off and call Heartbeat() themselves.
  bool heartbeat_thread = true;
  std::vector<ServiceDescription> services;
};

// ServerStatusReporter writes this instance's row. Every method catches database
// errors (a missing table, a locked file), logs them and returns false: reporting must
// never take the server down. Thread-safe. The Database and Clock must outlive it; the
// destructor stops the heartbeat thread (it does not change the row: a process that
// dies without MarkStopped is found out by its stale heartbeat).
class RPCFORGE_EXPORT ServerStatusReporter {
 public:
  ServerStatusReporter(db::Database& db, const Clock& clock, ServerStatusOptions options);
  ~ServerStatusReporter();
  ServerStatusReporter(const ServerStatusReporter&) = delete;
  ServerStatusReporter& operator=(const ServerStatusReporter&) = delete;

  // ForServer describes a started `server` (its address, the services it serves with
  // their methods from `app`, the heartbeat interval of `config`, null = defaults),
  // then calls Start() and MarkRunning(). An in-process-only server is host "inproc",
  // port 0.
  static std::unique_ptr<ServerStatusReporter> ForServer(db::Database& db, const Clock& clock,
                                                         const Server& server, const App& app,
                                                         const config::v1::Config* config,
                                                         bool heartbeat_thread = true);

  // Start marks earlier live rows of the same address "replaced" and writes this
  // instance's row (status starting, started_at now, services), replacing a row with
  // the same instance id.
  bool Start();
  // MarkRunning sets status running and the heartbeat, and starts the heartbeat thread.
  bool MarkRunning();
  // Heartbeat sets last_heartbeat to the clock's Now() (the thread calls it every
  // interval). Every status change and heartbeat puts the row back (with a warning)
  // when someone deleted it while the instance runs; each returns false, logging why,
  // only when the database refused.
  bool Heartbeat();
  // MarkStopping stops the heartbeat thread and sets status stopping.
  bool MarkStopping();
  // MarkStopped sets status stopped and stopped_at.
  bool MarkStopped();
  // MarkError stops the heartbeat thread and sets status error with `message`.
  bool MarkError(const std::string& message);

  // instance_id is "host:port:pid" ("[::1]:50051:42" for IPv6 hosts).
  const std::string& instance_id() const { return instance_id_; }
  const ServerStatusOptions& options() const { return options_; }

 private:
  bool SetStatus(const std::string& status, const std::string& message, bool stopped_at);
  // RecreateRow writes this instance's row again with `status` (deleted meanwhile).
  void RecreateRow(const std::string& status, const std::string& message, bool stopped_at);
  void StopThread();
  void Run();

  db::Database& db_;
  const Clock& clock_;
  const ServerStatusOptions options_;
  std::string instance_id_;
  Clock::TimePoint started_at_;  // set by Start
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

// ServerInstance is one row of the status table, read back.
struct ServerInstance {
  std::string instance_id;
  std::string host;
  int port = 0;
  int64_t pid = 0;
  std::string status;
  Clock::TimePoint started_at;
  std::optional<Clock::TimePoint> last_heartbeat;
  std::optional<Clock::TimePoint> stopped_at;
  std::string error_message;
  std::vector<ServiceDescription> services;
  bool is_running = false;  // see IsRunning
};

// IsRunning: status is starting or running and the heartbeat (or, before the first
// one, the start) is younger than three `heartbeat_interval`s at `now`.
RPCFORGE_EXPORT bool IsRunning(const ServerInstance& instance, Clock::TimePoint now,
                               std::chrono::milliseconds heartbeat_interval);

// ListServerInstances reads every row, newest start first, with is_running computed at
// `clock.Now()`. Throws what the database throws.
RPCFORGE_EXPORT std::vector<ServerInstance> ListServerInstances(
    db::Database& db, const Clock& clock, std::chrono::milliseconds heartbeat_interval);

// InstanceId formats "host:port:pid", bracketing IPv6 hosts.
RPCFORGE_EXPORT std::string InstanceId(const std::string& host, int port, int64_t pid);

}  // namespace rpcforge::status

#endif  // RPCFORGE_STATUS_SERVER_STATUS_H_
