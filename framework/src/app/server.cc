// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/server/server.h"

#include <arpa/inet.h>
#include <grpc/grpc.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/impl/codegen/service_type.h>
#include <grpcpp/impl/server_builder_option.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/support/client_interceptor.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>

#include "app/journal_replay.h"
#include "core/logging.h"
#include "core/strings.h"
#include "rpcforge/app.h"
#include "rpcforge/config/config.h"
#include "rpcforge/db/database.h"
#include "rpcforge/db/group_commit.h"
#include "rpcforge/db/journal.h"
#include "rpcforge/errors.h"
#include "rpcforge/server/dispatcher.h"
#include "rpcforge/server/internal/grpc_streams.h"
#include "rpcforge/server/internal/tsan.h"
#include "rpcforge/server/service.h"
#include "server/commit_options.h"
#include "server/grpc_log.h"

namespace rpcforge {
namespace {

// Turns reflection on or off for one builder. Loading libgrpc++_reflection registers
// its plugin for every server in the process, so "off" must remove it, and "on" adds
// it only when that registration has not happened.
class ReflectionOption final : public grpc::ServerBuilderOption {
 public:
  explicit ReflectionOption(bool enabled) : enabled_(enabled) {}
  void UpdateArguments(grpc::ChannelArguments*) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>* plugins) override {
    const std::string name = grpc::reflection::ProtoServerReflectionPlugin().name();
    auto is_reflection = [&](const auto& p) { return p && p->name() == name; };
    const bool present = std::any_of(plugins->begin(), plugins->end(), is_reflection);
    if (!enabled_) {
      plugins->erase(std::remove_if(plugins->begin(), plugins->end(), is_reflection),
                     plugins->end());
    } else if (!present) {
      plugins->push_back(std::make_unique<grpc::reflection::ProtoServerReflectionPlugin>());
    }
  }

