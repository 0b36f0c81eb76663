// SPDX-License-Identifier: Apache-2.0
// What one test of django-grpc-framework's tutorial suite costs (create a Post,
// Retrieve it through the stub, check the title) in RpcTestCase and
// RpcTransactionTestCase over the blog sample, against a same-run baseline doing the
// same work with no framework: the same SQL through SQLiteCpp and a raw grpc++
// in-process call to a bare Retrieve. Each iteration is one whole test (SetUp, body,
// TearDown), as gtest runs it. ci/bench prints the ratios and checks the targets:
// RpcTestCase <= 150 us per test, RpcTransactionTestCase <= 700 us.
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <benchmark/benchmark.h>
#include <grpcpp/client_context.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

#include "blog/v1/post.grpc.pb.h"
#include "post_service.h"
#include "rpcforge/fixtures/rpc_test_case.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(what);
}

// The tutorial test's body, through whichever fixture runs it.
template <typename Fixture>
class Tutorial : public Fixture {
 public:
  void RunOneTest() {
    this->SetUp();
    const rpcforge::db::Row post =
        blog::PostModel().Objects(this->db()).Create({{"title", "Hello"}, {"content", "World"}});
    auto stub = this->template Stub<blog::v1::PostController>();
    grpc::ClientContext ctx;
    blog::v1::PostRetrieveRequest request;
    request.set_id(post["id"].AsInt());
    blog::v1::Post reply;
    Check(stub->Retrieve(&ctx, request, &reply).ok(), "Retrieve failed");
    Check(reply.title() == "Hello", "wrong title");
    this->TearDown();
  }

 private:
  void TestBody() override {}
};

// The baseline: a bare grpc++ Retrieve over one SQLiteCpp connection.
class BareRetrieve final : public blog::v1::PostController::Service {
 public:
  explicit BareRetrieve(SQLite::Database& db) : db_(db) {}
  grpc::Status Retrieve(grpc::ServerContext*, const blog::v1::PostRetrieveRequest* req,
                        blog::v1::Post* resp) override {
    std::lock_guard<std::mutex> lock(mu_);
    SQLite::Statement q(db_, "SELECT id, title, content FROM post WHERE id = ?");
    q.bind(1, static_cast<int64_t>(req->id()));
    if (!q.executeStep()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "not found");
    resp->set_id(q.getColumn(0).getInt64());
    resp->set_title(q.getColumn(1).getString());
    resp->set_content(q.getColumn(2).getString());
    return grpc::Status::OK;
  }

 private:
  SQLite::Database& db_;
  std::mutex mu_;
};

void BM_TutorialTest_Baseline_SqlAndRawGrpc(benchmark::State& state) {
  const std::string path =
      (std::filesystem::temp_directory_path() / "rpcforge_bench_tutorial.sqlite3").string();
  std::filesystem::remove(path);
  SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  db.exec("PRAGMA journal_mode=WAL");
  db.exec("CREATE TABLE post (id INTEGER PRIMARY KEY, title TEXT, content TEXT)");
  BareRetrieve service(db);
  grpc::ServerBuilder builder;
  builder.RegisterService(&service);
  auto server = builder.BuildAndStart();
  auto stub = blog::v1::PostController::NewStub(server->InProcessChannel(grpc::ChannelArguments()));
  for (auto _ : state) {
    // A plain gtest of the same test: its own transaction, rolled back after it.
    db.exec("BEGIN");
    SQLite::Statement insert(db, "INSERT INTO post (title, content) VALUES ('Hello', 'World')");
    insert.exec();
    blog::v1::PostRetrieveRequest request;
    request.set_id(db.getLastInsertRowid());
    grpc::ClientContext ctx;
    blog::v1::Post reply;
    // The handler runs on another thread, on the same connection (as a pinned test's).
    Check(stub->Retrieve(&ctx, request, &reply).ok(), "Retrieve failed");
    Check(reply.title() == "Hello", "wrong title");
    db.exec("ROLLBACK");
  }
  server->Shutdown();
  std::filesystem::remove(path);
}
BENCHMARK(BM_TutorialTest_Baseline_SqlAndRawGrpc);

void BM_TutorialTest_RpcTestCase(benchmark::State& state) {
  Tutorial<rpcforge::fixtures::RpcTestCase> test;
  for (auto _ : state) test.RunOneTest();
  rpcforge::fixtures::RpcTestCase::TearDownTestSuite();
}
BENCHMARK(BM_TutorialTest_RpcTestCase);

void BM_TutorialTest_RpcTransactionTestCase(benchmark::State& state) {
  Tutorial<rpcforge::fixtures::RpcTransactionTestCase> test;
  for (auto _ : state) test.RunOneTest();
  rpcforge::fixtures::RpcTransactionTestCase::TearDownTestSuite();
}
BENCHMARK(BM_TutorialTest_RpcTransactionTestCase);

}  // namespace

BENCHMARK_MAIN();
