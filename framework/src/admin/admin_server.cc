// SPDX-License-Identifier: Apache-2.0
// The admin HTTP port, on cpp-httplib (Debian's libcpp-httplib-dev): a packaged server
// with a thread pool and OpenSSL TLS, kept out of public headers. Its CPPHTTPLIB_*
// macros come from pkg-config (cmake/RpcforgeDeps.cmake).
#include "rpcforge/admin/admin_server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <thread>

#include "admin/admin_api.h"
#include "core/logging.h"
#include "rpcforge/auth/api_keys.h"
#include "rpcforge/config/config.h"
#include "rpcforge/db/database.h"
#include "rpcforge/errors.h"

namespace rpcforge::admin {
namespace admin_internal {
extern const char kAdminPage[];  // src/admin/page.html, embedded by the build
}  // namespace admin_internal
namespace {

constexpr const char* kJson = "application/json";

std::string ErrorJson(const std::string& message) {
  return nlohmann::json{{"error", message}}.dump();
}

}  // namespace

class AdminServer::Impl {
 public:
  Impl(db::Database& db, const Clock& clock, Server* server, AdminOptions options)
      : db_(db), clock_(clock), server_(server), options_(std::move(options)) {}

  ~Impl() {
    if (http_) http_->stop();
    if (thread_.joinable()) thread_.join();
  }

