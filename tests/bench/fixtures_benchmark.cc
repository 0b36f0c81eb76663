// SPDX-License-Identifier: Apache-2.0
// Per-test overhead of the transactional fixtures: what SetUp + TearDown of one test
// cost in TestCase (savepoint + rollback on the pinned connection) and in
// TransactionTestCase (flush of every table), against an empty test body.
#include <benchmark/benchmark.h>

#include <functional>

#include "rpcforge/db/model.h"
#include "rpcforge/db/query.h"
#include "rpcforge/db/registry.h"
#include "rpcforge/fixtures/test_case.h"

namespace {

namespace db = ::rpcforge::db;

const db::Model& Note() {
  static const db::Model* m = new db::Model("benchfx.note", {db::TextField("text")});
  return *m;
}

RPCFORGE_REGISTER_APP(benchfx, [](db::App& app) { app.AddModel(Note()); });

// Runner drives a fixture's per-test hooks the way gtest does, outside gtest.
template <typename Fixture>
class Runner : public Fixture {
 public:
  void RunOneTest(const std::function<void()>& body) {
    this->SetUp();
    body();
    this->TearDown();
  }
  static db::Database& Db() { return Fixture::db(); }

 private:
  void TestBody() override {}
};

void InsertOne() {
  Note().Objects(Runner<rpcforge::fixtures::TestCase>::Db()).Create({{"text", "x"}});
}

void BM_PerTest_Baseline_EmptyBody(benchmark::State& state) {
  const std::function<void()> body = [] {};
  for (auto _ : state) body();
}
BENCHMARK(BM_PerTest_Baseline_EmptyBody);

void BM_PerTest_TestCase_EmptyBody(benchmark::State& state) {
  Runner<rpcforge::fixtures::TestCase> runner;
  for (auto _ : state) runner.RunOneTest([] {});
  rpcforge::fixtures::TestCase::TearDownTestSuite();
}
BENCHMARK(BM_PerTest_TestCase_EmptyBody);

void BM_PerTest_TestCase_InsertOneRow(benchmark::State& state) {
  Runner<rpcforge::fixtures::TestCase> runner;
  for (auto _ : state) runner.RunOneTest(InsertOne);
  rpcforge::fixtures::TestCase::TearDownTestSuite();
}
BENCHMARK(BM_PerTest_TestCase_InsertOneRow);

void BM_PerTest_TransactionTestCase_EmptyBody(benchmark::State& state) {
  Runner<rpcforge::fixtures::TransactionTestCase> runner;
  for (auto _ : state) runner.RunOneTest([] {});
}
BENCHMARK(BM_PerTest_TransactionTestCase_EmptyBody);

void BM_PerTest_TransactionTestCase_InsertOneRow(benchmark::State& state) {
  Runner<rpcforge::fixtures::TransactionTestCase> runner;
  for (auto _ : state) runner.RunOneTest(InsertOne);
}
BENCHMARK(BM_PerTest_TransactionTestCase_InsertOneRow);

}  // namespace

BENCHMARK_MAIN();
