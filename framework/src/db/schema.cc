// SPDX-License-Identifier: Apache-2.0
// The schema state, operations on it, and the autodetector (makemigrations).
#include "rpcforge/db/schema.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <utility>

#include "db/dialect.h"
#include "db/sql.h"
#include "rpcforge/db/registry.h"
#include "rpcforge/errors.h"

namespace rpcforge::db {
namespace {

// Rebuilt is `m` with `fields` and `indexes` (the label may change too).
Model Rebuilt(const std::string& label, const std::vector<Field>& fields,
              const std::vector<Model::IndexSpec>& indexes) {
  Model out(label, fields);
  for (const auto& index : indexes) out.Index(index.fields, index.unique);
  return out;
}

const Field* FieldNamed(const Model& m, const std::string& name) {
  for (const auto& f : m.fields()) {
    if (f.name() == name) return &f;
  }
  return nullptr;
}

std::string FieldPath(const std::string& model, const std::string& field) {
  return model + "." + field;
}

std::string ModelName(const std::string& label) {
  const auto dot = label.find('.');
  return dot == std::string::npos ? label : label.substr(dot + 1);
}

std::string Join(const std::vector<std::string>& parts, const char* sep) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : sep) + p;
  return out;
}

void ApplyFieldChange(const Operation& op, SchemaState& state) {
  const Model& m = state.Get(op.model);
  std::vector<Field> fields = m.fields();
  std::vector<Model::IndexSpec> indexes = m.indexes();
  auto find = [&](const std::string& name) {
    return std::find_if(fields.begin(), fields.end(),
                        [&](const Field& f) { return f.name() == name; });
  };
  switch (op.kind) {
    case Operation::Kind::kAddField:
      if (find(op.fields.at(0).name()) != fields.end()) {
        throw InvalidArgument("cannot add field " + FieldPath(op.model, op.fields[0].name()) +
                              ": the migrations already have it");
      }
      fields.push_back(op.fields[0]);
      break;
    case Operation::Kind::kAlterField: {
      auto it = find(op.fields.at(0).name());
      if (it == fields.end()) {
        throw InvalidArgument("cannot alter field " + FieldPath(op.model, op.fields[0].name()) +
                              ": the migrations do not have it");
      }
      *it = op.fields[0];
      break;
    }
    case Operation::Kind::kRemoveField: {
      auto it = find(op.name);
      if (it == fields.end()) {
        throw InvalidArgument("cannot remove field " + FieldPath(op.model, op.name) +
                              ": the migrations do not have it");
      }
      fields.erase(it);
      indexes.erase(std::remove_if(indexes.begin(), indexes.end(),
                                   [&](const Model::IndexSpec& i) {
                                     return std::count(i.fields.begin(), i.fields.end(), op.name) >
                                            0;
                                   }),
                    indexes.end());
      break;
    }
    case Operation::Kind::kRenameField: {
      auto it = find(op.name);
      if (it == fields.end()) {
        throw InvalidArgument("cannot rename field " + FieldPath(op.model, op.name) +
                              ": the migrations do not have it");
      }
      if (find(op.new_name) != fields.end()) {
        throw InvalidArgument("cannot rename field " + FieldPath(op.model, op.name) + " to '" +
                              op.new_name + "': the model already has one");
      }
      *it = it->Renamed(op.new_name);
      for (auto& index : indexes)
        std::replace(index.fields.begin(), index.fields.end(), op.name, op.new_name);
      break;
    }
    default:
      break;
  }
  state.Put(Rebuilt(op.model, fields, indexes));
}

void ApplyIndexChange(const Operation& op, SchemaState& state) {
  const Model& m = state.Get(op.model);
  std::vector<Model::IndexSpec> indexes = m.indexes();
  const Model::IndexSpec& spec = op.indexes.at(0);
  auto it = std::find(indexes.begin(), indexes.end(), spec);
  if (op.kind == Operation::Kind::kAddIndex) {
    if (it != indexes.end()) {
      throw InvalidArgument("cannot add index (" + Join(spec.fields, ", ") + ") to " + op.model +
                            ": the migrations already have it");
    }
    indexes.push_back(spec);
  } else {
    if (it == indexes.end()) {
      throw InvalidArgument("cannot remove index (" + Join(spec.fields, ", ") + ") from " +
                            op.model + ": the migrations do not have it");
    }
    indexes.erase(it);
  }
  state.Put(Rebuilt(op.model, m.fields(), indexes));
}

}  // namespace

