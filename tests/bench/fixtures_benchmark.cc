// SPDX-License-Identifier: Apache-2.0
// Per-test overhead of the transactional fixtures: what SetUp + TearDown of one test
// cost in TestCase (savepoint + rollback on the pinned connection) and in
// TransactionTestCase (flush of every table), against an empty test body; on the
// PostgreSQL server RPCFORGE_TEST_DATABASE names, against bare libpq's savepoint pair.
#include <benchmark/benchmark.h>
#include <libpq-fe.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>

#include "rpcforge/db/database.h"
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

// The testing library runs on the database RPCFORGE_TEST_DATABASE names (SQLite when
// unset). On PostgreSQL the group is PerTestPostgres and its baseline is the least a
// rolled-back test costs there, over bare libpq on the same server: SAVEPOINT and
// ROLLBACK TO in an open transaction, two round trips.
bool OnPostgres() {
  const char* url = std::getenv("RPCFORGE_TEST_DATABASE");
  return url != nullptr && db::IsPostgresUrl(url);
}

void EmptyBodyBaseline(benchmark::State& state) {
  const std::function<void()> body = [] {};
  for (auto _ : state) body();
}

void Expect(PGconn* conn, PGresult* result) {
  const ExecStatusType status = PQresultStatus(result);
  PQclear(result);
  if (status != PGRES_COMMAND_OK) {
    std::fprintf(stderr, "baseline: %s", PQerrorMessage(conn));
    std::exit(1);
  }
}

void SavepointRollbackBaseline(benchmark::State& state) {
  PGconn* conn = PQconnectdb(std::getenv("RPCFORGE_TEST_DATABASE"));
  if (PQstatus(conn) != CONNECTION_OK) {
    state.SkipWithError(PQerrorMessage(conn));
    PQfinish(conn);
    return;
  }
  Expect(conn, PQexec(conn, "BEGIN"));
  for (auto _ : state) {
    Expect(conn, PQexec(conn, "SAVEPOINT test"));
    Expect(conn, PQexec(conn, "ROLLBACK TO SAVEPOINT test"));
  }
  Expect(conn, PQexec(conn, "ROLLBACK"));
  PQfinish(conn);
}

void TestCaseEmptyBody(benchmark::State& state) {
  Runner<rpcforge::fixtures::TestCase> runner;
  for (auto _ : state) runner.RunOneTest([] {});
  rpcforge::fixtures::TestCase::TearDownTestSuite();
}

void TestCaseInsertOneRow(benchmark::State& state) {
  Runner<rpcforge::fixtures::TestCase> runner;
  for (auto _ : state) runner.RunOneTest(InsertOne);
  rpcforge::fixtures::TestCase::TearDownTestSuite();
}

void TransactionTestCaseEmptyBody(benchmark::State& state) {
  Runner<rpcforge::fixtures::TransactionTestCase> runner;
  for (auto _ : state) runner.RunOneTest([] {});
}

void TransactionTestCaseInsertOneRow(benchmark::State& state) {
  Runner<rpcforge::fixtures::TransactionTestCase> runner;
  for (auto _ : state) runner.RunOneTest(InsertOne);
}

}  // namespace

int main(int argc, char** argv) {
  const bool pg = OnPostgres();
  const std::string group = pg ? "BM_PerTestPostgres_" : "BM_PerTest_";
  if (pg) {
    benchmark::RegisterBenchmark((group + "Baseline_SavepointRollback").c_str(),
                                 SavepointRollbackBaseline);
  } else {
    benchmark::RegisterBenchmark((group + "Baseline_EmptyBody").c_str(), EmptyBodyBaseline);
  }
  benchmark::RegisterBenchmark((group + "TestCase_EmptyBody").c_str(), TestCaseEmptyBody);
  benchmark::RegisterBenchmark((group + "TestCase_InsertOneRow").c_str(), TestCaseInsertOneRow);
  benchmark::RegisterBenchmark((group + "TransactionTestCase_EmptyBody").c_str(),
                               TransactionTestCaseEmptyBody);
  benchmark::RegisterBenchmark((group + "TransactionTestCase_InsertOneRow").c_str(),
                               TransactionTestCaseInsertOneRow);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
