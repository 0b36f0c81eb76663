// SPDX-License-Identifier: Apache-2.0
#include "db/schema_sqlite.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include "db/sql.h"
#include "rpcforge/db/database.h"
#include "rpcforge/errors.h"

namespace rpcforge::db::db_internal {
namespace {

using Statements = std::vector<SchemaStatement>;

std::string ColumnOf(const Model& m, const std::string& field) {
  const Field* f = m.FindField(field);
  return f != nullptr ? f->column() : field;
}

// Rebuild is SQLite's table-rebuild procedure from `from` to `to` (same table): the new
// table under a temporary name, the rows copied (a column `to` has that `from` lacks
// gets its default, or NULL), the old table dropped, the new one renamed, its indexes
// created. `renamed` maps a column of `to` to the column of `from` it was.
Statements Rebuild(const Model& from, const Model& to,
                   const std::map<std::string, std::string>& renamed) {
  const std::string tmp = to.table() + "__rpcforge_new";
  Statements out;
  out.push_back({to.CreateTableSql(tmp), {}});
  std::string columns;
  std::string select;
  std::vector<Value> params;
  for (const Field& f : to.fields()) {
    auto r = renamed.find(f.column());
    const std::string source = r != renamed.end() ? r->second : f.column();
    const Field* old = from.FindField(source);
    std::string expr;
    if (old != nullptr && old->column() == source) {
      expr = sql::Quote(source);
      if (old->null() && !f.null() && f.default_value() && !f.default_value()->is_null()) {
        expr = "COALESCE(" + expr + ", ?)";
        params.push_back(Model::ToStorage(f, *f.default_value()));
      }
    } else if (f.default_value()) {
      expr = "?";
      params.push_back(Model::ToStorage(f, *f.default_value()));
    } else if (f.null()) {
      expr = "NULL";
    } else {
      continue;  // NOT NULL without a default: the copy fails if the table has rows
    }
    columns += (columns.empty() ? "" : ", ") + sql::Quote(f.column());
    select += (select.empty() ? "" : ", ") + expr;
  }
  out.push_back({"INSERT INTO " + sql::Quote(tmp) + " (" + columns + ") SELECT " + select +
                     " FROM " + sql::Quote(from.table()),
                 std::move(params)});
  out.push_back({"DROP TABLE " + sql::Quote(from.table()), {}});
  out.push_back({"ALTER TABLE " + sql::Quote(tmp) + " RENAME TO " + sql::Quote(to.table()), {}});
  for (auto& s : to.IndexSql()) out.push_back({std::move(s), {}});
  return out;
}

Statements RenameTable(const Model& from, const Model& to) {
  Statements out{
      {"ALTER TABLE " + sql::Quote(from.table()) + " RENAME TO " + sql::Quote(to.table()), {}}};
  for (const auto& name : from.IndexNames()) {
    out.push_back({"DROP INDEX IF EXISTS " + sql::Quote(name), {}});
  }
  for (auto& s : to.IndexSql()) out.push_back({std::move(s), {}});
  return out;
}

Statements Create(const Model& m) {
  Statements out;
  for (auto& s : m.CreateSql()) out.push_back({std::move(s), {}});
  return out;
}

Statements Drop(const Model& m) { return {{"DROP TABLE " + sql::Quote(m.table()), {}}}; }

const Model& RenamedTarget(const Operation& op, const SchemaState& s) { return s.Get(op.new_name); }

std::vector<SchemaStatement> Forward(const Operation& op, const SchemaState& before,
                                     const SchemaState& after) {
  using Kind = Operation::Kind;
  switch (op.kind) {
    case Kind::kCreateModel:
      return Create(after.Get(op.model));
    case Kind::kDeleteModel:
      return Drop(before.Get(op.model));
    case Kind::kRenameModel:
      return RenameTable(before.Get(op.model), RenamedTarget(op, after));
    case Kind::kAddField:
    case Kind::kRemoveField:
    case Kind::kAlterField:
      return Rebuild(before.Get(op.model), after.Get(op.model), {});
    case Kind::kRenameField: {
      const Model& from = before.Get(op.model);
      const Model& to = after.Get(op.model);
      return Rebuild(from, to, {{ColumnOf(to, op.new_name), ColumnOf(from, op.name)}});
    }
    case Kind::kAddIndex:
    case Kind::kRemoveIndex:
      return IndexDiff(before.Get(op.model), after.Get(op.model));
    case Kind::kRunSql:
    case Kind::kRunCode:
      return RawStatements(op, false);
  }
  return {};
}

std::vector<SchemaStatement> Backward(const Operation& op, const SchemaState& before,
                                      const SchemaState& after) {
  using Kind = Operation::Kind;
  switch (op.kind) {
    case Kind::kCreateModel:
      return Drop(after.Get(op.model));
    case Kind::kDeleteModel:
      return Create(before.Get(op.model));
    case Kind::kRenameModel:
      return RenameTable(RenamedTarget(op, after), before.Get(op.model));
    case Kind::kAddField:
    case Kind::kRemoveField:
    case Kind::kAlterField:
      return Rebuild(after.Get(op.model), before.Get(op.model), {});
    case Kind::kRenameField: {
      const Model& from = after.Get(op.model);
      const Model& to = before.Get(op.model);
      return Rebuild(from, to, {{ColumnOf(to, op.name), ColumnOf(from, op.new_name)}});
    }
    case Kind::kAddIndex:
    case Kind::kRemoveIndex:
      return IndexDiff(after.Get(op.model), before.Get(op.model));
    case Kind::kRunSql:
    case Kind::kRunCode:
      return RawStatements(op, true);
  }
  return {};
}

constexpr LiteralStyle kSqliteLiteral{"1", "0", "X'", "'", "0123456789ABCDEF"};

class Sqlite final : public Dialect {
 public:
  std::vector<SchemaStatement> Forward(const Operation& op, const SchemaState& before,
                                       const SchemaState& after) const override {
    return db_internal::Forward(op, before, after);
  }
  std::vector<SchemaStatement> Backward(const Operation& op, const SchemaState& before,
                                        const SchemaState& after) const override {
    return db_internal::Backward(op, before, after);
  }
  std::string Literal(const Value& v) const override { return RenderLiteral(v, kSqliteLiteral); }

