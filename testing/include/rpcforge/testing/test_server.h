// SPDX-License-Identifier: Apache-2.0
// rpcforge::testing::TestServer runs an application's services, with the whole
// middleware pipeline, in a real grpc::Server with no port; tests talk to it through
// InProcessChannel() with the ordinary generated stubs. No gtest dependency.
//
//   rpcforge::App app;
//   app.AddService<Greeter>();
//   rpcforge::testing::TestServer server(app);
//   auto stub = server.Stub<helloworld::Greeter>();
//   grpc::ClientContext ctx;
//   helloworld::HelloReply reply;
//   grpc::Status status = stub->SayHello(&ctx, request, &reply);
#ifndef RPCFORGE_TESTING_TEST_SERVER_H_
#define RPCFORGE_TESTING_TEST_SERVER_H_

#include <grpcpp/channel.h>

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "rpcforge/app.h"
#include "rpcforge/server/server.h"

namespace rpcforge::testing {

// TestServerOptions: all optional.
struct TestServerOptions {
  App* app = nullptr;                // null = App::Default() (the registered services)
  const Clock* clock = nullptr;      // null = the app's clock (inject a FakeClock here)
  db::Database* database = nullptr;  // handed to every Context (fixtures pass theirs)
  // Config overrides as (dotted key path, value) pairs, exactly like command-line
  // flags: {"server.max_workers", "2"}, {"middlewares", "signals,auth"}. Applied to
  // the defaults (or to `config_yaml`) and validated; a bad key or value throws
  // rpcforge::InvalidArgument naming it. The server's settings and the middlewares'
  // configuration both come from the result, as in production.
  std::vector<std::pair<std::string, std::string>> config;
  // A whole YAML config to start from (as in a config file); empty = defaults.
  std::string config_yaml;
  // Also listen on 127.0.0.1 with a port the kernel picks (for tests that need TCP).
  // server.address is otherwise ignored: the server has no port.
  bool listen_on_loopback = false;
};

// TestServer starts in its constructor and shuts down (draining for at most
// `settings.shutdown_grace`) in its destructor. Thread-safe; many per process are fine.
class TestServer {
 public:
  explicit TestServer(TestServerOptions options = {});
  explicit TestServer(App& app);
  ~TestServer();
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  // channel is a shared in-process channel to the server.
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }

  // Stub returns the ordinary generated stub of `GrpcService` (e.g. helloworld::Greeter)
  // over channel().
  template <class GrpcService>
  std::unique_ptr<typename GrpcService::Stub> Stub() const {
    return GrpcService::NewStub(channel_);
  }

  // address is "127.0.0.1:PORT" when listen_on_loopback, else empty.
  const std::string& address() const { return server_->address(); }
  // TcpChannel is an insecure channel to address(); requires listen_on_loopback.
  std::shared_ptr<grpc::Channel> TcpChannel() const;
  template <class GrpcService>
  std::unique_ptr<typename GrpcService::Stub> TcpStub() const {
    return GrpcService::NewStub(TcpChannel());
  }

  // WaitIdle waits, at most `timeout`, until no call is running; returns whether none
  // is. Reset makes the middlewares forget earlier calls (rate-limit counters, the
  // brute-force guard: Middleware::Reset). The fixtures use both between tests that
  // share a server.
  bool WaitIdle(std::chrono::milliseconds timeout);
  void Reset();

  Server& server() { return *server_; }
  App& app() { return *app_; }
  // config is the effective configuration the server runs with.
  const config::v1::Config& config() const { return *config_; }

 private:
  App* app_;
  std::unique_ptr<config::v1::Config> config_;
  std::unique_ptr<Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace rpcforge::testing

#endif  // RPCFORGE_TESTING_TEST_SERVER_H_
