// SPDX-License-Identifier: Apache-2.0
// The SQLite backend (private to the db layer): a connection is one sqlite3 handle in
// WAL mode with its statement cache. sqlite_connection.cc is the one file of the db
// layer that includes SQLite's headers.
#ifndef RPCFORGE_SRC_DB_SQLITE_CONNECTION_H_
#define RPCFORGE_SRC_DB_SQLITE_CONNECTION_H_

#include <memory>

#include "db/backend.h"
#include "rpcforge/db/database.h"

namespace rpcforge::db::db_internal {

// SqliteBackend opens connections to options.path (":memory:" for a private
// in-memory database, which has one connection). Each connection has WAL,
// synchronous=NORMAL, foreign keys on, temporary storage in memory, a page cache of
// options.cache_kib, options.busy_timeout_ms, and CallInterrupt polled every 1000
// virtual-machine steps.
std::unique_ptr<Backend> NewSqliteBackend(const DatabaseOptions& options);

}  // namespace rpcforge::db::db_internal

#endif  // RPCFORGE_SRC_DB_SQLITE_CONNECTION_H_