  // SQLite cannot drop a column that others reference without a table rebuild, and a
  // rebuild drops the old table: enforcement is off around it (a no-op inside a
  // transaction, hence outside), and foreign_key_check runs before COMMIT.
  std::string EnforceForeignKeysSql(bool on) const override {
    return on ? "PRAGMA foreign_keys = ON" : "PRAGMA foreign_keys = OFF";
  }
  std::string DeferForeignKeysSql(bool on) const override {
    return on ? "PRAGMA defer_foreign_keys = ON" : "PRAGMA defer_foreign_keys = OFF";
  }
  std::vector<ForeignKeyViolation> ForeignKeyViolations(Database& db) const override {
    std::vector<ForeignKeyViolation> out;
    for (const Row& r : db.Query("PRAGMA foreign_key_check")) {
      out.push_back({r["table"].AsText(), r["rowid"].is_null() ? 0 : r["rowid"].AsInt(),
                     r["parent"].AsText()});
    }
    return out;
  }

  std::vector<std::string> TableNames(Database& db) const override {
    std::vector<std::string> out;
    for (const Row& row : db.Query("SELECT name FROM sqlite_master WHERE type = 'table' AND "
                                   "name NOT LIKE 'sqlite_%' ORDER BY name")) {
      out.push_back(row["name"].AsText());
    }
    return out;
  }
  std::set<std::string> ColumnNames(Database& db, const std::string& table) const override {
    std::set<std::string> out;
    for (const Row& row : db.Query("PRAGMA table_info(" + sql::Quote(table) + ")")) {
      out.insert(row["name"].AsText());
    }
    return out;
  }
  // AUTOINCREMENT keeps each table's last id in sqlite_sequence (which exists once such
  // a table does).
  void EmptyTables(Database& db, const std::vector<std::string>& tables) const override {
    for (const std::string& t : tables) db.Execute("DELETE FROM " + sql::Quote(t));
    if (tables.empty()) return;
    if (db.Query("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").empty()) return;
    // One statement for all of them: this runs in every TransactionTestCase teardown.
    const std::vector<Value> names(tables.begin(), tables.end());
    db.Execute(
        "DELETE FROM sqlite_sequence WHERE name IN (" + sql::Placeholders(names.size()) + ")",
        names);
  }
  // AUTOINCREMENT follows the largest id written, explicit ones included.
  void SyncIds(Database&, const std::vector<std::string>&) const override {}
  std::string SchemaLockSql() const override { return ""; }
  std::string CaseInsensitiveLike() const override { return "LIKE"; }
  std::string Position(const std::string& column) const override {
    return "instr(" + column + ", ?)";
  }
  std::string MigrationsTableSql(const std::string& table) const override {
    return "CREATE TABLE IF NOT EXISTS " + sql::Quote(table) +
           " (\"id\" INTEGER PRIMARY KEY AUTOINCREMENT, \"app\" VARCHAR(255) NOT NULL,"
           " \"name\" VARCHAR(255) NOT NULL, \"applied_at\" DATETIME NOT NULL,"
           " UNIQUE (\"app\", \"name\"))";
  }
};

}  // namespace

const Dialect& SqliteDialect() {
  static const Sqlite dialect;
  return dialect;
}

}  // namespace rpcforge::db::db_internal
