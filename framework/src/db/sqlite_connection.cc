// SPDX-License-Identifier: Apache-2.0
// The SQLite backend: connections, their statement cache, binding and columns.
#include "db/sqlite_connection.h"

#include <SQLiteCpp/Database.h>
#include <sqlite3.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <string>
#include <thread>
#include <utility>

#include "db/postgres_connection.h"
#include "db/schema_sqlite.h"
#include "db/statement_cache.h"
#include "rpcforge/db/errors.h"
#include "rpcforge/errors.h"

namespace rpcforge::db::db_internal {
namespace {

// KindOfSqliteCode classifies an extended SQLite result code.
DatabaseErrorKind KindOfSqliteCode(int extended_code) {
  if (extended_code == SQLITE_CONSTRAINT_UNIQUE || extended_code == SQLITE_CONSTRAINT_PRIMARYKEY) {
    return DatabaseErrorKind::kUniqueViolation;
  }
  if (extended_code == SQLITE_CONSTRAINT_FOREIGNKEY) return DatabaseErrorKind::kForeignKeyViolation;
  if ((extended_code & 0xff) == SQLITE_CONSTRAINT) return DatabaseErrorKind::kConstraint;
  return DatabaseErrorKind::kOther;
}

// SqliteError is the DatabaseError for `rc` on connection `handle`.
DatabaseError SqliteError(sqlite3* handle, int rc) {
  const int extended = sqlite3_extended_errcode(handle);
  const int code = (extended & 0xff) == (rc & 0xff) ? extended : rc;
  return DatabaseError(KindOfSqliteCode(code), sqlite3_errmsg(handle), code);
}

class SqliteStatement final : public Statement {
 public:
  SqliteStatement(sqlite3* handle, sqlite3_stmt* stmt) : handle_(handle), stmt_(stmt) {}
  ~SqliteStatement() override { sqlite3_finalize(stmt_); }
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;

  bool read_only() const override { return sqlite3_stmt_readonly(stmt_) != 0; }
  void Bind(const std::vector<Value>& params) override;
  bool Step() override {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    if (rc == SQLITE_INTERRUPT && CallInterrupt::Poll() != CallInterrupt::Reason::kNone) {
      ThrowInterrupted(CallInterrupt::Poll());
    }
    throw SqliteError(handle_, rc);
  }
  int column_count() const override { return sqlite3_column_count(stmt_); }
  std::string column_name(int i) const override { return sqlite3_column_name(stmt_, i); }
  Value column(int i) const override;

  // Reset readies the statement for its next execution.
  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

 private:
  sqlite3* handle_;
  sqlite3_stmt* stmt_;
};

void SqliteStatement::Bind(const std::vector<Value>& params) {
  const int expected = sqlite3_bind_parameter_count(stmt_);
  if (expected != static_cast<int>(params.size())) {
    throw InvalidArgument("database: statement expects " + std::to_string(expected) +
                          " parameters, got " + std::to_string(params.size()));
  }
  for (size_t i = 0; i < params.size(); ++i) {
    const int idx = static_cast<int>(i) + 1;
    const Value& v = params[i];
    int rc = SQLITE_OK;
    switch (v.type()) {
      case Value::Type::kNull:
        rc = sqlite3_bind_null(stmt_, idx);
        break;
      case Value::Type::kInt:
        rc = sqlite3_bind_int64(stmt_, idx, v.AsInt());
        break;
      case Value::Type::kBool:
        rc = sqlite3_bind_int64(stmt_, idx, v.AsBool() ? 1 : 0);
        break;
      case Value::Type::kDouble:
        rc = sqlite3_bind_double(stmt_, idx, v.AsDouble());
        break;
      case Value::Type::kText:
        rc = sqlite3_bind_text(stmt_, idx, v.AsText().data(), static_cast<int>(v.AsText().size()),
                               SQLITE_STATIC);
        break;
      case Value::Type::kBlob:
        rc = sqlite3_bind_blob(stmt_, idx, v.AsBlob().data(), static_cast<int>(v.AsBlob().size()),
                               SQLITE_STATIC);
        break;
      case Value::Type::kTime: {
        const std::string text = FormatTimestamp(v.AsTime());
        rc = sqlite3_bind_text(stmt_, idx, text.data(), static_cast<int>(text.size()),
                               SQLITE_TRANSIENT);
        break;
      }
    }
    if (rc != SQLITE_OK) throw SqliteError(handle_, rc);
  }
}

Value SqliteStatement::column(int i) const {
  switch (sqlite3_column_type(stmt_, i)) {
    case SQLITE_INTEGER:
      return Value(static_cast<int64_t>(sqlite3_column_int64(stmt_, i)));
    case SQLITE_FLOAT:
      return Value(sqlite3_column_double(stmt_, i));
    case SQLITE_TEXT: {
      const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, i));
      return Value(std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, i))));
    }
    case SQLITE_BLOB: {
      const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(stmt_, i));
      return Value(Blob(p, p + sqlite3_column_bytes(stmt_, i)));
    }
    default:
      return Value();
  }
}

