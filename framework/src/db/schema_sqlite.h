// SPDX-License-Identifier: Apache-2.0
// Private: SQLite's dialect (dialect.h): the SQL each schema operation runs on SQLite
// (a field change rebuilds the table the way SQLite documents it: new table, copy,
// drop, rename, indexes, with foreign-key enforcement off and checked after), its
// foreign-key pragmas and its catalog.
#ifndef RPCFORGE_SRC_DB_SCHEMA_SQLITE_H_
#define RPCFORGE_SRC_DB_SCHEMA_SQLITE_H_

#include "db/dialect.h"

namespace rpcforge::db::db_internal {

// SqliteDialect is the one instance (the SQLite backend returns it; sqlmigrate, which
// has no database, prints its SQL).
const Dialect& SqliteDialect();

}  // namespace rpcforge::db::db_internal

#endif  // RPCFORGE_SRC_DB_SCHEMA_SQLITE_H_
