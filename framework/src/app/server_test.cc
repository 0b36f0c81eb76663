// SPDX-License-Identifier: Apache-2.0
// rpcforge::Server: listening, bind errors, health, reflection, enabled services and
// graceful shutdown.
#include "rpcforge/server/server.h"

#include <gmock/gmock.h>
#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <sstream>
#include <thread>

#include "grpc/health/v1/health.grpc.pb.h"
#include "rpcforge/app.h"
#include "rpcforge/db/database.h"
#include "rpcforge/db/journal.h"
#include "rpcforge/db/migrate.h"
#include "rpcforge/db/registry.h"
#include "rpcforge/errors.h"
#include "rpcforge/middleware/builtins.h"
#include "rpcforge/server/dispatcher.h"
#include "rpcforge/testing/log_capture.h"
#include "server/testdata/echo.grpc.pb.h"
#include "server/testdata/echo_service.h"
#include "src/proto/grpc/reflection/v1alpha/reflection.grpc.pb.h"

using rpcforge::test::EchoRequest;
using rpcforge::test::EchoResponse;
using rpcforge::test::EchoService;
using rpcforge_test::EchoImpl;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

namespace {

rpcforge::ServerSettings Loopback() {
  rpcforge::ServerSettings s;
  s.address = "127.0.0.1:0";
  s.shutdown_grace = std::chrono::milliseconds(2000);
  return s;
}

std::shared_ptr<grpc::Channel> Dial(const std::string& address) {
  return grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
}

TEST(Server, ListensOnAKernelChosenPort) {
  rpcforge::App app;
  app.AddService<EchoImpl>();
  auto server = rpcforge::Server::Start(app, Loopback());
  EXPECT_GT(server->port(), 0);
  EXPECT_EQ(server->address(), "127.0.0.1:" + std::to_string(server->port()));
  auto stub = EchoService::NewStub(Dial(server->address()));
  grpc::ClientContext ctx;
  EchoRequest req;
  req.set_message("tcp");
  EchoResponse resp;
  ASSERT_TRUE(stub->Echo(&ctx, req, &resp).ok());
  EXPECT_EQ(resp.message(), "tcp");
}

TEST(Server, ListensOnIpv6Loopback) {
  int probe = socket(AF_INET6, SOCK_STREAM, 0);
  sockaddr_in6 addr{};
  addr.sin6_family = AF_INET6;
  addr.sin6_addr = in6addr_loopback;
  const bool has_v6 =
      probe >= 0 && bind(probe, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  if (probe >= 0) close(probe);
  if (!has_v6) GTEST_SKIP() << "no IPv6 loopback on this machine";
  rpcforge::App app;
  app.AddService<EchoImpl>();
  rpcforge::ServerSettings settings = Loopback();
  settings.address = "[::1]:0";
  auto server = rpcforge::Server::Start(app, settings);
  EXPECT_EQ(server->address(), "[::1]:" + std::to_string(server->port()));
  auto stub = EchoService::NewStub(Dial(server->address()));
  grpc::ClientContext ctx;
  EchoResponse resp;
  ASSERT_TRUE(stub->Echo(&ctx, EchoRequest(), &resp).ok());
  EXPECT_THAT(resp.peer(), ::testing::StartsWith("ipv6:"));
  EXPECT_THAT(resp.peer(), ::testing::HasSubstr("::1"));
}

TEST(Server, AddressInUseIsExplained) {
  rpcforge::App app;
  auto first = rpcforge::Server::Start(app, Loopback());
  rpcforge::ServerSettings settings = Loopback();
  settings.address = first->address();
  try {
    rpcforge::Server::Start(app, settings);
    FAIL() << "second server on the same port started";
  } catch (const rpcforge::Unavailable& e) {
    EXPECT_THAT(e.what(), HasSubstr("address already in use"));
    EXPECT_THAT(e.what(), HasSubstr(first->address()));
  }
}

TEST(Server, AddressNotAssignableIsExplained) {
  rpcforge::App app;
  rpcforge::ServerSettings settings = Loopback();
  settings.address = "192.0.2.1:0";  // TEST-NET-1: never a local address
  try {
    rpcforge::Server::Start(app, settings);
    FAIL() << "started on a foreign address";
  } catch (const rpcforge::Unavailable& e) {
    EXPECT_THAT(e.what(), HasSubstr("address not assignable"));
  }
}

TEST(Server, MalformedAddressIsInvalidArgument) {
  rpcforge::App app;
  rpcforge::ServerSettings settings = Loopback();
  settings.address = "localhost";
  EXPECT_THROW(rpcforge::Server::Start(app, settings), rpcforge::InvalidArgument);
  settings.address = "127.0.0.1:99999";
  EXPECT_THROW(rpcforge::Server::Start(app, settings), rpcforge::InvalidArgument);
}

TEST(ExplainBindFailure, NamesTheReason) {
  EXPECT_EQ(rpcforge::ExplainBindFailure("127.0.0.1:0"), "");
  EXPECT_THAT(rpcforge::ExplainBindFailure("nonsense"), HasSubstr("malformed"));
  EXPECT_THAT(rpcforge::ExplainBindFailure("no-such-host.invalid:80"), HasSubstr("resolve"));
}

TEST(Server, HealthIsServingThenNotServingWhileDraining) {
  rpcforge::App app;
  auto impl = app.AddService<EchoImpl>();
  auto server = rpcforge::Server::Start(app, Loopback());
  auto health = grpc::health::v1::Health::NewStub(Dial(server->address()));
  auto check = [&](const std::string& service) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    grpc::health::v1::HealthCheckRequest req;
    req.set_service(service);
    grpc::health::v1::HealthCheckResponse resp;
    grpc::Status s = health->Check(&ctx, req, &resp);
    return s.ok() ? static_cast<int>(resp.status()) : -static_cast<int>(s.error_code());
  };
  EXPECT_EQ(check(""), grpc::health::v1::HealthCheckResponse::SERVING);
  EXPECT_EQ(check("rpcforge.test.EchoService"), grpc::health::v1::HealthCheckResponse::SERVING);

  // Hold one call in flight, then start shutting down: the call still completes.
  auto stub = EchoService::NewStub(Dial(server->address()));
  auto held = std::async(std::launch::async, [&] {
    grpc::ClientContext ctx;
    EchoRequest req;
    req.set_wait_for_release(true);
    EchoResponse resp;
    return stub->Echo(&ctx, req, &resp);
  });
  ASSERT_TRUE(impl->WaitForWaiting(1));
  auto shutdown = std::async(std::launch::async, [&] { server->Shutdown(); });
  EXPECT_EQ(shutdown.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout);
  impl->Release();
  EXPECT_TRUE(held.get().ok());
  shutdown.get();
}

TEST(Server, GraceExpiryCancelsStragglersAndHooksRunOnce) {
  rpcforge::App app;
  auto impl = app.AddService<EchoImpl>();
  int hooks = 0;
  app.OnShutdown([&] { ++hooks; });
  auto server = rpcforge::Server::Start(app, Loopback());
  auto stub = EchoService::NewStub(Dial(server->address()));
  auto held = std::async(std::launch::async, [&] {
    grpc::ClientContext ctx;
    EchoRequest req;
    req.set_sleep_ms(10000);  // stops early when cancelled
    EchoResponse resp;
    return stub->Echo(&ctx, req, &resp);
  });
  for (int i = 0; i < 400 && server->dispatcher().busy_workers() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const auto start = std::chrono::steady_clock::now();
  server->Shutdown(std::chrono::milliseconds(100));
  server->Shutdown(std::chrono::milliseconds(100));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_FALSE(held.get().ok());
  EXPECT_EQ(hooks, 1);
}

// FlushCounter records when the server flushes it, and what the shutdown hooks saw.
class FlushCounter : public rpcforge::Middleware {
 public:
  grpc::Status Handle(rpcforge::ServerCall& call, rpcforge::Next next) override { return next(); }
  void Flush() override { ++flushes; }
  int flushes = 0;
};

TEST(Server, FlushesItsMiddlewaresWhenItStopsBeforeTheShutdownHooks) {
  rpcforge::App app;
  app.AddService<EchoImpl>();
  auto counter = std::make_shared<FlushCounter>();
  app.RegisterMiddleware("counter", [counter](const rpcforge::MiddlewareEnv&) { return counter; });
  int flushes_seen_by_hook = -1;
  app.OnShutdown([&] { flushes_seen_by_hook = counter->flushes; });
  auto settings = Loopback();
  settings.middlewares = {"counter"};
  auto server = rpcforge::Server::Start(app, settings);
  EXPECT_EQ(counter->flushes, 0);
  server->Shutdown();
  server->Shutdown();  // once only
  EXPECT_EQ(counter->flushes, 1);
  EXPECT_EQ(flushes_seen_by_hook, 1);
}

TEST(Server, ReplaysWhatAGoneProcessJournaledThroughTheAppsAppliers) {
  std::string tmpl =
      (std::filesystem::temp_directory_path() / "rpcforge_server_journal_XXXXXX").string();
  const std::filesystem::path dir = mkdtemp(tmpl.data());
  const std::string path = (dir / "app.sqlite3").string();
  {
    auto db = rpcforge::db::Database::Open(path);
    std::ostringstream ignored;
    rpcforge::db::Migrate(*db, rpcforge::db::Registry::Global(), ignored);
    auto journal = rpcforge::db::Journal::Open(*db);
    EXPECT_GT(journal->Append(9, "first"), 0u);
    EXPECT_GT(journal->Append(9, "second"), 0u);
  }  // the process "dies" before applying them: its journal stays, unlocked
  {
    auto db = rpcforge::db::Database::Open(path);
    rpcforge::App app;
    app.AddService<EchoImpl>();
    std::vector<std::string> applied;
    app.RegisterJournalApplier(9, [&](rpcforge::db::Database&, const std::vector<std::string>& p) {
      applied.insert(applied.end(), p.begin(), p.end());
    });
    rpcforge::ServerEnv env;
    env.database = db.get();
    env.quiet = true;
    auto server = rpcforge::Server::Start(app, Loopback(), env);
    EXPECT_THAT(applied, ElementsAre("first", "second"));
    server->Shutdown();
  }
  // Every App knows how to apply what the built-in middlewares journal.
  rpcforge::App plain;
  EXPECT_EQ(plain.journal_appliers().count(rpcforge::db::kJournalRequestLogRow), 1u);
  EXPECT_EQ(plain.journal_appliers().count(rpcforge::db::kJournalApiKeyUse), 1u);
  std::filesystem::remove_all(dir);
}

TEST(Server, ReflectionListsTheRegisteredServices) {
  rpcforge::App app;
  app.AddService<EchoImpl>();
  auto server = rpcforge::Server::Start(app, Loopback());
  auto stub = grpc::reflection::v1alpha::ServerReflection::NewStub(Dial(server->address()));
  grpc::ClientContext ctx;
  auto stream = stub->ServerReflectionInfo(&ctx);
  grpc::reflection::v1alpha::ServerReflectionRequest req;
  req.set_list_services("");
  ASSERT_TRUE(stream->Write(req));
  grpc::reflection::v1alpha::ServerReflectionResponse resp;
  ASSERT_TRUE(stream->Read(&resp));
  stream->WritesDone();
  std::vector<std::string> names;
  for (const auto& s : resp.list_services_response().service()) names.push_back(s.name());
  EXPECT_THAT(names, UnorderedElementsAre("rpcforge.test.EchoService", "grpc.health.v1.Health",
                                          "grpc.reflection.v1alpha.ServerReflection"));
  EXPECT_TRUE(stream->Finish().ok());
}

TEST(Server, ReflectionAndHealthCanBeTurnedOff) {
  rpcforge::App app;
  app.AddService<EchoImpl>();
  rpcforge::ServerSettings settings = Loopback();
  settings.reflection = false;
  settings.health = false;
  auto server = rpcforge::Server::Start(app, settings);
  auto health = grpc::health::v1::Health::NewStub(Dial(server->address()));
  grpc::ClientContext ctx;
  grpc::health::v1::HealthCheckResponse resp;
  EXPECT_EQ(health->Check(&ctx, {}, &resp).error_code(), grpc::StatusCode::UNIMPLEMENTED);
  auto refl = grpc::reflection::v1alpha::ServerReflection::NewStub(Dial(server->address()));
  grpc::ClientContext rctx;
  auto stream = refl->ServerReflectionInfo(&rctx);
  stream->WritesDone();
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::UNIMPLEMENTED);
}

TEST(Server, EnabledServicesSelectsAndValidates) {
  rpcforge::App app;
  app.AddService<EchoImpl>();
  rpcforge::ServerSettings settings = Loopback();
  settings.enabled_services = {"rpcforge.test.Nope"};
  try {
    rpcforge::Server::Start(app, settings);
    FAIL();
  } catch (const rpcforge::InvalidArgument& e) {
    EXPECT_THAT(e.what(), HasSubstr("rpcforge.test.Nope"));
    EXPECT_THAT(e.what(), HasSubstr("rpcforge.test.EchoService"));
  }
  settings.enabled_services = {"rpcforge.test.EchoService"};
  auto server = rpcforge::Server::Start(app, settings);
  EXPECT_THAT(server->registered_services(), ::testing::ElementsAre("rpcforge.test.EchoService"));
}

TEST(App, RejectsADuplicateService) {
  rpcforge::App app;
  app.AddService<EchoImpl>();
  EXPECT_THROW(app.AddService<EchoImpl>(), rpcforge::AlreadyExists);
}

TEST(App, DefaultMiddlewaresFollowTheBuiltinOrderThenUserOnes) {
  rpcforge::App app;
  app.RegisterMiddleware("mine", [](const rpcforge::MiddlewareEnv&) { return nullptr; });
  auto names = app.DefaultMiddlewares();
  ASSERT_GE(names.size(), 3u);
  EXPECT_EQ(names[0], "max_concurrency");
  EXPECT_EQ(names[1], "signals");
  EXPECT_EQ(names.back(), "mine");
  // Every App registers exactly the built-ins, in the one documented order.
  names.pop_back();
  EXPECT_EQ(names, rpcforge::BuiltinMiddlewareNames());
  EXPECT_EQ(rpcforge::BuiltinMiddlewareNames(),
            (std::vector<std::string>{"max_concurrency", "signals", "request_logging",
                                      "signature_check", "auth", "rate_limit"}));
}

}  // namespace