// --- SchemaState ---------------------------------------------------------------------

SchemaState SchemaState::FromModels(const std::vector<const Model*>& models) {
  SchemaState state;
  for (const Model* m : models) state.Put(*m);
  return state;
}

const Model* SchemaState::Find(std::string_view label) const noexcept {
  for (const auto& m : models_) {
    if (m.label() == label) return &m;
  }
  return nullptr;
}

const Model& SchemaState::Get(std::string_view label) const {
  const Model* m = Find(label);
  if (m == nullptr)
    throw InvalidArgument("no model '" + std::string(label) + "' in the migrations");
  return *m;
}

void SchemaState::Put(Model model) {
  for (auto& m : models_) {
    if (m.label() == model.label()) {
      m = std::move(model);
      return;
    }
  }
  models_.push_back(std::move(model));
}

void SchemaState::Remove(std::string_view label) {
  models_.erase(std::remove_if(models_.begin(), models_.end(),
                               [&](const Model& m) { return m.label() == label; }),
                models_.end());
}

// --- Operation -----------------------------------------------------------------------

Operation Operation::CreateModel(const Model& model) {
  Operation op;
  op.kind = Kind::kCreateModel;
  op.model = model.label();
  op.fields = model.fields();
  op.indexes = model.indexes();
  return op;
}

Operation Operation::DeleteModel(std::string model) {
  Operation op;
  op.kind = Kind::kDeleteModel;
  op.model = std::move(model);
  return op;
}

Operation Operation::AddField(std::string model, Field field) {
  Operation op;
  op.kind = Kind::kAddField;
  op.model = std::move(model);
  op.fields.push_back(std::move(field));
  return op;
}

Operation Operation::RemoveField(std::string model, std::string field) {
  Operation op;
  op.kind = Kind::kRemoveField;
  op.model = std::move(model);
  op.name = std::move(field);
  return op;
}

Operation Operation::AlterField(std::string model, Field field) {
  Operation op = AddField(std::move(model), std::move(field));
  op.kind = Kind::kAlterField;
  return op;
}

Operation Operation::RenameField(std::string model, std::string from, std::string to) {
  Operation op;
  op.kind = Kind::kRenameField;
  op.model = std::move(model);
  op.name = std::move(from);
  op.new_name = std::move(to);
  return op;
}

Operation Operation::RenameModel(std::string from, std::string to) {
  Operation op;
  op.kind = Kind::kRenameModel;
  op.model = std::move(from);
  op.new_name = std::move(to);
  return op;
}

Operation Operation::AddIndex(std::string model, std::vector<std::string> fields, bool unique) {
  Operation op;
  op.kind = Kind::kAddIndex;
  op.model = std::move(model);
  op.indexes.push_back({std::move(fields), unique});
  return op;
}

Operation Operation::RemoveIndex(std::string model, std::vector<std::string> fields, bool unique) {
  Operation op = AddIndex(std::move(model), std::move(fields), unique);
  op.kind = Kind::kRemoveIndex;
  return op;
}

Operation Operation::RunSql(std::vector<std::string> forward,
                            std::optional<std::vector<std::string>> reverse) {
  Operation op;
  op.kind = Kind::kRunSql;
  op.sql = std::move(forward);
  op.reverse_sql = std::move(reverse);
  return op;
}

Operation Operation::RunCode(std::function<void(Database&)> forward,
                             std::function<void(Database&)> reverse) {
  Operation op;
  op.kind = Kind::kRunCode;
  op.code = std::move(forward);
  op.reverse_code = std::move(reverse);
  return op;
}

