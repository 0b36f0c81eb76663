// SPDX-License-Identifier: Apache-2.0
// The PostgreSQL backend (private to the db layer), through libpq: a connection is one
// PGconn with its prepared statements. postgres_connection.cc is the one file of the db
// layer that includes libpq's headers; its Dialect is in schema_postgres.cc.
//
// What differs from SQLite, for the layers above:
// - `?` placeholders become $1, $2, ... (outside string literals, quoted identifiers
//   and comments); PostgreSQL infers each parameter's type from where it stands.
// - An INSERT into a table whose "id" column is generated gets ` RETURNING "id"`, so
//   ExecResult::last_insert_id is the last row's id, as SQLite's rowid is.
// - A statement that fails inside a transaction aborts the transaction (PostgreSQL
//   refuses every later statement but ROLLBACK); a nested Atomic() scope (a savepoint)
//   contains the failure, as Django's atomic() does.
// - read_only is decided from the statement's first keyword (SELECT, VALUES, SHOW,
//   EXPLAIN, TABLE; WITH without INSERT, UPDATE or DELETE): libpq has no
//   sqlite3_stmt_readonly.
// - TIMESTAMPTZ columns read as RFC 3339 text ("2026-12-02T15:02:03.123456Z"), the
//   form SQLite stores, so a raw query sees the same Value on both.
// - CallInterrupt: a statement runs asynchronously and is cancelled (PQcancel) within
//   10 ms of its call's deadline or cancellation.
#ifndef RPCFORGE_SRC_DB_POSTGRES_CONNECTION_H_
#define RPCFORGE_SRC_DB_POSTGRES_CONNECTION_H_

#include <memory>

#include "db/backend.h"
#include "rpcforge/db/database.h"

namespace rpcforge::db::db_internal {

// NewPostgresBackend opens connections to the database options.path names (a libpq
// URL), at most options.max_connections, each with TimeZone UTC and DateStyle ISO.
// Throws rpcforge::Unavailable naming host and port when the server cannot be reached.
std::unique_ptr<Backend> NewPostgresBackend(const DatabaseOptions& options);

}  // namespace rpcforge::db::db_internal

#endif  // RPCFORGE_SRC_DB_POSTGRES_CONNECTION_H_
