// SPDX-License-Identifier: Apache-2.0
// Private: PostgreSQL's dialect (dialect.h): the DDL of each schema operation (ALTER
// TABLE where SQLite rebuilds), the column types (BIGINT, BOOLEAN, DOUBLE PRECISION,
// VARCHAR(n), TEXT, TIMESTAMPTZ, DATE, BYTEA, JSON; an id is an identity column),
// deferrable foreign keys, an advisory lock around schema changes, and the catalog.
#ifndef RPCFORGE_SRC_DB_SCHEMA_POSTGRES_H_
#define RPCFORGE_SRC_DB_SCHEMA_POSTGRES_H_

#include "db/dialect.h"

namespace rpcforge::db::db_internal {

// PostgresDialect is the one instance (the PostgreSQL backend returns it).
const Dialect& PostgresDialect();

}  // namespace rpcforge::db::db_internal

#endif  // RPCFORGE_SRC_DB_SCHEMA_POSTGRES_H_
