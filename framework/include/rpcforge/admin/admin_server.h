// SPDX-License-Identifier: Apache-2.0
// rpcforge::admin::AdminServer is the admin HTTP port: a JSON API over the request log,
// the server instances and the API keys, and Prometheus metrics. `serve
// --admin-address HOST:PORT` (or the config key admin.address) starts one beside the
// gRPC server; it is off by default.
//
//   auto admin = rpcforge::admin::AdminServer::Start(db, clock, server.get(), options);
//   // curl -H "x-api-key: $STAFF_KEY" http://127.0.0.1:8081/api/v1/overview?hours=24
//
// Every path except /api/v1/health needs the API key of an active staff or superuser
// user in `x-api-key`: 401 without a valid key, 403 for a key whose user is neither.
//   GET /api/v1/health                       {"status": "ok", "time": ...}
//   GET /api/v1/overview?hours=24            totals, success rate, p50/p95/p99, per service and
//   method GET /api/v1/requests?service=&method=&code=&user=&since=&until=&page_size=&page_token=
//   GET /api/v1/timeline?hours=24&bucket=hour|day
//   GET /api/v1/instances                    the server-status table
//   GET /api/v1/keys                         API keys with their usage (never the key)
//   GET /metrics                             Prometheus text exposition
// docs/operations.md describes each answer.
#ifndef RPCFORGE_ADMIN_ADMIN_SERVER_H_
#define RPCFORGE_ADMIN_ADMIN_SERVER_H_

#include <chrono>
#include <memory>
#include <string>

#include "rpcforge/clock.h"
#include "rpcforge/export.h"

namespace rpcforge {
class Server;
namespace db {
class Database;
}  // namespace db
}  // namespace rpcforge

namespace rpcforge::admin {

struct AdminOptions {
  // "HOST:PORT" or "[IPv6]:PORT"; port 0 lets the kernel choose.
  std::string address = "127.0.0.1:0";
  // TLS, like the gRPC port: both files, or neither (plain HTTP).
  std::string cert_chain_file;
  std::string private_key_file;
  // The server-status heartbeat, to tell running instances from dead ones.
  std::chrono::milliseconds heartbeat_interval{std::chrono::seconds(10)};
  // Threads answering requests; each serves one connection at a time (a browser opens
  // up to six), and lets an idle kept-alive one go after a second.
  int threads = 8;
};

// AdminServer serves until it is destroyed. Thread-safe; the Database, the Clock and
// the Server must outlive it.
class RPCFORGE_EXPORT AdminServer {
 public:
  // Start binds `options.address` and begins answering. `server` (may be null) gives
  // the call metrics and in-flight counts of /metrics. Throws rpcforge::InvalidArgument
  // for a bad address and rpcforge::Unavailable when it cannot be bound.
  static std::unique_ptr<AdminServer> Start(db::Database& db, const Clock& clock, Server* server,
                                            AdminOptions options);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // address is the bound "HOST:PORT" (the real port); url is "http://HOST:PORT" (https
  // with TLS).
  const std::string& address() const;
  std::string url() const;

  class Impl;

 private:
  explicit AdminServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// MetricsText renders the Prometheus text exposition /metrics answers.
RPCFORGE_EXPORT std::string MetricsText(Server* server, const db::Database& db);

}  // namespace rpcforge::admin

#endif  // RPCFORGE_ADMIN_ADMIN_SERVER_H_