 private:
  bool enabled_;
};

// FinishReactor ends a generic call at once with `status`.
class FinishReactor final : public grpc::ServerGenericBidiReactor {
 public:
  explicit FinishReactor(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

// UnknownMethods answers calls to methods no registered service has. gRPC would answer
// them UNIMPLEMENTED before any middleware ran; here they go through the pipeline
// with a handler that throws Unimplemented, so the request log, signals and auth see
// them like every other call. It runs on one of gRPC's callback threads, briefly.
class UnknownMethods final : public grpc::CallbackGenericService {
 public:
  explicit UnknownMethods(Dispatcher* dispatcher) : dispatcher_(dispatcher) {}

  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* ctx) override {
    MethodInfo method;
    method.full_name = ctx->method();
    if ((method.full_name.empty() || method.full_name == "/") && ctx->peer() == "unknown") {
      // Under load gRPC now and then hands over a call with no path and no peer: a
      // stream that died (deadline, cancellation) before its headers were read. No
      // client waits for the answer and no method was asked for, so it is not logged.
      return new FinishReactor(grpc::Status(grpc::StatusCode::CANCELLED, "The call ended"));
    }
    // "/pkg.Service/Method"; anything else keeps the whole path as the method.
    const size_t slash = method.full_name.find('/', 1);
    if (!method.full_name.empty() && method.full_name[0] == '/' && slash != std::string::npos) {
      method.service = method.full_name.substr(1, slash - 1);
      method.method = method.full_name.substr(slash + 1);
    } else {
      method.method = method.full_name;
    }
    method.kind = RpcKind::kBidiStreaming;  // unknown; nothing is read or written
    const std::string message = "Method not found: " + method.full_name;
    const grpc::Status status = dispatcher_->Dispatch(
        ctx, method, nullptr, [&message](ServerCall&) { throw Unimplemented(message); });
    return new FinishReactor(status);
  }

 private:
  Dispatcher* dispatcher_;
};

std::string ReadFile(const std::string& path, const char* what) {
  std::string text;
  if (!strings::ReadFile(path, &text)) {
    throw InvalidArgument(std::string("Cannot read ") + what + " file '" + path + "'");
  }
  return text;
}

std::shared_ptr<grpc::ServerCredentials> MakeCredentials(const TlsSettings& tls) {
  if (!tls.enabled()) {
    if (!tls.private_key_file.empty() || !tls.client_ca_file.empty()) {
      throw InvalidArgument("TLS needs a certificate chain file");
    }
    return grpc::InsecureServerCredentials();
  }
  grpc::SslServerCredentialsOptions options;
  options.pem_key_cert_pairs.push_back({ReadFile(tls.private_key_file, "TLS private key"),
                                        ReadFile(tls.cert_chain_file, "TLS certificate chain")});
  if (!tls.client_ca_file.empty()) {
    options.pem_root_certs = ReadFile(tls.client_ca_file, "TLS client CA");
    options.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(options);
}

}  // namespace

ServerSettings ServerSettings::FromConfig(const config::v1::Config& c) {
  ServerSettings s;
  s.address = config::ListenAddress(c);
  s.max_workers = config::MaxWorkers(c);
  s.max_concurrent_rpcs = config::MaxConcurrentRpcs(c);
  s.access_log = c.logging().access_log();
  s.shutdown_grace = config::ShutdownGrace(c);
  s.max_receive_message_length = config::MaxReceiveMessageBytes(c);
  s.max_send_message_length = config::MaxSendMessageBytes(c);
  s.keepalive_time = config::KeepaliveTime(c);
  s.keepalive_timeout = config::KeepaliveTimeout(c);
  s.keepalive_permit_without_calls = config::KeepalivePermitWithoutCalls(c);
  s.tls.cert_chain_file = c.server().tls().cert_chain_file();
  s.tls.private_key_file = c.server().tls().private_key_file();
  s.tls.client_ca_file = c.server().tls().client_ca_file();
  s.reflection = config::ReflectionEnabled(c);
  s.health = config::HealthEnabled(c);
  s.middlewares.assign(c.middlewares().begin(), c.middlewares().end());
  s.enabled_services.assign(c.enabled_services().begin(), c.enabled_services().end());
  return s;
}

std::string ExplainBindFailure(const std::string& address) {
  std::string host;
  int port_number = 0;
  if (!config::ParseHostPort(address, &host, &port_number)) {
    return "malformed address (expected host:port)";
  }
  const std::string port = std::to_string(port_number);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0) return std::string("cannot resolve host '") + host + "': " + gai_strerror(rc);
  std::string why;
  for (addrinfo* ai = res; ai != nullptr && why.empty(); ai = ai->ai_next) {
    int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0) continue;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      switch (errno) {
        case EADDRINUSE:
          why = "address already in use";
          break;
        case EACCES:
          why = "permission denied (ports below 1024 need privileges)";
          break;
        case EADDRNOTAVAIL:
          why = "address not assignable (no such local address)";
          break;
        default:
          why = std::strerror(errno);
      }
    }
    close(fd);
  }
  freeaddrinfo(res);
  return why;
}

struct Server::Impl {
  App* app = nullptr;
  ServerSettings settings;
  ServerEnv env;
  // Before the dispatcher: the pipeline's middlewares write through it; the journal
  // before both, as the group commit's last batches mark it applied.
  std::unique_ptr<db::Journal> journal;
  std::unique_ptr<db::GroupCommit> group_commit;
  std::shared_ptr<const Pipeline> pipeline;  // also the dispatcher's
  std::unique_ptr<Dispatcher> dispatcher;
  std::vector<std::unique_ptr<grpc::Service>> adapters;
  std::unique_ptr<UnknownMethods> unknown_methods;
  std::unique_ptr<grpc::Server> server;
  std::string address;
  int port = 0;
  std::vector<std::string> services;
  log::Level lifecycle_level = log::Level::kInfo;

  std::mutex mu;
  std::condition_variable done_cv;
  bool shutdown_started = false;
  bool shutdown_done = false;
};

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() { Shutdown(std::chrono::milliseconds(0)); }

