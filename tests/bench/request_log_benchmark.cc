// SPDX-License-Identifier: Apache-2.0
// The request log's writer side, per row: WriteRequestLogs of a batch the size the
// durable blog writes under load (about 360 rows per 20 ms linger at 18,000 calls/s)
// into a WAL file database, against the floor of the same approach: SQLiteCpp alone, on
// the same pragmas, binding the same rows into the same INSERTs, in one transaction.
// The difference is the framework's cost (Values, leasing, scopes).
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>
#include <benchmark/benchmark.h>
#include <rpcforge/clock.h>
#include <rpcforge/db/database.h>
#include <rpcforge/db/migrate.h>
#include <rpcforge/db/registry.h>
#include <rpcforge/logging/request_log.h>

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "bench_database.h"

namespace {

namespace db = ::rpcforge::db;
using ::rpcforge::logging::RequestLogEntry;

constexpr size_t kBatch = 360;

// Batch is kBatch rows like the blog's Retrieve calls under ci/load.
std::vector<RequestLogEntry> Batch() {
  std::vector<RequestLogEntry> rows(kBatch);
  const auto now = rpcforge::Clock::Real().Now();
  for (size_t i = 0; i < kBatch; ++i) {
    RequestLogEntry& e = rows[i];
    e.request_id = rpcforge::logging::NewRequestId();
    e.service = "blog.v1.PostController";
    e.method = "Retrieve";
    e.full_method = "/blog.v1.PostController/Retrieve";
    e.status = "success";
    e.code = "OK";
    e.duration_ms = 0.21;
    e.is_authenticated = true;
    e.peer = "ipv4:127.0.0.1:" + std::to_string(40000 + i % 16);
    e.peer_host = "127.0.0.1";
    e.peer_port = static_cast<int>(40000 + i % 16);
    e.request_messages = 1;
    e.response_messages = 1;
    e.request_size = 2;
    e.response_size = 60;
    e.created_at = now;
    e.completed_at = now;
  }
  return rows;
}

// Renew gives the rows new request ids and times, as new calls have: the ids sort by
// time, so a batch appends at the right edge of each index. (The same ids inserted again
// would land beside their twins all over the index, a dirty page per row.)
void Renew(std::vector<RequestLogEntry>* rows) {
  const auto now = rpcforge::Clock::Real().Now();
  for (RequestLogEntry& e : *rows) {
    e.request_id = rpcforge::logging::NewRequestId();
    e.created_at = now;
    e.completed_at = now;
  }
}

// Env is a fresh database file with the framework's tables.
class Env {
 public:
  Env() {
    db::DatabaseOptions options;
    options.path = path_;
    db_ = std::make_unique<db::Database>(options);
    std::ostringstream out;
    db::Migrate(*db_, db::Registry::Global(), out);
  }
  db::Database& database() { return *db_; }
  const std::string& path() const { return path_; }

 private:
  rpcforge::bench::TempDir dir_;
  std::string path_ = dir_.File("bench.sqlite3");
  std::unique_ptr<db::Database> db_;  // closed before dir_ is removed
};

void BM_RequestLogWrite_Rpcforge(benchmark::State& state) {
  Env env;
  std::vector<RequestLogEntry> rows = Batch();
  for (auto _ : state) {
    state.PauseTiming();
    Renew(&rows);
    state.ResumeTiming();
    rpcforge::logging::WriteRequestLogs(env.database(), rows);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kBatch));
}
BENCHMARK(BM_RequestLogWrite_Rpcforge)->Unit(benchmark::kMicrosecond);

void BM_RequestLogWrite_Baseline_SQLiteCpp(benchmark::State& state) {
  Env env;
  const std::unique_ptr<SQLite::Database> baseline = rpcforge::bench::OpenBaseline(env.path());
  SQLite::Database& conn = *baseline;
  std::string head =
      "INSERT INTO rpcforge_requestlog (request_id, service, method, full_method, status, code, "
      "error_message, duration_ms, user_id, api_key_id, is_authenticated, peer, peer_host, "
      "peer_port, request_messages, response_messages, request_size, response_size, created_at, "
      "completed_at) VALUES ";
  auto shape = [&](size_t n) {
    std::string sql = head;
    for (size_t i = 0; i < n; ++i) {
      sql += i ? ", " : "";
      sql += "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    }
    return sql;
  };
  // The same pieces as request_log.cc: 64, 8 and 1 rows.
  SQLite::Statement sixty_four(conn, shape(64));
  SQLite::Statement eight(conn, shape(8));
  SQLite::Statement one(conn, shape(1));
  std::vector<RequestLogEntry> rows = Batch();
  auto bind = [](SQLite::Statement& st, int at, const RequestLogEntry& e) {
    st.bind(at + 1, e.request_id);
    st.bind(at + 2, e.service);
    st.bind(at + 3, e.method);
    st.bind(at + 4, e.full_method);
    st.bind(at + 5, e.status);
    st.bind(at + 6, e.code);
    st.bind(at + 7, e.error_message);
    st.bind(at + 8, e.duration_ms);
    st.bind(at + 9);
    st.bind(at + 10);
    st.bind(at + 11, e.is_authenticated ? 1 : 0);
    st.bind(at + 12, e.peer);
    st.bind(at + 13, e.peer_host);
    st.bind(at + 14, *e.peer_port);
    st.bind(at + 15, static_cast<int64_t>(e.request_messages));
    st.bind(at + 16, static_cast<int64_t>(e.response_messages));
    st.bind(at + 17, static_cast<int64_t>(e.request_size));
    st.bind(at + 18, static_cast<int64_t>(e.response_size));
    st.bind(at + 19, rpcforge::FormatTimestamp(e.created_at));
    st.bind(at + 20, rpcforge::FormatTimestamp(e.completed_at));
  };
  for (auto _ : state) {
    state.PauseTiming();
    Renew(&rows);
    state.ResumeTiming();
    SQLite::Transaction tx(conn, SQLite::TransactionBehavior::IMMEDIATE);
    size_t at = 0;
    while (at < rows.size()) {
      const size_t left = rows.size() - at;
      SQLite::Statement& st = left >= 64 ? sixty_four : left >= 8 ? eight : one;
      const size_t n = left >= 64 ? 64 : left >= 8 ? 8 : 1;
      for (size_t i = 0; i < n; ++i) bind(st, static_cast<int>(i * 20), rows[at + i]);
      st.exec();
      st.reset();
      at += n;
    }
    tx.commit();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kBatch));
}
BENCHMARK(BM_RequestLogWrite_Baseline_SQLiteCpp)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