class SqliteConnection final : public Connection {
 public:
  SqliteConnection(const std::string& path, int busy_timeout_ms, bool memory, int cache_kib);
  ~SqliteConnection() override {
    cache_.Clear();  // finalizes the statements before SQLite::Database closes the handle
  }

  Statement* Take(std::string_view sql) override;
  void Give(std::string_view sql, Statement* stmt) override;
  std::string_view engine() const override { return "SQLite"; }
  bool in_transaction() const override { return sqlite3_get_autocommit(handle()) == 0; }
  int64_t changes() const override { return sqlite3_changes(handle()); }
  int64_t last_insert_id() const override { return sqlite3_last_insert_rowid(handle()); }
  std::string last_error() const override { return sqlite3_errmsg(handle()); }
  // IMMEDIATE takes the write lock at BEGIN (waiting under busy_timeout): a deferred
  // transaction that upgrades its read snapshot fails with SQLITE_BUSY_SNAPSHOT,
  // without waiting, when another process wrote in between.
  std::string_view BeginWriteSql() const override { return "BEGIN IMMEDIATE"; }
  void ExecControl(std::string_view sql) override {
    const std::string text(sql);  // sqlite3_exec wants a terminated string
    const int rc = sqlite3_exec(handle(), text.c_str(), nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) throw SqliteError(handle(), rc);
  }
  bool CanWrapInTransaction(std::string_view sql) const override;
  void RollbackQuietly() noexcept override {
    sqlite3_exec(handle(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
  int64_t ReleaseCache() override;

 private:
  static int OnProgress(void*) { return CallInterrupt::Poll() != CallInterrupt::Reason::kNone; }
  sqlite3* handle() const { return db_.getHandle(); }

  SQLite::Database db_;
  StatementCache<SqliteStatement> cache_;
};

SqliteConnection::SqliteConnection(const std::string& path, int busy_timeout_ms, bool memory,
                                   int cache_kib) try
    : db_(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE, busy_timeout_ms) {
  if (!memory) {
    // Switching a new file to WAL needs an exclusive lock, and SQLite does not always
    // consult busy_timeout for it when several connections open the file at once:
    // retry, bounded in count and by busy_timeout.
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::milliseconds(std::max(busy_timeout_ms, 100));
    for (int attempt = 0;; ++attempt) {
      const int rc = db_.tryExec("PRAGMA journal_mode=WAL");
      if (rc == SQLITE_OK) break;
      if ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED) {
        throw SqliteError(handle(), rc);
      }
      if (attempt >= 1000 || std::chrono::steady_clock::now() >= deadline) {
        throw SqliteError(handle(), rc);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1 + attempt % 10));
    }
  }
  db_.exec("PRAGMA synchronous=NORMAL");
  db_.exec("PRAGMA foreign_keys=ON");
  // Statement journals (each multi-row INSERT or UPDATE in a transaction keeps one, to
  // undo that statement alone) and temporary B-trees in memory: a file's statement
  // journals spilled to /var/tmp once over 64 KiB, and were more than half of the
  // request log's writes (strace of its benchmark: 9,600 pwrite64 to etilqs_* files
  // against 4,660 to the WAL and 1,465 to the database).
  db_.exec("PRAGMA temp_store=MEMORY");
  if (cache_kib > 0) db_.exec("PRAGMA cache_size=-" + std::to_string(cache_kib));
  // Every 1000 virtual-machine steps SQLite asks whether this thread's call is over
  // (CallInterrupt); a non-zero answer makes the statement fail with SQLITE_INTERRUPT.
  sqlite3_progress_handler(handle(), 1000, &SqliteConnection::OnProgress, nullptr);
} catch (const SQLite::Exception& e) {
  // SQLiteCpp's own exceptions do not leave the backend.
  throw DatabaseError(KindOfSqliteCode(e.getExtendedErrorCode()), e.what(),
                      e.getExtendedErrorCode());
}

Statement* SqliteConnection::Take(std::string_view sql) {
  if (SqliteStatement* cached = cache_.Take(sql)) return cached;
  sqlite3_stmt* stmt = nullptr;
  const int rc =
      sqlite3_prepare_v2(handle(), sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    throw SqliteError(handle(), rc);
  }
  return new SqliteStatement(handle(), stmt);
}

void SqliteConnection::Give(std::string_view sql, Statement* given) {
  auto* stmt = static_cast<SqliteStatement*>(given);
  stmt->Reset();
  if (!cache_.Give(sql, stmt, /*keep=*/true)) delete stmt;
}

bool SqliteConnection::CanWrapInTransaction(std::string_view sql) const {
  size_t i = 0;
  while (i < sql.size() && (sql[i] == ' ' || sql[i] == '\n' || sql[i] == '\t')) ++i;
  std::string word;
  while (i < sql.size() && std::isalpha(static_cast<unsigned char>(sql[i]))) {
    word += static_cast<char>(std::toupper(static_cast<unsigned char>(sql[i++])));
  }
  return word != "PRAGMA" && word != "VACUUM" && word != "ATTACH" && word != "DETACH" &&
         word != "BEGIN" && word != "COMMIT" && word != "END" && word != "ROLLBACK" &&
         word != "SAVEPOINT" && word != "RELEASE";
}

int64_t SqliteConnection::ReleaseCache() {
  auto cache_used = [this] {
    int current = 0;
    int highwater = 0;
    sqlite3_db_status(handle(), SQLITE_DBSTATUS_CACHE_USED, &current, &highwater, 0);
    return static_cast<int64_t>(current);
  };
  const int64_t before = cache_used();
  sqlite3_db_release_memory(handle());
  return before - cache_used();
}

class SqliteBackend final : public Backend {
 public:
  explicit SqliteBackend(const DatabaseOptions& options)
      : path_(options.path.empty() ? ":memory:" : options.path),
        memory_(path_ == ":memory:"),
        busy_timeout_ms_(options.busy_timeout_ms),
        cache_kib_(options.cache_kib),
        max_connections_(memory_ ? 1 : options.max_connections) {}

