// SPDX-License-Identifier: Apache-2.0
// Private: the SQL each schema operation runs on SQLite (the dialect step of
// migrations; a PostgreSQL backend adds its own beside it).
#ifndef RPCFORGE_SRC_DB_SCHEMA_SQLITE_H_
#define RPCFORGE_SRC_DB_SCHEMA_SQLITE_H_

#include <string>
#include <vector>

#include "rpcforge/db/schema.h"
#include "rpcforge/db/value.h"

namespace rpcforge::db::db_internal {

// SchemaStatement is one statement with its bound parameters.
struct SchemaStatement {
  std::string sql;
  std::vector<Value> params;
};

// SqliteForward is what `op` runs to take the database from `before` to `after` (the
// states around it); SqliteBackward undoes it (`after` back to `before`). A field
// change rebuilds the table the way SQLite documents it (new table, copy, drop, rename,
// indexes), to be run with foreign-key enforcement off and checked after. RunCode
// gives no statements (the caller runs its function); an irreversible operation throws
// rpcforge::FailedPrecondition from SqliteBackward.
std::vector<SchemaStatement> SqliteForward(const Operation& op, const SchemaState& before,
                                           const SchemaState& after);
std::vector<SchemaStatement> SqliteBackward(const Operation& op, const SchemaState& before,
                                            const SchemaState& after);

// SqlLiteral renders `v` as an SQL literal (for sqlmigrate's output).
std::string SqlLiteral(const Value& v);

}  // namespace rpcforge::db::db_internal

#endif  // RPCFORGE_SRC_DB_SCHEMA_SQLITE_H_
