// SPDX-License-Identifier: Apache-2.0
// The blog's PostController as a ModelService (no handler code) vs a hand-written
// rpcforge handler doing the same SQL, both through the in-process channel with the
// same pipeline, on the same migrated database file: what the generic layer
// (reflection serializer, lookup, query building) costs per Retrieve, and per List of
// 1000 streamed rows.
#include <benchmark/benchmark.h>
#include <grpcpp/client_context.h>
#include <rpcforge/app.h>
#include <rpcforge/db/database.h>
#include <rpcforge/db/migrate.h>
#include <rpcforge/db/registry.h>
#include <rpcforge/errors.h>
#include <rpcforge/testing/test_server.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "blog/v1/post.grpc.pb.h"
#include "post_service.h"

namespace {

using blog::v1::Post;
using blog::v1::PostController;

// The hand-written baseline: the same statements the generic service runs, and the
// same conversions, written out by hand.
class HandWrittenPosts : public blog::v1::PostControllerBase {
 public:
  Post Retrieve(rpcforge::Context& ctx, const blog::v1::PostRetrieveRequest& request) override {
    const auto rows = ctx.db().Query(
        "SELECT \"id\", \"title\", \"content\", \"created\" FROM \"blog_post\" WHERE \"id\" = ?",
        {request.id()});
    if (rows.empty())
      throw rpcforge::NotFound("Post: " + std::to_string(request.id()) + " not found");
    Post post;
    Fill(rows[0], &post);
    return post;
  }

  void List(rpcforge::Context& ctx, const blog::v1::PostListRequest&,
            rpcforge::Writer<Post>& writer) override {
    bool open = true;
    ctx.db().QueryEach(
        "SELECT \"id\", \"title\", \"content\", \"created\" FROM \"blog_post\" ORDER BY \"id\"", {},
        [&](const rpcforge::db::Row& row) {
          if (!open) return;
          Post post;
          Fill(row, &post);
          open = writer.Write(post);
        });
  }

 private:
  static void Fill(const rpcforge::db::Row& row, Post* post) {
    post->set_id(row.at(0).AsInt());
    post->set_title(row.at(1).AsText());
    post->set_content(row.at(2).AsText());
    const auto since = row.at(3).AsTime().time_since_epoch();
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since);
    post->mutable_created()->set_seconds(seconds.count());
    post->mutable_created()->set_nanos(static_cast<int32_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(since - seconds).count()));
  }
};

std::string& BenchDir() {
  static std::string dir;
  return dir;
}

// One migrated database file with 1000 posts, shared by every benchmark; its
// directory is removed at exit.
rpcforge::db::Database& SharedDatabase() {
  static rpcforge::db::Database* db = [] {
    char dir_template[] = "/tmp/rpcforge_model_bench_XXXXXX";
    const std::string dir = mkdtemp(dir_template);
    BenchDir() = dir;
    auto* d = new rpcforge::db::Database(rpcforge::db::DatabaseOptions{dir + "/bench.sqlite3"});
    std::ostringstream log;
    rpcforge::db::Migrate(*d, rpcforge::db::Registry::Global(), log);
    std::vector<rpcforge::db::Values> rows;
    for (int i = 0; i < 1000; ++i) {
      rows.push_back({{"title", "Post " + std::to_string(i)}, {"content", std::string(200, 'x')}});
    }
    blog::PostModel().Objects(*d).BulkCreate(rows);
    std::atexit([] { std::filesystem::remove_all(BenchDir()); });
    return d;
  }();
  return *db;
}

template <class Service>
std::unique_ptr<rpcforge::testing::TestServer> StartServer(rpcforge::App& app) {
  app.AddService<Service>();
  rpcforge::testing::TestServerOptions options;
  options.app = &app;
  options.database = &SharedDatabase();
  options.config = {{"middlewares", "max_concurrency,signals"}, {"server.reflection", "false"}};
  return std::make_unique<rpcforge::testing::TestServer>(options);
}

template <class Service>
void RunRetrieve(benchmark::State& state) {
  rpcforge::App app;
  std::unique_ptr<rpcforge::testing::TestServer> server = StartServer<Service>(app);
  auto stub = server->Stub<PostController>();
  blog::v1::PostRetrieveRequest request;
  int64_t id = 0;
  for (auto _ : state) {
    request.set_id(1 + (id++ % 1000));
    grpc::ClientContext ctx;
    Post post;
    const grpc::Status s = stub->Retrieve(&ctx, request, &post);
    if (!s.ok()) state.SkipWithError(s.error_message().c_str());
    benchmark::DoNotOptimize(post);
  }
}

template <class Service>
void RunList(benchmark::State& state) {
  rpcforge::App app;
  std::unique_ptr<rpcforge::testing::TestServer> server = StartServer<Service>(app);
  auto stub = server->Stub<PostController>();
  for (auto _ : state) {
    grpc::ClientContext ctx;
    auto reader = stub->List(&ctx, blog::v1::PostListRequest());
    Post post;
    int64_t n = 0;
    while (n < 2000 && reader->Read(&post)) ++n;
    const grpc::Status s = reader->Finish();
    if (!s.ok() || n != 1000) state.SkipWithError("List did not return 1000 posts");
  }
  state.SetItemsProcessed(state.iterations() * 1000);
}

void BM_Retrieve_Baseline_HandWritten(benchmark::State& state) {
  RunRetrieve<HandWrittenPosts>(state);
}
BENCHMARK(BM_Retrieve_Baseline_HandWritten)->UseRealTime();

void BM_Retrieve_ModelService(benchmark::State& state) { RunRetrieve<blog::PostService>(state); }
BENCHMARK(BM_Retrieve_ModelService)->UseRealTime();

void BM_List1000_Baseline_HandWritten(benchmark::State& state) { RunList<HandWrittenPosts>(state); }
BENCHMARK(BM_List1000_Baseline_HandWritten)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_List1000_ModelService(benchmark::State& state) { RunList<blog::PostService>(state); }
BENCHMARK(BM_List1000_ModelService)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