std::unique_ptr<Server> Server::Start(App& app, const ServerSettings& settings,
                                      const ServerEnv& env) {
  server_internal::RouteProtobufLogs();
  server_internal::RouteGrpcLogs();
  auto impl = std::make_unique<Impl>();
  impl->app = &app;
  impl->settings = settings;
  impl->env = env;
  impl->lifecycle_level = env.quiet ? log::Level::kDebug : log::Level::kInfo;
  const Clock* clock = env.clock ? env.clock : &app.clock();

  // Which services.
  std::vector<std::shared_ptr<Service>> services;
  for (const std::string& name : settings.enabled_services) {
    auto it = std::find_if(app.services().begin(), app.services().end(),
                           [&](const auto& s) { return name == s->service_full_name(); });
    if (it == app.services().end()) {
      std::string known;
      for (const auto& s : app.services()) {
        known += (known.empty() ? "" : ", ") + std::string(s->service_full_name());
      }
      throw InvalidArgument("enabled_services: unknown service '" + name +
                            "' (registered: " + (known.empty() ? "none" : known) + ")");
    }
    services.push_back(*it);
  }
  if (settings.enabled_services.empty()) services = app.services();

  // The pipeline and the dispatcher.
  if (env.database != nullptr) {
    db::GroupCommit::Options commit = server_internal::CommitOptionsFromConfig(env.config);
    if (commit.mode == db::GroupCommitMode::kDurable && env.journal && !env.database->in_memory()) {
      server_internal::ReplayJournals(*env.database, app);
      try {
        impl->journal = db::Journal::Open(*env.database);
      } catch (const Error& e) {
        RPCFORGE_LOG_WARN("server", "{}; calls will wait for their log rows to commit",
                          e.message());
      }
      commit.journal = impl->journal.get();
    }
    impl->group_commit = std::make_unique<db::GroupCommit>(*env.database, commit);
  }
  MiddlewareEnv menv;
  menv.clock = clock;
  menv.database = env.database;
  menv.group_commit = impl->group_commit.get();
  menv.signals = &app.signals();
  menv.max_concurrent_rpcs = settings.max_concurrent_rpcs;
  menv.config = env.config;
  DispatcherOptions dopts;
  impl->pipeline = app.BuildPipeline(
      settings.middlewares.empty() ? app.DefaultMiddlewares() : settings.middlewares, menv);
  dopts.pipeline = impl->pipeline;
  dopts.clock = clock;
  dopts.database = env.database;
  dopts.max_workers = settings.max_workers;
  dopts.access_log = settings.access_log;
  if (env.config != nullptr) dopts.limits = config::Limits(*env.config);
  impl->dispatcher = std::make_unique<Dispatcher>(std::move(dopts));

  grpc::EnableDefaultHealthCheckService(settings.health);
  grpc::ServerBuilder builder;
  builder.SetOption(std::make_unique<ReflectionOption>(settings.reflection));
  // gRPC's sync server keeps at most MAX_POLLERS idle threads (default 2) and starts
  // a new one whenever every poller is busy, so handlers that wait (a durable log
  // commit, the database) made it create and destroy a thread per call. Keep one
  // poller per worker instead.
  const int pollers = std::max(2, settings.max_workers);
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MIN_POLLERS,
                              std::min(pollers, 4));
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS, pollers);
  // Without this, gRPC sets SO_REUSEPORT and two servers silently share a port.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  if (settings.max_receive_message_length != -1) {
    builder.SetMaxReceiveMessageSize(settings.max_receive_message_length);
  }
  if (settings.max_send_message_length != -1) {
    builder.SetMaxSendMessageSize(settings.max_send_message_length);
  }
  if (settings.keepalive_time.count() > 0) {
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS,
                               static_cast<int>(settings.keepalive_time.count()));
  }
  if (settings.keepalive_timeout.count() > 0) {
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                               static_cast<int>(settings.keepalive_timeout.count()));
  }
  if (settings.keepalive_permit_without_calls) {
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    builder.AddChannelArgument(
        GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
        static_cast<int>(std::max<int64_t>(1000, settings.keepalive_time.count())));
  }
  int selected_port = 0;
  std::string host;
  int configured_port = 0;
  if (!settings.address.empty()) {
    if (!config::ParseHostPort(settings.address, &host, &configured_port)) {
      throw InvalidArgument("Bad listen address '" + settings.address +
                            "' (expected host:port, e.g. 127.0.0.1:50051 or [::1]:0)");
    }
    builder.AddListeningPort(settings.address, MakeCredentials(settings.tls), &selected_port);
  }
  for (const auto& service : services) {
    impl->adapters.push_back(service->CreateAdapter(*impl->dispatcher));
    builder.RegisterService(impl->adapters.back().get());
    impl->services.emplace_back(service->service_full_name());
  }
  impl->unknown_methods = std::make_unique<UnknownMethods>(impl->dispatcher.get());
  builder.RegisterCallbackGenericService(impl->unknown_methods.get());
  {
    server_internal::QuietGrpcErrors quiet;  // a bind failure is explained below, in one line
    impl->server = builder.BuildAndStart();
  }
  if (!impl->server || (!settings.address.empty() && selected_port == 0)) {
    std::string why = settings.address.empty() ? "" : ExplainBindFailure(settings.address);
    if (why.empty()) why = "gRPC could not start the server";
    throw Unavailable("Cannot listen on " + settings.address + ": " + why);
  }
  if (!settings.address.empty()) {
    impl->port = selected_port;
    impl->address = (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
                    std::to_string(selected_port);
  }
  auto server = std::unique_ptr<Server>(new Server(std::move(impl)));
  server->SetServing(true);
  RPCFORGE_LOG(server->impl_->lifecycle_level, "server", "started: {} service(s) on {} (pid {})",
               server->impl_->services.size(),
               server->impl_->address.empty() ? "in-process only" : server->impl_->address,
               getpid());
  return server;
}

