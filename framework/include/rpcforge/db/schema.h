// SPDX-License-Identifier: Apache-2.0
// Schema evolution: migrations as lists of operations, the schema state their replay
// gives, and the autodetector behind `makemigrations`.
//
// The schema a database should have is the replay of the migrations applied to it,
// never the current models. `makemigrations` compares the models with the replay of
// every migration and writes the difference as the next migration file:
//
//   SchemaState state = ReplayMigrations(app.migrations());
//   std::vector<Operation> ops = Autodetect(state, app.models(), ask_about_renames);
//   // ops: {AddField("blog.post", BoolField("pinned").Default(false))}
//
// Operations change the state (ApplyState) and the database (migrate.cc runs the SQL
// SqliteSchemaSql gives, in one transaction per migration).
#ifndef RPCFORGE_DB_SCHEMA_H_
#define RPCFORGE_DB_SCHEMA_H_

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rpcforge/db/model.h"
#include "rpcforge/export.h"

namespace rpcforge::db {

class Database;
struct Migration;

// SchemaState is the set of tables a list of migrations builds, as Models (only their
// schema matters: columns, types, NULL, UNIQUE, defaults, foreign keys, indexes).
// Copyable.
class RPCFORGE_EXPORT SchemaState {
 public:
  // FromModels is the state the models declare.
  static SchemaState FromModels(const std::vector<const Model*>& models);

  const Model* Find(std::string_view label) const noexcept;
  // Get is Find that throws rpcforge::InvalidArgument "no model 'x' in the migrations".
  const Model& Get(std::string_view label) const;
  // Put adds `model`, or replaces the model with its label.
  void Put(Model model);
  // Remove drops the model `label` (no-op when absent).
  void Remove(std::string_view label);
  const std::vector<Model>& models() const noexcept { return models_; }

 private:
  std::vector<Model> models_;
};

// Operation is one schema change of a migration. Build one with the factories; the
// fields are public so the migration writer and the SQL generator can read them.
struct RPCFORGE_EXPORT Operation {
  enum class Kind {
    kCreateModel,
    kDeleteModel,
    kAddField,
    kRemoveField,
    kAlterField,
    kRenameField,
    kRenameModel,
    kAddIndex,
    kRemoveIndex,
    kRunSql,
    kRunCode,
  };
  Kind kind = Kind::kRunSql;
  std::string model;                      // "blog.post" (RenameModel: the old label)
  std::vector<Field> fields;              // CreateModel: all; Add/AlterField: the one
  std::vector<Model::IndexSpec> indexes;  // CreateModel: its indexes; Add/RemoveIndex: one
  std::string name;                       // Remove/RenameField: the field (old name)
  std::string new_name;                   // RenameField: new field; RenameModel: new label
  std::vector<std::string> sql;           // RunSql forward statements
  std::optional<std::vector<std::string>> reverse_sql;  // RunSql backward; none: irreversible
  std::function<void(Database&)> code;                  // RunCode forward
  std::function<void(Database&)> reverse_code;          // RunCode backward; empty: irreversible

  // CreateModel snapshots `model`'s fields and indexes now.
  static Operation CreateModel(const Model& model);
  static Operation DeleteModel(std::string model);
  static Operation AddField(std::string model, Field field);
  static Operation RemoveField(std::string model, std::string field);
  // AlterField replaces the field named `field.name()` by `field`.
  static Operation AlterField(std::string model, Field field);
  static Operation RenameField(std::string model, std::string from, std::string to);
  static Operation RenameModel(std::string from, std::string to);
  static Operation AddIndex(std::string model, std::vector<std::string> fields,
                            bool unique = false);
  static Operation RemoveIndex(std::string model, std::vector<std::string> fields,
                               bool unique = false);
  // RunSql runs `forward`; migrating back runs `reverse` (none: the migration cannot
  // be reversed; an empty list: nothing to undo). It does not change the state.
  static Operation RunSql(std::vector<std::string> forward,
                          std::optional<std::vector<std::string>> reverse = std::nullopt);
  // RunCode runs `forward` (data migrations); `reverse` likewise.
  static Operation RunCode(std::function<void(Database&)> forward,
                           std::function<void(Database&)> reverse = {});

  // ApplyState changes `state` as this operation changes the database. Throws
  // rpcforge::InvalidArgument naming the model and field when the state does not allow
  // it (adding a field that exists, removing one that does not, ...).
  void ApplyState(SchemaState& state) const;
  // reversible is false for RunSql/RunCode without a reverse.
  bool reversible() const noexcept;
  // Describe is one line for people: "Add field pinned to blog.post".
  std::string Describe() const;
  // NameFragment is what a generated migration name takes from it: "post_pinned".
  std::string NameFragment() const;
};

// SameColumn is true when `a` and `b` give the same column (name, type, NULL, UNIQUE,
// index, length, default, foreign key). Validators, choices and help text do not count:
// they are not part of the schema.
RPCFORGE_EXPORT bool SameColumn(const Field& a, const Field& b);

// ReplayMigrations is the state after every operation of `migrations`, in order.
RPCFORGE_EXPORT SchemaState ReplayMigrations(const std::vector<Migration>& migrations);

// RenameQuestion asks whether a detected rename is one ("Was blog.post.pinned renamed
// to blog.post.sticky (bool)? [y/N]"); true means yes.
using RenameQuestion = std::function<bool(const std::string& question)>;

// Autodetect returns the operations that turn `from` into what `models` declare:
// CreateModel/DeleteModel, AddField/RemoveField/AlterField, AddIndex/RemoveIndex, and
// RenameField/RenameModel where one field (or model) disappeared and one with the same
// column schema (or the same fields) appeared and `ask` says yes. Models of `from` that
// no model in `models` shares an app with are left alone.
RPCFORGE_EXPORT std::vector<Operation> Autodetect(const SchemaState& from,
                                                  const std::vector<const Model*>& models,
                                                  const RenameQuestion& ask);

// MigrationName is the generated name of the `number`th migration: "0001_initial" for
// the first, else "0002_" plus the first operation's fragment ("_and_more" when there
// are several), at most 60 characters.
RPCFORGE_EXPORT std::string MigrationName(int number, const std::vector<Operation>& ops);

// --- Migration files -------------------------------------------------------------
// A migration file is JSON: {"app": "blog", "name": "0002_post_pinned", "operations":
// [{"op": "AddField", "model": "blog.post", "field": {"name": "pinned", "type": "bool",
// "default": false}}]}. docs/database.md lists every key. RunCode cannot be written to
// a file (add it with App::AddMigration(Migration::Code(...))).

// WriteMigrationFile renders `ops` as a migration file (two-space indented JSON).
// Throws rpcforge::InvalidArgument for a RunCode operation or a default value JSON
// cannot carry (bytes).
RPCFORGE_EXPORT std::string WriteMigrationFile(const std::string& app, const std::string& name,
                                               const std::vector<Operation>& ops);

// ReadMigrationFile parses a migration file; `source` names it in errors
// ("blog/migrations/0002_post_pinned.json: operation 1: unknown field type 'booll'").
// Throws rpcforge::InvalidArgument.
RPCFORGE_EXPORT Migration ReadMigrationFile(std::string_view text, const std::string& source);

}  // namespace rpcforge::db

#endif  // RPCFORGE_DB_SCHEMA_H_
