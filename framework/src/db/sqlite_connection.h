// SPDX-License-Identifier: Apache-2.0
// The SQLite connection of the pool: one sqlite3 handle with its statement cache, and
// the statement helpers (binding, column values). Private to the db layer.
#ifndef RPCFORGE_SRC_DB_SQLITE_CONNECTION_H_
#define RPCFORGE_SRC_DB_SQLITE_CONNECTION_H_

#include <SQLiteCpp/Database.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "db/sqlite_errors.h"
#include "rpcforge/db/database.h"
#include "rpcforge/db/value.h"

namespace rpcforge::db::db_internal {

class Connection;

// Scope is one Atomic() scope open on a connection (a transaction or a savepoint).
struct Scope {
  Connection* conn = nullptr;
  bool is_transaction = false;  // BEGIN IMMEDIATE (else SAVEPOINT)
  bool holds_writer = false;
  bool active = true;
  std::string savepoint;
  std::vector<std::function<void()>> callbacks;
};

class Connection {
 public:
  // Throws DatabaseError when the file cannot be opened or set up (SQLiteCpp's own
  // exceptions do not leave the db layer).
  Connection(const std::string& path, int busy_timeout_ms, bool memory, int cache_kib) try
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
    sqlite3_progress_handler(handle(), 1000, &Connection::OnProgress, nullptr);
  } catch (const SQLite::Exception& e) {
    throw DatabaseError(KindOfSqliteCode(e.getExtendedErrorCode()), e.what(),
                        e.getExtendedErrorCode());
  }
  static int OnProgress(void*) { return CallInterrupt::Poll() != CallInterrupt::Reason::kNone; }
  ~Connection() {
    for (auto& [sql, cached] : cache_) sqlite3_finalize(cached->stmt);
  }
  sqlite3* handle() const { return db_.getHandle(); }
  bool autocommit() const { return sqlite3_get_autocommit(handle()) != 0; }

  // Take returns a prepared statement for `sql`, from the cache when it is idle. The
  // cache keeps each statement while it runs (marked busy) and is searched by a view
  // of `sql`: taking it out and putting it back copied the SQL into a new key every
  // time, 20 KiB twice for each of the request log's 64-row INSERTs.
  sqlite3_stmt* Take(std::string_view sql) {
    auto it = cache_.find(sql);
    if (it != cache_.end() && !it->second->busy) {
      it->second->busy = true;
      return it->second->stmt;
    }
    sqlite3_stmt* stmt = nullptr;
    const int rc =
        sqlite3_prepare_v2(handle(), sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(stmt);
      throw SqliteError(handle(), rc);
    }
    return stmt;
  }
  // Give resets `stmt` and keeps it for the next Take of `sql` (or finalizes it when
  // another statement for `sql` is already kept, or the cache is full).
  void Give(std::string_view sql, sqlite3_stmt* stmt) {
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    auto it = cache_.find(sql);
    if (it != cache_.end()) {
      if (it->second->stmt == stmt) {
        it->second->busy = false;
        return;
      }
    } else if (cache_.size() < 256) {
      auto cached = std::make_unique<Cached>(Cached{std::string(sql), stmt, false});
      const std::string_view key = cached->sql;  // stable: the string lives in the node
      cache_.emplace(key, std::move(cached));
      return;
    }
    sqlite3_finalize(stmt);
  }

  int next_savepoint = 0;
  std::vector<std::shared_ptr<Scope>> scopes;
  // rolled_back_by is the error after which SQLite rolled back the transaction of
  // the open `scopes` itself (see CheckNotRolledBack); empty otherwise.
  std::string rolled_back_by;

 private:
  SQLite::Database db_;
  struct Cached {
    std::string sql;
    sqlite3_stmt* stmt;
    bool busy;  // handed out by Take, not yet given back
  };
  std::unordered_map<std::string_view, std::unique_ptr<Cached>> cache_;
};

// Bind binds `params` to `stmt`'s placeholders; throws when their counts differ.
void Bind(sqlite3_stmt* stmt, sqlite3* handle, const std::vector<Value>& params);
// ColumnValue reads column `i` of the current row.
Value ColumnValue(sqlite3_stmt* stmt, int i);
// CanWrapInTransaction is false for statements SQLite refuses inside a transaction.
bool CanWrapInTransaction(std::string_view sql);

}  // namespace rpcforge::db::db_internal

#endif  // RPCFORGE_SRC_DB_SQLITE_CONNECTION_H_
