// SPDX-License-Identifier: Apache-2.0
// Model API vs the same statements through SQLiteCpp alone, on a WAL file database with
// the same pragmas. Pairs share a suffix: BM_Get_Model / BM_Get_Baseline_SQLiteCpp.
// The baseline prepares each statement once and resets it, the best SQLiteCpp can do;
// the difference is the framework's cost (leasing, validation, row conversion).
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <benchmark/benchmark.h>

#include <memory>
#include <sstream>
#include <string>

#include "bench_database.h"
#include "rpcforge/db/database.h"
#include "rpcforge/db/migrate.h"
#include "rpcforge/db/model.h"
#include "rpcforge/db/query.h"
#include "rpcforge/db/registry.h"

namespace {

namespace db = ::rpcforge::db;

constexpr int kRows = 1000;

const db::Model& Item() {
  static const db::Model* m =
      new db::Model("bench.item", {db::CharField("name", 50), db::IntegerField("value").Index()});
  return *m;
}

// Env is a fresh database file holding kRows items, migrated through the Model.
class Env {
 public:
  Env() {
    db::DatabaseOptions options;
    options.path = path_;
    db_ = std::make_unique<db::Database>(options);
    registry_.app("bench").AddModel(Item());
    std::ostringstream out;
    db::Migrate(*db_, registry_, out);
    std::vector<db::Values> rows;
    for (int i = 0; i < kRows; ++i) {
      rows.push_back({{"name", "item" + std::to_string(i)}, {"value", i}});
    }
    Item().Objects(*db_).BulkCreate(rows);
  }
  db::Database& database() { return *db_; }

  // Baseline opens its own connection with the Database's pragmas.
  std::unique_ptr<SQLite::Database> OpenBaseline() const {
    return rpcforge::bench::OpenBaseline(path_);
  }

 private:
  rpcforge::bench::TempDir dir_;
  std::string path_ = dir_.File("bench.sqlite3");
  std::unique_ptr<db::Database> db_;  // closed before dir_ is removed
  db::Registry registry_;
};

void BM_Create_Model(benchmark::State& state) {
  Env env;
  auto items = Item().Objects(env.database());
  int64_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(items.Create({{"name", "new"}, {"value", ++i}}));
  }
}
BENCHMARK(BM_Create_Model);

void BM_Create_Baseline_SQLiteCpp(benchmark::State& state) {
  Env env;
  auto conn = env.OpenBaseline();
  SQLite::Statement insert(*conn, "INSERT INTO bench_item (name, value) VALUES (?, ?)");
  int64_t i = 0;
  for (auto _ : state) {
    insert.bind(1, "new");
    insert.bind(2, ++i);
    insert.exec();
    insert.reset();
    benchmark::DoNotOptimize(conn->getLastInsertRowid());
  }
}
BENCHMARK(BM_Create_Baseline_SQLiteCpp);

void BM_Get_Model(benchmark::State& state) {
  Env env;
  auto items = Item().Objects(env.database());
  int64_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(items.Get("id", 1 + (i++ % kRows)));
  }
}
BENCHMARK(BM_Get_Model);

void BM_Get_Baseline_SQLiteCpp(benchmark::State& state) {
  Env env;
  auto conn = env.OpenBaseline();
  SQLite::Statement get(*conn, "SELECT id, name, value FROM bench_item WHERE id = ? LIMIT 2");
  int64_t i = 0;
  for (auto _ : state) {
    get.bind(1, static_cast<int64_t>(1 + (i++ % kRows)));
    int found = 0;
    while (get.executeStep()) {
      benchmark::DoNotOptimize(get.getColumn(1).getString());
      ++found;
    }
    get.reset();
    benchmark::DoNotOptimize(found);
  }
}
BENCHMARK(BM_Get_Baseline_SQLiteCpp);

void BM_Filter_Model(benchmark::State& state) {
  Env env;
  auto query = Item().Objects(env.database()).Filter("value__lt", 100).OrderBy({"id"}).Limit(50);
  for (auto _ : state) {
    int64_t sum = 0;
    query.ForEach([&](const db::Row& r) { sum += r["value"].AsInt(); });
    benchmark::DoNotOptimize(sum);
  }
}
BENCHMARK(BM_Filter_Model);

void BM_Filter_Baseline_SQLiteCpp(benchmark::State& state) {
  Env env;
  auto conn = env.OpenBaseline();
  SQLite::Statement filter(
      *conn, "SELECT id, name, value FROM bench_item WHERE value < ? ORDER BY id LIMIT ?");
  for (auto _ : state) {
    filter.bind(1, 100);
    filter.bind(2, 50);
    int64_t sum = 0;
    while (filter.executeStep()) sum += filter.getColumn(2).getInt64();
    filter.reset();
    benchmark::DoNotOptimize(sum);
  }
}
BENCHMARK(BM_Filter_Baseline_SQLiteCpp);

}  // namespace

BENCHMARK_MAIN();