  void Start() {
    std::string host;
    int port = 0;
    if (!config::ParseHostPort(options_.address, &host, &port)) {
      throw InvalidArgument("admin address '" + options_.address +
                            "' is not HOST:PORT or [IPv6]:PORT");
    }
    const bool tls = !options_.cert_chain_file.empty() || !options_.private_key_file.empty();
    if (tls) {
      auto ssl = std::make_unique<httplib::SSLServer>(options_.cert_chain_file.c_str(),
                                                      options_.private_key_file.c_str());
      if (!ssl->is_valid()) {
        throw InvalidArgument("admin TLS: cannot load the certificate chain '" +
                              options_.cert_chain_file + "' or the private key '" +
                              options_.private_key_file + "'");
      }
      http_ = std::move(ssl);
    } else {
      http_ = std::make_unique<httplib::Server>();
    }
    const int threads = std::max(1, options_.threads);
    http_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    // SO_REUSEADDR only: httplib's default adds SO_REUSEPORT, with which a second
    // server on a busy port would share it silently instead of failing.
    http_->set_socket_options([](socket_t sock) {
      int yes = 1;
      setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    http_->set_payload_max_length(64 * 1024);  // GETs only: no body is needed
    // A worker serves one connection at a time: a browser keeps several open between
    // its requests, so idle ones are let go after a second.
    http_->set_keep_alive_timeout(1);
    http_->set_read_timeout(10);
    http_->set_write_timeout(10);
    Routes();
    const bool bound =
        port == 0 ? (port = http_->bind_to_any_port(host)) > 0 : http_->bind_to_port(host, port);
    if (!bound) {
      throw Unavailable("admin port: cannot listen on " + options_.address + ": " +
                        std::strerror(errno));
    }
    address_ = (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
               std::to_string(port);
    scheme_ = tls ? "https" : "http";
    thread_ = std::thread([this] { http_->listen_after_bind(); });
    // Until the thread runs, stop() would do nothing (and the destructor's join would
    // wait for ever); once it runs, the port accepts. Bounded: 5 s.
    for (int i = 0; i < 5000 && !http_->is_running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (!http_->is_running()) throw Unavailable("admin port: the server thread did not start");
  }

  const std::string& address() const { return address_; }
  std::string url() const { return scheme_ + "://" + address_; }

 private:
  // Authorized answers 401/403 itself and returns false unless the request carries
  // the key of an active staff or superuser user.
  bool Authorized(const httplib::Request& req, httplib::Response& res) {
    const std::string key = req.get_header_value("x-api-key");
    if (key.empty()) {
      res.status = 401;
      res.set_content(ErrorJson("an API key is required (x-api-key)"), kJson);
      return false;
    }
    const auto who = auth::VerifyApiKey(db_, key, clock_);
    if (!who) {
      res.status = 401;
      res.set_content(ErrorJson("Invalid or expired API key"), kJson);
      return false;
    }
    if (!who->user.is_staff && !who->user.is_superuser) {
      res.status = 403;
      res.set_content(ErrorJson("the admin port needs a staff or superuser key"), kJson);
      return false;
    }
    return true;
  }

  // Answer runs `body` for an authorized request, mapping errors to statuses.
  void Answer(const httplib::Request& req, httplib::Response& res, bool needs_key,
              const std::function<std::string(const admin_internal::Param&)>& body,
              const char* type = kJson) {
    try {
      if (needs_key && !Authorized(req, res)) return;
      const admin_internal::Param param = [&req](const char* name) {
        return req.get_param_value(name);
      };
      res.set_content(body(param), type);
    } catch (const InvalidArgument& e) {
      res.status = 400;
      res.set_content(ErrorJson(e.message()), kJson);
    } catch (const std::exception& e) {
      RPCFORGE_LOG_ERROR("admin", "{} failed: {}", req.path, e.what());
      res.status = 500;
      res.set_content(ErrorJson("internal error (see the server log)"), kJson);
    }
  }

  void Routes() {
    using admin_internal::Param;
    auto route = [this](const char* path, bool needs_key,
                        std::function<std::string(const Param&)> body, const char* type = kJson) {
      http_->Get(
          path, [this, needs_key, body, type](const httplib::Request& req, httplib::Response& res) {
            Answer(req, res, needs_key, body, type);
          });
    };
    route("/api/v1/health", false, [this](const Param&) { return admin_internal::Health(clock_); });
    route("/api/v1/overview", true,
          [this](const Param& p) { return admin_internal::Overview(db_, clock_, p); });
    route("/api/v1/requests", true,
          [this](const Param& p) { return admin_internal::Requests(db_, p); });
    route("/api/v1/timeline", true,
          [this](const Param& p) { return admin_internal::Timeline(db_, clock_, p); });
    route("/api/v1/instances", true, [this](const Param&) {
      return admin_internal::Instances(db_, clock_, options_.heartbeat_interval);
    });
    route("/api/v1/keys", true, [this](const Param&) { return admin_internal::Keys(db_, clock_); });
    // The page holds no data (it asks the API with the key it is given), so it is open.
    route(
        "/", false, [](const Param&) { return std::string(admin_internal::kAdminPage); },
        "text/html; charset=utf-8");
    route(
        "/metrics", true, [this](const Param&) { return MetricsText(server_, db_); },
        "text/plain; version=0.0.4; charset=utf-8");
    http_->set_post_routing_handler([](const httplib::Request&, httplib::Response& res) {
      res.set_header("X-Content-Type-Options", "nosniff");
      res.set_header("X-Frame-Options", "DENY");
      res.set_header("Cache-Control", "no-store");
      // The page's own inline script and style, and fetches to this port only.
      res.set_header("Content-Security-Policy",
                     "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                     "connect-src 'self'; img-src 'self'");
    });
    http_->set_error_handler([](const httplib::Request&, httplib::Response& res) {
      if (res.body.empty()) {
        res.set_content(
            ErrorJson(res.status == 404 ? "no such page" : "HTTP " + std::to_string(res.status)),
            kJson);
      }
    });
  }

  db::Database& db_;
  const Clock& clock_;
  Server* server_;
  AdminOptions options_;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  std::string address_;
  std::string scheme_;
};

AdminServer::AdminServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AdminServer::~AdminServer() = default;

std::unique_ptr<AdminServer> AdminServer::Start(db::Database& db, const Clock& clock,
                                                Server* server, AdminOptions options) {
  auto impl = std::make_unique<Impl>(db, clock, server, std::move(options));
  impl->Start();
  RPCFORGE_LOG_INFO("admin", "admin port on {}", impl->url());
  return std::unique_ptr<AdminServer>(new AdminServer(std::move(impl)));
}

const std::string& AdminServer::address() const { return impl_->address(); }
std::string AdminServer::url() const { return impl_->url(); }

}  // namespace rpcforge::admin
