// SPDX-License-Identifier: Apache-2.0
// Private: the prepared-statement cache every backend's Connection keeps (backend.h:
// Take/Give), keyed by the SQL text. A statement stays in the cache while it runs
// (marked busy), so a second Take of the same text while the first runs (a query
// inside another's row callback) gets a fresh statement, which the cache then does not
// keep. Used by one thread at a time, as its Connection.
#ifndef RPCFORGE_SRC_DB_STATEMENT_CACHE_H_
#define RPCFORGE_SRC_DB_STATEMENT_CACHE_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

namespace rpcforge::db::db_internal {

template <typename Stmt>
class StatementCache {
 public:
  static constexpr size_t kMaxStatements = 256;

  // Take returns the cached statement for `sql`, now busy, or null when there is none
  // or it is running.
  Stmt* Take(std::string_view sql) {
    auto it = entries_.find(sql);
    if (it == entries_.end() || it->second->busy) return nullptr;
    it->second->busy = true;
    return it->second->stmt.get();
  }
  // CanKeep is true when a statement made for `sql` now would be kept by Give: none
  // is cached for it and there is room.
  bool CanKeep(std::string_view sql) const {
    return entries_.size() < kMaxStatements && entries_.find(sql) == entries_.end();
  }
  // Give takes back `stmt` after its execution (already reset) and returns true when
  // the cache has it: the cached one becomes idle; another is kept when `keep` and
  // CanKeep(sql). False: the caller still owns `stmt` (another statement for `sql` is
  // kept, or the cache is full).
  [[nodiscard]] bool Give(std::string_view sql, Stmt* stmt, bool keep) {
    auto it = entries_.find(sql);
    if (it != entries_.end()) {
      if (it->second->stmt.get() != stmt) return false;
      it->second->busy = false;
      return true;
    }
    if (!keep || entries_.size() >= kMaxStatements) return false;
    auto entry = std::make_unique<Entry>(Entry{std::string(sql), std::unique_ptr<Stmt>(stmt)});
    const std::string_view key = entry->sql;  // stable: the string lives in the node
    entries_.emplace(key, std::move(entry));
    return true;
  }
  // busy is true while a cached statement runs.
  bool busy() const {
    for (const auto& [sql, entry] : entries_) {
      if (entry->busy) return true;
    }
    return false;
  }
  // Clear deletes every statement (none may be running).
  void Clear() { entries_.clear(); }

 private:
  struct Entry {
    std::string sql;
    std::unique_ptr<Stmt> stmt;
    bool busy = false;  // handed out by Take, not yet given back
  };
  // Searched by a view of the SQL: taking a statement out and putting it back copied
  // the SQL into a new key every time, 20 KiB twice for each of the request log's
  // 64-row INSERTs.
  std::unordered_map<std::string_view, std::unique_ptr<Entry>> entries_;
};

}  // namespace rpcforge::db::db_internal

#endif  // RPCFORGE_SRC_DB_STATEMENT_CACHE_H_