void Operation::ApplyState(SchemaState& state) const {
  switch (kind) {
    case Kind::kCreateModel:
      if (state.Find(model) != nullptr) {
        throw InvalidArgument("cannot create model " + model + ": the migrations already have it");
      }
      state.Put(Rebuilt(model, fields, indexes));
      return;
    case Kind::kDeleteModel:
      state.Get(model);
      state.Remove(model);
      return;
    case Kind::kRenameModel: {
      const Model& m = state.Get(model);
      if (state.Find(new_name) != nullptr) {
        throw InvalidArgument("cannot rename model " + model + " to " + new_name +
                              ": the migrations already have it");
      }
      Model renamed = Rebuilt(new_name, m.fields(), m.indexes());
      state.Remove(model);
      state.Put(std::move(renamed));
      return;
    }
    case Kind::kAddField:
    case Kind::kRemoveField:
    case Kind::kAlterField:
    case Kind::kRenameField:
      ApplyFieldChange(*this, state);
      return;
    case Kind::kAddIndex:
    case Kind::kRemoveIndex:
      ApplyIndexChange(*this, state);
      return;
    case Kind::kRunSql:
    case Kind::kRunCode:
      return;
  }
}

bool Operation::reversible() const noexcept {
  if (kind == Kind::kRunSql) return reverse_sql.has_value();
  if (kind == Kind::kRunCode) return static_cast<bool>(reverse_code);
  return true;
}

std::string Operation::Describe() const {
  switch (kind) {
    case Kind::kCreateModel:
      return "Create model " + model;
    case Kind::kDeleteModel:
      return "Delete model " + model;
    case Kind::kAddField:
      return "Add field " + fields.at(0).name() + " to " + model;
    case Kind::kRemoveField:
      return "Remove field " + name + " from " + model;
    case Kind::kAlterField:
      return "Alter field " + fields.at(0).name() + " on " + model;
    case Kind::kRenameField:
      return "Rename field " + name + " on " + model + " to " + new_name;
    case Kind::kRenameModel:
      return "Rename model " + model + " to " + new_name;
    case Kind::kAddIndex:
      return "Add index (" + Join(indexes.at(0).fields, ", ") + ") to " + model;
    case Kind::kRemoveIndex:
      return "Remove index (" + Join(indexes.at(0).fields, ", ") + ") from " + model;
    case Kind::kRunSql:
      return "Run SQL (" + std::to_string(sql.size()) + " statement(s))";
    case Kind::kRunCode:
      return "Run code";
  }
  return "";
}

std::string Operation::NameFragment() const {
  const std::string m = ModelName(model);
  switch (kind) {
    case Kind::kCreateModel:
      return m;
    case Kind::kDeleteModel:
      return "delete_" + m;
    case Kind::kAddField:
      return m + "_" + fields.at(0).name();
    case Kind::kRemoveField:
      return "remove_" + m + "_" + name;
    case Kind::kAlterField:
      return "alter_" + m + "_" + fields.at(0).name();
    case Kind::kRenameField:
      return "rename_" + m + "_" + name + "_" + new_name;
    case Kind::kRenameModel:
      return "rename_" + m + "_" + ModelName(new_name);
    case Kind::kAddIndex:
      return m + "_" + Join(indexes.at(0).fields, "_") + "_idx";
    case Kind::kRemoveIndex:
      return "remove_" + m + "_" + Join(indexes.at(0).fields, "_") + "_idx";
    case Kind::kRunSql:
      return "sql";
    case Kind::kRunCode:
      return "code";
  }
  return "auto";
}

// --- Comparing, replaying, detecting ---------------------------------------------------

