// SPDX-License-Identifier: Apache-2.0
// Private: what the db layer's own work needs from a SQL engine beyond the statements
// every supported engine accepts: the DDL of each schema operation (migrations),
// foreign-key control and checks (schema changes, loaddata, flush), and the catalog
// (tables, columns). Each Backend has one (Backend::dialect(), backend.h); SQLite's is
// in schema_sqlite.cc. Callers above the backend never write an engine's own SQL.
#ifndef RPCFORGE_SRC_DB_DIALECT_H_
#define RPCFORGE_SRC_DB_DIALECT_H_

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "rpcforge/db/schema.h"
#include "rpcforge/db/value.h"

namespace rpcforge::db {
class Database;
}  // namespace rpcforge::db

namespace rpcforge::db::db_internal {

// SchemaStatement is one statement with its bound parameters.
struct SchemaStatement {
  std::string sql;
  std::vector<Value> params;
};

// ForeignKeyViolation is one row whose reference dangles: its table, its row id and
// the table it references.
struct ForeignKeyViolation {
  std::string table;
  int64_t rowid = 0;
  std::string parent;
};

class Dialect {
 public:
  virtual ~Dialect() = default;

  // --- Migrations ----------------------------------------------------------------------
  // Forward is what `op` runs to take the database from `before` to `after` (the
  // states around it); Backward undoes it (`after` back to `before`). RunCode gives no
  // statements (the caller runs its function); an irreversible operation throws
  // rpcforge::FailedPrecondition from Backward. Run inside Database::AtomicSchemaChange.
  virtual std::vector<SchemaStatement> Forward(const Operation& op, const SchemaState& before,
                                               const SchemaState& after) const = 0;
  virtual std::vector<SchemaStatement> Backward(const Operation& op, const SchemaState& before,
                                                const SchemaState& after) const = 0;
  // Literal renders `v` as an SQL literal (for sqlmigrate's output).
  virtual std::string Literal(const Value& v) const = 0;

  // --- Foreign keys --------------------------------------------------------------------
  // EnforceForeignKeysSql turns the connection's enforcement off (false) before a schema
  // change that rebuilds tables, outside any transaction, and on again after it; empty
  // when the engine needs no such step.
  virtual std::string EnforceForeignKeysSql(bool on) const = 0;
  // DeferForeignKeysSql defers the open transaction's checks to its COMMIT (true), or
  // makes them immediate again (false).
  virtual std::string DeferForeignKeysSql(bool on) const = 0;
  // ForeignKeyViolations lists the rows whose references dangle, seen from the open
  // transaction on this thread's connection (empty when the engine checks them itself).
  virtual std::vector<ForeignKeyViolation> ForeignKeyViolations(Database& db) const = 0;

  // --- Catalog -------------------------------------------------------------------------
  // TableNames lists the database's tables, the engine's own excluded, by name.
  virtual std::vector<std::string> TableNames(Database& db) const = 0;
  // ColumnNames lists the columns of `table`.
  virtual std::set<std::string> ColumnNames(Database& db, const std::string& table) const = 0;
  // EmptyTables deletes every row of `tables` (which hold every table that references
  // one of them) and makes their generated ids start again at 1, in the open transaction
  // whose foreign-key checks are deferred: DELETE and sqlite_sequence on SQLite, one
  // TRUNCATE ... RESTART IDENTITY on PostgreSQL (which drops the tables' files instead of
  // visiting their rows).
  virtual void EmptyTables(Database& db, const std::vector<std::string>& tables) const = 0;
  // SyncIds makes the next generated id of each of `tables` follow its largest id (after
  // rows were written with explicit ids, as loaddata does); a no-op where the engine
  // tracks it itself.
  virtual void SyncIds(Database& db, const std::vector<std::string>& tables) const = 0;

  // --- Queries -------------------------------------------------------------------------
  // CaseInsensitiveLike is the operator of a LIKE that ignores ASCII case (SQLite's LIKE,
  // PostgreSQL's ILIKE).
  virtual std::string CaseInsensitiveLike() const = 0;
  // Position is the 1-based position of the parameter's text in `column`, 0 when absent
  // (one `?`): instr(column, ?) or strpos(column, ?).
  virtual std::string Position(const std::string& column) const = 0;

  // --- Concurrency ---------------------------------------------------------------------
  // SchemaLockSql, run first in a transaction, serializes schema changes between
  // processes until that transaction ends; empty when the engine's write transaction
  // already does (SQLite's BEGIN IMMEDIATE).
  virtual std::string SchemaLockSql() const = 0;
  // MigrationsTableSql creates the table of applied migrations when it is missing.
  virtual std::string MigrationsTableSql(const std::string& table) const = 0;
};

// RawStatements is what a RunSql or RunCode operation runs, the same on every engine:
// its `sql` (forward) or `reverse_sql` (backward), nothing for RunCode (the caller runs
// its function). Throws rpcforge::FailedPrecondition backward when it has no reverse.
// `op` must be RunSql or RunCode (schema.cc).
std::vector<SchemaStatement> RawStatements(const Operation& op, bool backward);

// LiteralStyle is what differs between engines in an SQL literal.
struct LiteralStyle {
  const char* true_word;    // "1" or "TRUE"
  const char* false_word;   // "0" or "FALSE"
  const char* blob_prefix;  // "X'" or "'\\x"
  const char* blob_suffix;  // "'" or "'::bytea"
  const char* hex_digits;   // upper or lower case
};
// RenderLiteral renders `v` as an SQL literal in `style` (schema.cc).
std::string RenderLiteral(const Value& v, const LiteralStyle& style);

// IndexDiff drops the indexes of `from` that `to` lacks and creates the new ones (the
// CREATE INDEX and DROP INDEX IF EXISTS every engine accepts; schema.cc).
std::vector<SchemaStatement> IndexDiff(const Model& from, const Model& to);

// DialectOf is the dialect of `db`'s backend (database.cc).
const Dialect& DialectOf(const Database& db);

}  // namespace rpcforge::db::db_internal

#endif  // RPCFORGE_SRC_DB_DIALECT_H_