  std::unique_ptr<Connection> Open() override {
    return std::make_unique<SqliteConnection>(path_, busy_timeout_ms_, memory_, cache_kib_);
  }
  int max_connections() const override { return max_connections_; }
  bool in_memory() const override { return memory_; }
  bool failed_statement_aborts_transaction() const override { return false; }
  bool one_writer() const override { return true; }
  bool control_scripts() const override { return false; }
  const Dialect& dialect() const override { return SqliteDialect(); }

 private:
  const std::string path_;
  const bool memory_;
  const int busy_timeout_ms_;
  const int cache_kib_;
  const int max_connections_;
};

}  // namespace

std::unique_ptr<Backend> NewSqliteBackend(const DatabaseOptions& options) {
  return std::make_unique<SqliteBackend>(options);
}

std::string CanonicalDatabasePath(const std::string& path) {
  if (path.rfind("sqlite:", 0) != 0) return path;
  std::string file = path.substr(7);
  if (file.rfind("//", 0) == 0) file = file.substr(2);  // sqlite:///abs/path, sqlite://rel
  return file.empty() ? ":memory:" : file;
}

std::unique_ptr<Backend> OpenBackend(const DatabaseOptions& options) {
  if (IsPostgresUrl(options.path)) return NewPostgresBackend(options);
  return NewSqliteBackend(options);
}

}  // namespace rpcforge::db::db_internal
