// SPDX-License-Identifier: Apache-2.0
// The SQLite backend's errors as db::DatabaseError (not installed).
#ifndef RPCFORGE_SRC_DB_SQLITE_ERRORS_H_
#define RPCFORGE_SRC_DB_SQLITE_ERRORS_H_

#include <sqlite3.h>

#include "rpcforge/db/errors.h"

namespace rpcforge::db::db_internal {

// KindOfSqliteCode classifies an extended SQLite result code.
DatabaseErrorKind KindOfSqliteCode(int extended_code);

// SqliteError is the DatabaseError for `rc` on connection `handle` (null: none, then
// SQLite's generic text for the code).
DatabaseError SqliteError(sqlite3* handle, int rc);

}  // namespace rpcforge::db::db_internal

#endif  // RPCFORGE_SRC_DB_SQLITE_ERRORS_H_
