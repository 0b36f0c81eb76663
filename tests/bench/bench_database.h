// SPDX-License-Identifier: Apache-2.0
// What the database benchmarks share: a fresh file in its own directory, and the
// SQLiteCpp connection their baselines use.
#ifndef RPCFORGE_TESTS_BENCH_BENCH_DATABASE_H_
#define RPCFORGE_TESTS_BENCH_BENCH_DATABASE_H_

#include <SQLiteCpp/Database.h>

#include <memory>
#include <string>

#include "db/test_models.h"  // TempDir

namespace rpcforge::bench {

using ::rpcforge::db::testmodels::TempDir;

// OpenBaseline opens `path` with SQLiteCpp and the pragmas db::Database sets on each
// of its connections (db/sqlite_connection.cc), so a baseline differs from rpcforge only
// in the framework's own work.
inline std::unique_ptr<SQLite::Database> OpenBaseline(const std::string& path) {
  auto conn =
      std::make_unique<SQLite::Database>(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE, 5000);
  conn->exec("PRAGMA journal_mode=WAL");
  conn->exec("PRAGMA synchronous=NORMAL");
  conn->exec("PRAGMA foreign_keys=ON");
  conn->exec("PRAGMA temp_store=MEMORY");
  return conn;
}

}  // namespace rpcforge::bench

#endif  // RPCFORGE_TESTS_BENCH_BENCH_DATABASE_H_