const std::string& Server::address() const { return impl_->address; }
int Server::port() const { return impl_->port; }

std::shared_ptr<grpc::Channel> Server::InProcessChannel() const {
  return InProcessChannel(grpc::ChannelArguments());
}

std::shared_ptr<grpc::Channel> Server::InProcessChannel(const grpc::ChannelArguments& args) const {
  auto interceptors = server_internal::TsanChannelInterceptors();
  if (interceptors.empty()) return impl_->server->InProcessChannel(args);
  return impl_->server->experimental().InProcessChannelWithInterceptors(args,
                                                                        std::move(interceptors));
}

void Server::SetServing(bool serving) {
  if (!impl_->settings.health) return;
  auto* health = impl_->server->GetHealthCheckService();
  if (health == nullptr) return;
  health->SetServingStatus(serving);
  for (const auto& name : impl_->services) health->SetServingStatus(name, serving);
}

void Server::Shutdown() { Shutdown(impl_->settings.shutdown_grace); }

void Server::Shutdown(std::chrono::milliseconds grace) {
  std::unique_lock<std::mutex> lock(impl_->mu);
  if (impl_->shutdown_started) {
    impl_->done_cv.wait(lock, [&] { return impl_->shutdown_done; });
    return;
  }
  impl_->shutdown_started = true;
  lock.unlock();

  RPCFORGE_LOG(impl_->lifecycle_level, "server", "shutting down (grace {} ms)", grace.count());
  SetServing(false);
  impl_->server->Shutdown(std::chrono::system_clock::now() + grace);
  impl_->server->Wait();
  // Every call has finished: write what the middlewares queued (the request log's rows,
  // on their own group commit or the server's) before reporting stopped.
  if (impl_->pipeline) impl_->pipeline->Flush();
  if (impl_->group_commit) impl_->group_commit->Flush();
  impl_->app->RunShutdownHooks();
  RPCFORGE_LOG(impl_->lifecycle_level, "server", "stopped");

  lock.lock();
  impl_->shutdown_done = true;
  impl_->done_cv.notify_all();
}

void Server::Wait() {
  std::unique_lock<std::mutex> lock(impl_->mu);
  impl_->done_cv.wait(lock, [&] { return impl_->shutdown_done; });
}

Dispatcher& Server::dispatcher() { return *impl_->dispatcher; }

db::GroupCommit* Server::group_commit() { return impl_->group_commit.get(); }

const std::vector<std::string>& Server::registered_services() const { return impl_->services; }

namespace server_internal {

db::GroupCommit::Options CommitOptionsFromConfig(const config::v1::Config* config) {
  const config::v1::Config defaults;
  const config::v1::Config& c = config ? *config : defaults;
  db::GroupCommit::Options o;
  o.mode = config::RequestLogDurable(c) ? db::GroupCommitMode::kDurable
                                        : db::GroupCommitMode::kWriteBehind;
  o.max_pending = static_cast<size_t>(std::max(1, config::RequestLogQueueSize(c)));
  o.batch_size = static_cast<size_t>(std::max(1, config::RequestLogBatchSize(c)));
  return o;
}

}  // namespace server_internal

}  // namespace rpcforge