namespace {

// SameDefault compares defaults as a migration file keeps them: numbers by value, a
// time as its RFC 3339 text.
bool SameDefault(const std::optional<Value>& a, const std::optional<Value>& b) {
  if (!a || !b) return a.has_value() == b.has_value();
  auto numeric = [](const Value& v) {
    return v.type() == Value::Type::kInt || v.type() == Value::Type::kDouble;
  };
  if (numeric(*a) && numeric(*b)) return a->AsDouble() == b->AsDouble();
  auto text = [](const Value& v) {
    return v.type() == Value::Type::kTime ? Value(FormatTimestamp(v.AsTime())) : v;
  };
  return text(*a) == text(*b);
}

bool SameColumnIgnoringName(const Field& a, const Field& b) {
  return a.type() == b.type() && a.null() == b.null() && a.unique() == b.unique() &&
         a.indexed() == b.indexed() && a.max_length() == b.max_length() &&
         SameDefault(a.default_value(), b.default_value()) && a.target() == b.target() &&
         (a.type() != FieldType::kForeignKey || a.on_delete() == b.on_delete());
}

// FieldChanges appends the operations that turn model `from` into `to` (same label).
void FieldChanges(const Model& from, const Model& to, const RenameQuestion& ask,
                  std::vector<Operation>& ops) {
  std::vector<const Field*> added;
  std::vector<const Field*> removed;
  for (const auto& f : to.fields()) {
    const Field* old = FieldNamed(from, f.name());
    if (old == nullptr) {
      added.push_back(&f);
    } else if (!SameColumn(*old, f)) {
      ops.push_back(Operation::AlterField(to.label(), f));
    }
  }
  for (const auto& f : from.fields()) {
    if (FieldNamed(to, f.name()) == nullptr) removed.push_back(&f);
  }
  for (auto r = removed.begin(); r != removed.end();) {
    auto match = std::find_if(added.begin(), added.end(),
                              [&](const Field* a) { return SameColumnIgnoringName(**r, *a); });
    if (match != added.end() && ask &&
        ask("Was " + FieldPath(to.label(), (*r)->name()) + " renamed to " +
            FieldPath(to.label(), (*match)->name()) + "? [y/N] ")) {
      ops.push_back(Operation::RenameField(to.label(), (*r)->name(), (*match)->name()));
      added.erase(match);
      r = removed.erase(r);
    } else {
      ++r;
    }
  }
  for (const Field* f : added) ops.push_back(Operation::AddField(to.label(), *f));
  for (const Field* f : removed) ops.push_back(Operation::RemoveField(to.label(), f->name()));
}

void IndexChanges(const Model& from, const Model& to, std::vector<Operation>& ops) {
  // Indexes over renamed or removed fields are already gone from the state.
  for (const auto& index : from.indexes()) {
    if (std::find(to.indexes().begin(), to.indexes().end(), index) == to.indexes().end()) {
      ops.push_back(Operation::RemoveIndex(to.label(), index.fields, index.unique));
    }
  }
  for (const auto& index : to.indexes()) {
    if (std::find(from.indexes().begin(), from.indexes().end(), index) == from.indexes().end()) {
      ops.push_back(Operation::AddIndex(to.label(), index.fields, index.unique));
    }
  }
}

bool SameFields(const Model& a, const Model& b) {
  if (a.fields().size() != b.fields().size()) return false;
  for (size_t i = 0; i < a.fields().size(); ++i) {
    if (a.fields()[i].name() != b.fields()[i].name() || !SameColumn(a.fields()[i], b.fields()[i])) {
      return false;
    }
  }
  return true;
}

}  // namespace

bool SameColumn(const Field& a, const Field& b) {
  return a.name() == b.name() && SameColumnIgnoringName(a, b);
}

SchemaState ReplayMigrations(const std::vector<Migration>& migrations) {
  SchemaState state;
  for (const Migration& m : migrations) {
    for (const Operation& op : m.operations) {
      try {
        op.ApplyState(state);
      } catch (const InvalidArgument& e) {
        throw InvalidArgument("migration " + m.name + ": " + e.what());
      }
    }
  }
  return state;
}

