// SPDX-License-Identifier: Apache-2.0
// rpcforge::Server runs an application's services in a grpc::Server with the whole
// pipeline, health and reflection; listening on an address, or in-process only.
//
//   rpcforge::ServerSettings settings;
//   settings.address = "127.0.0.1:0";              // port 0: the kernel picks one
//   auto server = rpcforge::Server::Start(app, settings);
//   std::cout << "listening on " << server->address() << "\n";
//   server->Wait();                                  // until Shutdown()
#ifndef RPCFORGE_SERVER_SERVER_H_
#define RPCFORGE_SERVER_SERVER_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "rpcforge/clock.h"
#include "rpcforge/export.h"
#include "rpcforge/server/middleware.h"

namespace grpc {
class Channel;
class ChannelArguments;
}  // namespace grpc

namespace rpcforge::config::v1 {
class Config;
}  // namespace rpcforge::config::v1

namespace rpcforge {
class App;
class Dispatcher;
namespace db {
class Database;
class GroupCommit;
}  // namespace db

// TlsSettings: PEM files. A client CA turns on mutual TLS (clients must present a
// certificate it signed).
struct TlsSettings {
  std::string cert_chain_file;
  std::string private_key_file;
  std::string client_ca_file;
  bool enabled() const { return !cert_chain_file.empty(); }
};

// ServerSettings are the server's knobs, normally read from the config file
// (rpcforge::config); tests set them directly.
struct ServerSettings {
  // "host:port" ("[::1]:0" for IPv6; port 0 asks the kernel). Empty: no port, the
  // server is reachable only through InProcessChannel().
  std::string address = "127.0.0.1:50051";
  // Concurrency, in two limits that work together (the one place they are described):
  // max_concurrent_rpcs calls are admitted at once (the `max_concurrency` middleware,
  // first in the chain, answers the next with RESOURCE_EXHAUSTED so clients back off);
  // of those, max_workers run their handler at once (the dispatcher's worker slots)
  // and the rest wait for a slot until their deadline or cancellation. So
  // max_concurrent_rpcs >= max_workers (config validation says so), and the difference
  // is the queue.
  int max_workers = 16;
  int max_concurrent_rpcs = 1000;
  // access_log: one info line per finished call (logging.access_log).
  bool access_log = false;
  std::chrono::milliseconds shutdown_grace{10000};
  int max_receive_message_length = -1;             // bytes; -1 = gRPC default (4 MiB)
  int max_send_message_length = -1;                // bytes; -1 = unlimited
  std::chrono::milliseconds keepalive_time{0};     // 0 = gRPC default
  std::chrono::milliseconds keepalive_timeout{0};  // 0 = gRPC default
  bool keepalive_permit_without_calls = false;
  TlsSettings tls;
  bool reflection = true;
  bool health = true;
  // Middleware names in order; empty = App::DefaultMiddlewares().
  std::vector<std::string> middlewares;
  // Full service names to serve; empty = every registered service.
  std::vector<std::string> enabled_services;

  // FromConfig reads the settings from a configuration (defaults applied by
  // rpcforge::config's accessors); `middlewares` stays empty unless the config lists
  // them, so the App's defaults apply.
  static ServerSettings FromConfig(const config::v1::Config& config);
};

// ServerEnv: what the server shares with the rest of the application. Pointers must
// outlive the server; null clock means Clock::Real().
struct ServerEnv {
  const Clock* clock = nullptr;
  db::Database* database = nullptr;
  const config::v1::Config* config = nullptr;  // for middlewares; null = defaults
  // quiet logs the lifecycle lines (started, shutting down, stopped) at debug level
  // instead of info; TestServer sets it so test output stays readable.
  bool quiet = false;
  // journal: with a durable request log on a database file, journal the rows and
  // API-key uses (rpcforge/db/journal.h) so that calls do not wait for their batch
  // to commit. TestServer turns it off: each call then waits for its commit, so a
  // test sees the row as soon as the call returns.
  bool journal = true;
};

// Server is thread-safe. Destroying it shuts it down (without grace) if still running.
class RPCFORGE_EXPORT Server {
 public:
  // Start builds and starts a server for `app`'s services. Throws rpcforge::Error:
  //   INVALID_ARGUMENT  unknown middleware or service name, bad address;
  //   UNAVAILABLE       the address cannot be bound; the message says why
  //                     ("address already in use", "permission denied",
  //                     "address not assignable").
  static std::unique_ptr<Server> Start(App& app, const ServerSettings& settings,
                                       const ServerEnv& env = {});

  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // address is "host:port" with the real port; empty for an in-process-only server.
  const std::string& address() const;
  int port() const;

  // InProcessChannel returns a channel to this server with no network in between.
  std::shared_ptr<grpc::Channel> InProcessChannel() const;
  std::shared_ptr<grpc::Channel> InProcessChannel(const grpc::ChannelArguments& args) const;

  // Shutdown stops accepting calls, sets health to NOT_SERVING, lets in-flight calls
  // finish for up to `grace` (then cancels them), and runs the app's shutdown hooks
  // once. Idempotent; the first call's grace wins.
  void Shutdown();
  void Shutdown(std::chrono::milliseconds grace);

  // Wait blocks until Shutdown has completed.
  void Wait();

  // SetServing sets the health status of the server and of every service.
  void SetServing(bool serving);

  Dispatcher& dispatcher();
  // group_commit is where the server's request log and API-key usage are written
  // (db/group_commit.h); null when the server has no database.
  db::GroupCommit* group_commit();
  // registered_services lists the full names of the services this server serves.
  const std::vector<std::string>& registered_services() const;

 private:
  struct Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// ExplainBindFailure tries to bind `address` itself and returns why it cannot be
// bound ("address already in use", ...), or "" if it can.
RPCFORGE_EXPORT std::string ExplainBindFailure(const std::string& address);

}  // namespace rpcforge

#endif  // RPCFORGE_SERVER_SERVER_H_
