// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/testing/test_server.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/client_interceptor.h>

#include <algorithm>

#include "rpcforge/config/config.h"
#include "rpcforge/errors.h"
#include "rpcforge/server/dispatcher.h"
#include "rpcforge/server/internal/tsan.h"

namespace rpcforge::testing {

TestServer::TestServer(App& app)
    : TestServer([&] {
        TestServerOptions options;
        options.app = &app;
        return options;
      }()) {}

TestServer::TestServer(TestServerOptions options)
    : app_(options.app ? options.app : &App::Default()),
      config_(std::make_unique<config::v1::Config>()) {
  config::LoadResult loaded =
      config::LoadString(options.config_yaml, "TestServerOptions.config_yaml");
  for (const auto& [path, value] : options.config) {
    auto errors = config::ApplyOverride(&loaded.config, path, value, "TestServerOptions.config",
                                        &loaded.locations);
    loaded.errors.insert(loaded.errors.end(), errors.begin(), errors.end());
  }
  // The test server has no port of its own; don't let a configured one fail validation.
  loaded.config.mutable_server()->clear_address();
  if (loaded.ok()) {
    auto errors = config::Validate(loaded.config, loaded.locations);
    loaded.errors.insert(loaded.errors.end(), errors.begin(), errors.end());
  }
  if (!loaded.ok()) throw InvalidArgument("TestServer config: " + loaded.ErrorText());
  *config_ = std::move(loaded.config);

  ServerSettings settings = ServerSettings::FromConfig(*config_);
  settings.address = options.listen_on_loopback ? "127.0.0.1:0" : "";
  settings.shutdown_grace = std::min(settings.shutdown_grace, std::chrono::milliseconds(2000));
  ServerEnv env;
  env.clock = options.clock;
  env.database = options.database;
  env.config = config_.get();
  env.quiet = true;
  env.journal = false;  // a call's log row is committed when the call returns
  server_ = Server::Start(*app_, settings, env);
  channel_ = server_->InProcessChannel();
}

TestServer::~TestServer() = default;

bool TestServer::WaitIdle(std::chrono::milliseconds timeout) {
  return server_->dispatcher().WaitIdle(timeout);
}

void TestServer::Reset() { server_->dispatcher().ResetPipeline(); }

std::shared_ptr<grpc::Channel> TestServer::TcpChannel() const {
  if (server_->address().empty()) {
    throw FailedPrecondition("TestServer: TcpChannel() needs listen_on_loopback = true");
  }
  auto interceptors = server_internal::TsanChannelInterceptors();
  if (interceptors.empty()) {
    return grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials());
  }
  return grpc::experimental::CreateCustomChannelWithInterceptors(
      server_->address(), grpc::InsecureChannelCredentials(), grpc::ChannelArguments(),
      std::move(interceptors));
}

}  // namespace rpcforge::testing