namespace {

// --- TLS ------------------------------------------------------------------------------

// Creates a CA, a server certificate for 127.0.0.1 and a client certificate with the
// openssl command line, in a fresh directory.
class TlsFiles {
 public:
  TlsFiles() {
    dir_ = ::testing::TempDir() + "/rpcforge_tls_" + std::to_string(getpid());
    const std::string d = dir_;
    const std::string script =
        "set -e; mkdir -p " + d + " && cd " + d +
        " && openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=test-ca"
        " -keyout ca.key -out ca.pem 2>/dev/null"
        " && printf 'subjectAltName=IP:127.0.0.1,DNS:localhost' > san.ext"
        " && openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout server.key"
        " -out server.csr 2>/dev/null"
        " && openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial"
        " -days 2 -extfile san.ext -out server.pem 2>/dev/null"
        " && openssl req -newkey rsa:2048 -nodes -subj /CN=client -keyout client.key"
        " -out client.csr 2>/dev/null"
        " && openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial"
        " -days 2 -out client.pem 2>/dev/null";
    ok_ = std::system(("bash -c \"" + script + "\"").c_str()) == 0;
  }
  ~TlsFiles() { std::system(("rm -rf " + dir_).c_str()); }
  bool ok() const { return ok_; }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  std::string Read(const std::string& name) const {
    std::ifstream in(path(name));
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

 private:
  std::string dir_;
  bool ok_ = false;
};

grpc::Status CallEcho(const std::shared_ptr<grpc::Channel>& channel) {
  auto stub = EchoService::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  EchoResponse resp;
  return stub->Echo(&ctx, EchoRequest(), &resp);
}

TEST(ServerTls, ServesOverTlsAndRequiresClientCertsWithAClientCa) {
  TlsFiles files;
  ASSERT_TRUE(files.ok()) << "openssl failed";
  rpcforge::App app;
  app.AddService<EchoImpl>();
  rpcforge::ServerSettings settings = Loopback();
  settings.tls.cert_chain_file = files.path("server.pem");
  settings.tls.private_key_file = files.path("server.key");
  {
    auto server = rpcforge::Server::Start(app, settings);
    grpc::SslCredentialsOptions opts;
    opts.pem_root_certs = files.Read("ca.pem");
    EXPECT_TRUE(CallEcho(grpc::CreateChannel(server->address(), grpc::SslCredentials(opts))).ok());
    // A plaintext client cannot talk to a TLS server.
    EXPECT_EQ(CallEcho(Dial(server->address())).error_code(), grpc::StatusCode::UNAVAILABLE);
  }
  settings.tls.client_ca_file = files.path("ca.pem");
  auto server = rpcforge::Server::Start(app, settings);
  grpc::SslCredentialsOptions without_cert;
  without_cert.pem_root_certs = files.Read("ca.pem");
  EXPECT_EQ(CallEcho(grpc::CreateChannel(server->address(), grpc::SslCredentials(without_cert)))
                .error_code(),
            grpc::StatusCode::UNAVAILABLE);
  grpc::SslCredentialsOptions with_cert = without_cert;
  with_cert.pem_private_key = files.Read("client.key");
  with_cert.pem_cert_chain = files.Read("client.pem");
  EXPECT_TRUE(
      CallEcho(grpc::CreateChannel(server->address(), grpc::SslCredentials(with_cert))).ok());
}

TEST(ServerTls, UnreadableKeyFileIsAClearError) {
  rpcforge::App app;
  rpcforge::ServerSettings settings = Loopback();
  settings.tls.cert_chain_file = "/nonexistent/server.pem";
  settings.tls.private_key_file = "/nonexistent/server.key";
  try {
    rpcforge::Server::Start(app, settings);
    FAIL();
  } catch (const rpcforge::InvalidArgument& e) {
    EXPECT_THAT(e.what(), HasSubstr("/nonexistent/server"));
  }
}

// --- Health during drain, message limits, lifecycle logs --------------------------

TEST(Server, HealthWatchersSeeNotServingWhenDrainingStarts) {
  rpcforge::App app;
  auto impl = app.AddService<EchoImpl>();
  auto server = rpcforge::Server::Start(app, Loopback());
  auto channel = Dial(server->address());
  auto health = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext watch_ctx;
  watch_ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  grpc::health::v1::HealthCheckRequest req;
  auto watch = health->Watch(&watch_ctx, req);
  grpc::health::v1::HealthCheckResponse update;
  ASSERT_TRUE(watch->Read(&update));
  EXPECT_EQ(update.status(), grpc::health::v1::HealthCheckResponse::SERVING);

  auto stub = EchoService::NewStub(channel);
  auto held = std::async(std::launch::async, [&] {
    grpc::ClientContext ctx;
    EchoRequest r;
    r.set_wait_for_release(true);
    EchoResponse resp;
    return stub->Echo(&ctx, r, &resp);
  });
  ASSERT_TRUE(impl->WaitForWaiting(1));
  auto shutdown = std::async(std::launch::async, [&] { server->Shutdown(); });
  ASSERT_TRUE(watch->Read(&update));
  EXPECT_EQ(update.status(), grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  impl->Release();
  EXPECT_TRUE(held.get().ok());
  watch_ctx.TryCancel();  // the watch is an open call too; end it so draining finishes
  watch->Finish();
  shutdown.get();
}

TEST(Server, MessagesOverTheReceiveLimitAreRejected) {
  rpcforge::App app;
  app.AddService<EchoImpl>();
  rpcforge::ServerSettings settings = Loopback();
  settings.max_receive_message_length = 1024;
  auto server = rpcforge::Server::Start(app, settings);
  auto stub = EchoService::NewStub(Dial(server->address()));
  grpc::ClientContext ctx;
  EchoRequest req;
  req.set_message(std::string(4096, 'x'));
  EchoResponse resp;
  EXPECT_EQ(stub->Echo(&ctx, req, &resp).error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  grpc::ClientContext ctx2;
  req.set_message("small");
  EXPECT_TRUE(stub->Echo(&ctx2, req, &resp).ok());
}

TEST(Server, LogsOneLinePerLifecycleEvent) {
  rpcforge::testing::LogCapture logs;
  rpcforge::App app;
  app.AddService<EchoImpl>();
  {
    auto server = rpcforge::Server::Start(app, Loopback());
    EXPECT_TRUE(logs.Contains("started: 1 service(s) on 127.0.0.1:"));
    EXPECT_FALSE(logs.Contains("listening"));  // stdout's "listening on" is serve's only
  }
  EXPECT_TRUE(logs.Contains("shutting down"));
  EXPECT_TRUE(logs.Contains("stopped"));
}

TEST(Server, QuietServersLogTheirLifecycleAtDebugLevel) {
  rpcforge::testing::LogCapture info(rpcforge::log::Level::kInfo);
  rpcforge::testing::LogCapture debug(rpcforge::log::Level::kDebug);
  rpcforge::App app;
  rpcforge::ServerEnv env;
  env.quiet = true;
  { auto server = rpcforge::Server::Start(app, Loopback(), env); }
  EXPECT_FALSE(info.Contains("started"));
  EXPECT_TRUE(debug.Contains("started"));
  EXPECT_TRUE(debug.Contains("stopped"));
}

}  // namespace
