// SPDX-License-Identifier: Apache-2.0
// The backends the db module's tests run on (test-only, never installed): SQLite always,
// and PostgreSQL when RPCFORGE_TEST_POSTGRES holds a server URL (ci/test starts a
// private server and sets it; RPCFORGE_REQUIRE_POSTGRES=1 makes its absence a failure).
#ifndef RPCFORGE_SRC_DB_TEST_BACKENDS_H_
#define RPCFORGE_SRC_DB_TEST_BACKENDS_H_

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "db/sql.h"
#include "db/test_models.h"
#include "rpcforge/db/database.h"

namespace rpcforge::db::testmodels {

// PostgresUrl is RPCFORGE_TEST_POSTGRES, or empty.
inline std::string PostgresUrl() {
  const char* url = std::getenv("RPCFORGE_TEST_POSTGRES");
  return url != nullptr ? url : "";
}

// TestBackends lists "sqlite", then "postgres" when a server is given. Throws when
// RPCFORGE_REQUIRE_POSTGRES=1 and none is.
inline std::vector<std::string> TestBackends() {
  std::vector<std::string> out{"sqlite"};
  if (!PostgresUrl().empty()) {
    out.emplace_back("postgres");
  } else if (const char* req = std::getenv("RPCFORGE_REQUIRE_POSTGRES");
             req != nullptr && std::string(req) == "1") {
    throw std::runtime_error("RPCFORGE_REQUIRE_POSTGRES=1 but RPCFORGE_TEST_POSTGRES is unset");
  }
  return out;
}

// ScratchDatabase is an empty database on `backend` that lives as long as the object:
// a file in a temporary directory (SQLite), or a schema of its own on the test server
// (PostgreSQL: the URL sets search_path to it), dropped with everything in it at the end.
class ScratchDatabase {
 public:
  explicit ScratchDatabase(const std::string& backend) {
    if (backend == "sqlite") {
      dir_ = std::make_unique<TempDir>();
      path_ = dir_->File("test.sqlite3");
      return;
    }
    static std::atomic<int> counter{0};
    schema_ = "rpcforge_test_" + std::to_string(getpid()) + "_" + std::to_string(++counter);
    const std::string base = PostgresUrl();
    admin_ = Database::Open(base);
    admin_->Execute("DROP SCHEMA IF EXISTS " + sql::Quote(schema_) + " CASCADE");
    admin_->Execute("CREATE SCHEMA " + sql::Quote(schema_));
    path_ = base + (base.find('?') == std::string::npos ? "?" : "&") + "options=-csearch_path%3D" +
            schema_;
  }
  ~ScratchDatabase() {
    if (admin_ != nullptr) {
      try {
        admin_->Execute("DROP SCHEMA IF EXISTS " + sql::Quote(schema_) + " CASCADE");
      } catch (const std::exception&) {
      }
    }
  }
  ScratchDatabase(const ScratchDatabase&) = delete;
  ScratchDatabase& operator=(const ScratchDatabase&) = delete;

  // path is what DatabaseOptions::path takes.
  const std::string& path() const { return path_; }
  // Open opens it with the default options.
  std::unique_ptr<Database> Open(int max_connections = 8) const {
    DatabaseOptions options;
    options.path = path_;
    options.max_connections = max_connections;
    return std::make_unique<Database>(options);
  }
  // admin is a connection to the server outside the schema (PostgreSQL only).
  Database* admin() const { return admin_.get(); }

 private:
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<Database> admin_;
  std::string schema_;
  std::string path_;
};

}  // namespace rpcforge::db::testmodels

#endif  // RPCFORGE_SRC_DB_TEST_BACKENDS_H_
