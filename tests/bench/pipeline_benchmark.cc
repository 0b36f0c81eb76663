// SPDX-License-Identifier: Apache-2.0
// A unary call through rpcforge's TestServer (whole pipeline) vs the same service as a
// bare grpc++ service on InProcessChannel, and a direct FakeContext call. The handler
// does the same work in all three: copy the request's message into the response.
#include <benchmark/benchmark.h>
#include <grpcpp/client_context.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <rpcforge/app.h>
#include <rpcforge/auth/api_keys.h>
#include <rpcforge/db/database.h>
#include <rpcforge/db/migrate.h>
#include <rpcforge/db/registry.h>
#include <rpcforge/server/call_metrics.h>
#include <rpcforge/server/method.h>
#include <rpcforge/testing/fake_context.h>
#include <rpcforge/testing/test_server.h>
#include <stdlib.h>

#include <filesystem>
#include <sstream>

#include "server/testdata/echo.grpc.pb.h"
#include "server/testdata/echo.rpcforge.h"

namespace {

using rpcforge::test::EchoRequest;
using rpcforge::test::EchoResponse;
using rpcforge::test::EchoService;

class LeanEcho : public rpcforge::test::EchoServiceBase {
 public:
  EchoResponse Echo(rpcforge::Context&, const EchoRequest& req) override {
    EchoResponse r;
    r.set_message(req.message());
    return r;
  }
};

class BareEcho final : public EchoService::Service {
 public:
  grpc::Status Echo(grpc::ServerContext*, const EchoRequest* req, EchoResponse* resp) override {
    resp->set_message(req->message());
    return grpc::Status::OK;
  }
};

EchoRequest Request() {
  EchoRequest req;
  req.set_message("hello, benchmark");
  return req;
}

void RunCalls(benchmark::State& state, EchoService::Stub& stub) {
  const EchoRequest req = Request();
  for (auto _ : state) {
    grpc::ClientContext ctx;
    EchoResponse resp;
    grpc::Status s = stub.Echo(&ctx, req, &resp);
    if (!s.ok()) state.SkipWithError(s.error_message().c_str());
    benchmark::DoNotOptimize(resp);
  }
}

void BM_Unary_Baseline_BareGrpcInProcess(benchmark::State& state) {
  BareEcho service;
  grpc::ServerBuilder builder;
  builder.RegisterService(&service);
  auto server = builder.BuildAndStart();
  auto stub = EchoService::NewStub(server->InProcessChannel(grpc::ChannelArguments()));
  RunCalls(state, *stub);
  server->Shutdown();
}
BENCHMARK(BM_Unary_Baseline_BareGrpcInProcess)->UseRealTime();

void RunPipeline(benchmark::State& state, const std::string& middlewares) {
  rpcforge::App app;
  app.AddService<LeanEcho>();
  rpcforge::testing::TestServerOptions options;
  options.app = &app;
  options.config = {{"middlewares", middlewares}, {"server.reflection", "false"}};
  rpcforge::testing::TestServer server(options);
  auto stub = server.Stub<EchoService>();
  RunCalls(state, *stub);
}

void BM_Unary_RpcforgeDefaultPipeline(benchmark::State& state) {
  RunPipeline(state, "max_concurrency,signals");
}
BENCHMARK(BM_Unary_RpcforgeDefaultPipeline)->UseRealTime();

void BM_Unary_RpcforgeSignalsOnly(benchmark::State& state) { RunPipeline(state, "signals"); }
BENCHMARK(BM_Unary_RpcforgeSignalsOnly)->UseRealTime();

// Auth (API key verified per call) and the request log (one row per call, written
// behind) on, against a real SQLite file: compare with BM_Unary_RpcforgeDefaultPipeline.
void RunWithDatabase(benchmark::State& state, const std::string& middlewares) {
  char dir[] = "/tmp/rpcforge-bench-XXXXXX";
  if (mkdtemp(dir) == nullptr) {
    state.SkipWithError("mkdtemp failed");
    return;
  }
  const std::string path = std::string(dir) + "/bench.sqlite3";
  {
    rpcforge::db::DatabaseOptions options;
    options.path = path;
    rpcforge::db::Database db(options);
    std::ostringstream ignored;
    rpcforge::db::Migrate(db, rpcforge::db::Registry::Global(), ignored);
    auto user = rpcforge::auth::CreateUser(db, {"bench", ""});
    const std::string key = rpcforge::auth::CreateApiKey(db, user, "bench").key;

    rpcforge::App app;
    app.AddService<LeanEcho>();
    rpcforge::testing::TestServerOptions server_options;
    server_options.app = &app;
    server_options.database = &db;
    server_options.config = {{"middlewares", middlewares},
                             {"auth.require_auth", "true"},
                             {"server.reflection", "false"}};
    rpcforge::testing::TestServer server(server_options);
    auto stub = server.Stub<EchoService>();
    const EchoRequest req = Request();
    for (auto _ : state) {
      grpc::ClientContext ctx;
      ctx.AddMetadata("x-api-key", key);
      EchoResponse resp;
      grpc::Status s = stub->Echo(&ctx, req, &resp);
      if (!s.ok()) state.SkipWithError(s.error_message().c_str());
      benchmark::DoNotOptimize(resp);
    }
  }
  std::filesystem::remove_all(dir);
}

void BM_Unary_RpcforgeAuthAndRequestLog(benchmark::State& state) {
  RunWithDatabase(state, "max_concurrency,signals,request_logging,auth");
}
BENCHMARK(BM_Unary_RpcforgeAuthAndRequestLog)->UseRealTime();

void BM_Unary_RpcforgeAuthOnly(benchmark::State& state) {
  RunWithDatabase(state, "max_concurrency,signals,auth");
}
BENCHMARK(BM_Unary_RpcforgeAuthOnly)->UseRealTime();

void BM_Unary_RpcforgeRequestLogOnly(benchmark::State& state) {
  RunWithDatabase(state, "max_concurrency,signals,request_logging");
}
BENCHMARK(BM_Unary_RpcforgeRequestLogOnly)->UseRealTime();

// A direct handler call: what a FakeContext unit test costs.
void BM_Direct_Baseline_PlainFunction(benchmark::State& state) {
  const EchoRequest req = Request();
  for (auto _ : state) {
    EchoResponse r;
    r.set_message(req.message());
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_Direct_Baseline_PlainFunction);

void BM_Direct_FakeContextCall(benchmark::State& state) {
  LeanEcho echo;
  const EchoRequest req = Request();
  for (auto _ : state) {
    rpcforge::testing::FakeContext ctx;
    benchmark::DoNotOptimize(echo.Echo(ctx, req));
  }
}
BENCHMARK(BM_Direct_FakeContextCall);

// What the dispatcher adds to every call for the admin port's /metrics: one Record (a
// shared lock, three relaxed atomic adds), beside the whole in-process call above.
void BM_CallMetrics_Record(benchmark::State& state) {
  static rpcforge::CallMetrics metrics;
  static const rpcforge::MethodInfo method = [] {
    rpcforge::MethodInfo m;
    m.full_name = "/rpcforge.test.EchoService/Echo";
    return m;
  }();
  for (auto _ : state) metrics.Record(method, 0, std::chrono::microseconds(40));
}
BENCHMARK(BM_CallMetrics_Record)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