std::vector<Operation> Autodetect(const SchemaState& from, const std::vector<const Model*>& models,
                                  const RenameQuestion& ask) {
  std::set<std::string> apps;
  for (const Model* m : models) apps.insert(m->app_label());
  std::vector<const Model*> created;
  std::vector<const Model*> deleted;
  for (const Model* m : models) {
    if (from.Find(m->label()) == nullptr) created.push_back(m);
  }
  for (const auto& m : from.models()) {
    if (apps.count(m.app_label()) == 0) continue;
    const bool kept = std::any_of(models.begin(), models.end(),
                                  [&](const Model* n) { return n->label() == m.label(); });
    if (!kept) deleted.push_back(&m);
  }
  std::vector<Operation> ops;
  std::vector<std::pair<const Model*, const Model*>> renamed;  // (old state, new model)
  for (auto d = deleted.begin(); d != deleted.end();) {
    auto match = std::find_if(created.begin(), created.end(), [&](const Model* c) {
      return c->app_label() == (*d)->app_label() && SameFields(**d, *c);
    });
    if (match != created.end() && ask &&
        ask("Was the model " + (*d)->label() + " renamed to " + (*match)->label() + "? [y/N] ")) {
      ops.push_back(Operation::RenameModel((*d)->label(), (*match)->label()));
      renamed.emplace_back(*d, *match);
      created.erase(match);
      d = deleted.erase(d);
    } else {
      ++d;
    }
  }
  for (const Model* m : created) ops.push_back(Operation::CreateModel(*m));
  for (const Model* m : models) {
    const Model* old = from.Find(m->label());
    for (const auto& [o, n] : renamed) {
      if (n == m) old = o;
    }
    if (old == nullptr) continue;
    FieldChanges(*old, *m, ask, ops);
    IndexChanges(*old, *m, ops);
  }
  for (const Model* m : deleted) ops.push_back(Operation::DeleteModel(m->label()));
  return ops;
}

std::string MigrationName(int number, const std::vector<Operation>& ops) {
  std::string prefix = std::to_string(number);
  while (prefix.size() < 4) prefix = "0" + prefix;
  if (number == 1) return prefix + "_initial";
  std::string name = prefix + "_" + (ops.empty() ? std::string("auto") : ops[0].NameFragment());
  if (ops.size() > 1) name += "_and_more";
  if (name.size() > 60) name.resize(60);
  return name;
}

}  // namespace rpcforge::db

namespace rpcforge::db::db_internal {

std::vector<SchemaStatement> RawStatements(const Operation& op, bool backward) {
  std::vector<SchemaStatement> out;
  if (op.kind == Operation::Kind::kRunCode) {
    if (backward && !op.reverse_code) {
      throw FailedPrecondition("the RunCode operation has no reverse: it cannot be undone");
    }
    return out;
  }
  if (backward && !op.reverse_sql) {
    throw FailedPrecondition("the RunSQL operation has no reverse_sql: it cannot be undone");
  }
  for (const auto& s : backward ? *op.reverse_sql : op.sql) out.push_back({s, {}});
  return out;
}

std::string RenderLiteral(const Value& v, const LiteralStyle& style) {
  switch (v.type()) {
    case Value::Type::kNull:
      return "NULL";
    case Value::Type::kInt:
      return std::to_string(v.AsInt());
    case Value::Type::kBool:
      return v.AsBool() ? style.true_word : style.false_word;
    case Value::Type::kDouble: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.17g", v.AsDouble());
      return buf;
    }
    case Value::Type::kBlob: {
      std::string out = style.blob_prefix;
      for (unsigned char c : v.AsBlob()) {
        out += style.hex_digits[c >> 4];
        out += style.hex_digits[c & 15];
      }
      return out + style.blob_suffix;
    }
    case Value::Type::kText:
    case Value::Type::kTime: {
      const std::string text =
          v.type() == Value::Type::kText ? v.AsText() : FormatTimestamp(v.AsTime());
      std::string out = "'";
      for (char c : text) out += c == '\'' ? std::string("''") : std::string(1, c);
      return out + "'";
    }
  }
  return "NULL";
}

std::vector<SchemaStatement> IndexDiff(const Model& from, const Model& to) {
  std::vector<SchemaStatement> out;
  const auto old_names = from.IndexNames();
  const auto new_names = to.IndexNames();
  const auto new_sql = to.IndexSql();
  for (const auto& name : old_names) {
    if (std::find(new_names.begin(), new_names.end(), name) == new_names.end()) {
      out.push_back({"DROP INDEX IF EXISTS " + sql::Quote(name), {}});
    }
  }
  for (size_t i = 0; i < new_names.size(); ++i) {
    if (std::find(old_names.begin(), old_names.end(), new_names[i]) == old_names.end()) {
      out.push_back({new_sql[i], {}});
    }
  }
  return out;
}

}  // namespace rpcforge::db::db_internal
