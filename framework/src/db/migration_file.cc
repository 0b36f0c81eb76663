// SPDX-License-Identifier: Apache-2.0
// Migration files: operations to JSON and back (makemigrations writes them; the CMake
// helper rpcforge_add_migrations embeds them; App::migrations() reads them).
#include <algorithm>
#include <cctype>
#include <iterator>
#include <nlohmann/json.hpp>
#include <utility>

#include "rpcforge/db/registry.h"
#include "rpcforge/db/schema.h"
#include "rpcforge/errors.h"

namespace rpcforge::db {
namespace {

using json = nlohmann::ordered_json;

struct TypeName {
  FieldType type;
  const char* name;
};
constexpr TypeName kTypes[] = {
    {FieldType::kAutoId, "auto"},       {FieldType::kInteger, "integer"},
    {FieldType::kBigInteger, "bigint"}, {FieldType::kFloat, "float"},
    {FieldType::kBool, "bool"},         {FieldType::kChar, "char"},
    {FieldType::kText, "text"},         {FieldType::kDateTime, "datetime"},
    {FieldType::kDate, "date"},         {FieldType::kBinary, "binary"},
    {FieldType::kJson, "json"},         {FieldType::kForeignKey, "foreign_key"},
};

struct KindName {
  Operation::Kind kind;
  const char* name;
};
constexpr KindName kKinds[] = {
    {Operation::Kind::kCreateModel, "CreateModel"}, {Operation::Kind::kDeleteModel, "DeleteModel"},
    {Operation::Kind::kAddField, "AddField"},       {Operation::Kind::kRemoveField, "RemoveField"},
    {Operation::Kind::kAlterField, "AlterField"},   {Operation::Kind::kRenameField, "RenameField"},
    {Operation::Kind::kRenameModel, "RenameModel"}, {Operation::Kind::kAddIndex, "AddIndex"},
    {Operation::Kind::kRemoveIndex, "RemoveIndex"}, {Operation::Kind::kRunSql, "RunSQL"},
    {Operation::Kind::kRunCode, "RunCode"},
};

const char* OnDeleteName(OnDelete d) {
  switch (d) {
    case OnDelete::kCascade:
      return "cascade";
    case OnDelete::kProtect:
      return "protect";
    case OnDelete::kSetNull:
      return "set_null";
  }
  return "cascade";
}

json ValueJson(const Value& v, const std::string& where) {
  switch (v.type()) {
    case Value::Type::kNull:
      return nullptr;
    case Value::Type::kBool:
      return v.AsBool();
    case Value::Type::kInt:
      return v.AsInt();
    case Value::Type::kDouble:
      return v.AsDouble();
    case Value::Type::kText:
      return v.AsText();
    case Value::Type::kTime:
      return FormatTimestamp(v.AsTime());
    case Value::Type::kBlob:
      break;
  }
  throw InvalidArgument(where + ": a bytes default cannot be written to a migration file");
}

json FieldJson(const Field& f, const std::string& model) {
  json j = json::object();
  j["name"] = f.name();
  for (const auto& t : kTypes) {
    if (t.type == f.type()) j["type"] = t.name;
  }
  if (f.type() == FieldType::kChar) j["max_length"] = f.max_length();
  if (f.null()) j["null"] = true;
  if (f.unique()) j["unique"] = true;
  if (f.indexed()) j["index"] = true;
  if (f.default_value()) j["default"] = ValueJson(*f.default_value(), model + "." + f.name());
  if (f.type() == FieldType::kForeignKey) {
    j["to"] = f.target();
    j["on_delete"] = OnDeleteName(f.on_delete());
  }
  return j;
}

json IndexJson(const Model::IndexSpec& index) {
  json j = {{"fields", index.fields}};
  if (index.unique) j["unique"] = true;
  return j;
}

json OperationJson(const Operation& op) {
  json j = json::object();
  for (const auto& k : kKinds) {
    if (k.kind == op.kind) j["op"] = k.name;
  }
  switch (op.kind) {
    case Operation::Kind::kCreateModel: {
      j["model"] = op.model;
      json fields = json::array();
      for (const auto& f : op.fields) fields.push_back(FieldJson(f, op.model));
      j["fields"] = fields;
      if (!op.indexes.empty()) {
        json indexes = json::array();
        for (const auto& i : op.indexes) indexes.push_back(IndexJson(i));
        j["indexes"] = indexes;
      }
      break;
    }
    case Operation::Kind::kDeleteModel:
      j["model"] = op.model;
      break;
    case Operation::Kind::kAddField:
    case Operation::Kind::kAlterField:
      j["model"] = op.model;
      j["field"] = FieldJson(op.fields.at(0), op.model);
      break;
    case Operation::Kind::kRemoveField:
      j["model"] = op.model;
      j["field"] = op.name;
      break;
    case Operation::Kind::kRenameField:
      j["model"] = op.model;
      j["from"] = op.name;
      j["to"] = op.new_name;
      break;
    case Operation::Kind::kRenameModel:
      j["from"] = op.model;
      j["to"] = op.new_name;
      break;
    case Operation::Kind::kAddIndex:
    case Operation::Kind::kRemoveIndex:
      j["model"] = op.model;
      j["index"] = IndexJson(op.indexes.at(0));
      break;
    case Operation::Kind::kRunSql:
      j["sql"] = op.sql;
      if (op.reverse_sql) j["reverse_sql"] = *op.reverse_sql;
      break;
    case Operation::Kind::kRunCode:
      throw InvalidArgument(
          "a RunCode operation cannot be written to a migration file; add it with "
          "App::AddMigration(Migration::Code(...))");
  }
  return j;
}

// --- Reading -------------------------------------------------------------------------

// Reader reads one operation, naming where it is in errors.
class Reader {
 public:
  explicit Reader(std::string where) : where_(std::move(where)) {}

  [[noreturn]] void Fail(const std::string& what) const {
    throw InvalidArgument(where_ + ": " + what);
  }

  const json& Get(const json& j, const char* key) const {
    auto it = j.find(key);
    if (it == j.end()) Fail(std::string("missing \"") + key + "\"");
    return *it;
  }
  std::string String(const json& j, const char* key) const {
    const json& v = Get(j, key);
    if (!v.is_string()) Fail(std::string("\"") + key + "\" must be a string");
    return v.get<std::string>();
  }
  std::vector<std::string> Strings(const json& v, const char* key) const {
    if (!v.is_array()) Fail(std::string("\"") + key + "\" must be a list of strings");
    std::vector<std::string> out;
    for (const auto& e : v) {
      if (!e.is_string()) Fail(std::string("\"") + key + "\" must be a list of strings");
      out.push_back(e.get<std::string>());
    }
    return out;
  }
  bool Flag(const json& j, const char* key) const {
    auto it = j.find(key);
    if (it == j.end()) return false;
    if (!it->is_boolean()) Fail(std::string("\"") + key + "\" must be true or false");
    return it->get<bool>();
  }

  Value DefaultValue(const json& v) const {
    if (v.is_null()) return Value();
    if (v.is_boolean()) return Value(v.get<bool>());
    if (v.is_number_integer()) return Value(v.get<int64_t>());
    if (v.is_number()) return Value(v.get<double>());
    if (v.is_string()) return Value(v.get<std::string>());
    Fail("\"default\" must be a JSON scalar");
  }

  Field ReadField(const json& j) const {
    if (!j.is_object()) Fail("a field must be an object");
    const std::string name = String(j, "name");
    const bool identifier = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0])) &&
                            std::all_of(name.begin(), name.end(), [](char c) {
                              return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
                            });
    if (!identifier) Fail("field name '" + name + "' must match [a-z_][a-z0-9_]*");
    const std::string type = String(j, "type");
    const TypeName* t = nullptr;
    for (const auto& candidate : kTypes) {
      if (type == candidate.name) t = &candidate;
    }
    if (t == nullptr) Fail("field '" + name + "': unknown type '" + type + "'");
    Field f = t->type == FieldType::kForeignKey ? ForeignKey(name, String(j, "to"), ReadOnDelete(j))
                                                : Field(name, t->type);
    if (t->type == FieldType::kChar) {
      const json& n = Get(j, "max_length");
      // A char column longer than this is a TEXT field; it also keeps get<int> exact.
      constexpr int64_t kMaxLength = 1000000000;
      if (!n.is_number_integer() || n.get<int64_t>() <= 0 || n.get<int64_t>() > kMaxLength) {
        Fail("field '" + name + "': \"max_length\" must be a whole number from 1 to " +
             std::to_string(kMaxLength));
      }
      f.MaxLength(n.get<int>());
    }
    f.Null(Flag(j, "null")).Unique(Flag(j, "unique")).Index(Flag(j, "index"));
    if (auto it = j.find("default"); it != j.end()) f.Default(DefaultValue(*it));
    for (const auto& [key, unused] : j.items()) {
      static const char* const kKeys[] = {"name",  "type",    "max_length", "null",     "unique",
                                          "index", "default", "to",         "on_delete"};
      if (std::find(std::begin(kKeys), std::end(kKeys), key) == std::end(kKeys)) {
        Fail("field '" + name + "': unknown key \"" + key + "\"");
      }
    }
    return f;
  }

  OnDelete ReadOnDelete(const json& j) const {
    const std::string d = j.contains("on_delete") ? String(j, "on_delete") : "cascade";
    if (d == "cascade") return OnDelete::kCascade;
    if (d == "protect") return OnDelete::kProtect;
    if (d == "set_null") return OnDelete::kSetNull;
    Fail("unknown on_delete '" + d + "' (cascade, protect or set_null)");
  }

  Model::IndexSpec ReadIndex(const json& j) const {
    if (!j.is_object()) Fail("an index must be an object");
    return {Strings(Get(j, "fields"), "fields"), Flag(j, "unique")};
  }

  Operation ReadOperation(const json& j) const {
    if (!j.is_object()) Fail("an operation must be an object");
    const std::string kind = String(j, "op");
    if (kind == "CreateModel") {
      const json& fields = Get(j, "fields");
      if (!fields.is_array()) Fail("\"fields\" must be a list");
      std::vector<Field> out;
      for (const auto& f : fields) out.push_back(ReadField(f));
      Model model(String(j, "model"), out);
      if (auto it = j.find("indexes"); it != j.end()) {
        if (!it->is_array()) Fail("\"indexes\" must be a list");
        for (const auto& i : *it) {
          auto spec = ReadIndex(i);
          model.Index(spec.fields, spec.unique);
        }
      }
      return Operation::CreateModel(model);
    }
    if (kind == "DeleteModel") return Operation::DeleteModel(String(j, "model"));
    if (kind == "AddField")
      return Operation::AddField(String(j, "model"), ReadField(Get(j, "field")));
    if (kind == "AlterField") {
      return Operation::AlterField(String(j, "model"), ReadField(Get(j, "field")));
    }
    if (kind == "RemoveField")
      return Operation::RemoveField(String(j, "model"), String(j, "field"));
    if (kind == "RenameField") {
      return Operation::RenameField(String(j, "model"), String(j, "from"), String(j, "to"));
    }
    if (kind == "RenameModel") return Operation::RenameModel(String(j, "from"), String(j, "to"));
    if (kind == "AddIndex" || kind == "RemoveIndex") {
      auto spec = ReadIndex(Get(j, "index"));
      return kind == "AddIndex"
                 ? Operation::AddIndex(String(j, "model"), spec.fields, spec.unique)
                 : Operation::RemoveIndex(String(j, "model"), spec.fields, spec.unique);
    }
    if (kind == "RunSQL") {
      std::optional<std::vector<std::string>> reverse;
      if (auto it = j.find("reverse_sql"); it != j.end()) reverse = Strings(*it, "reverse_sql");
      return Operation::RunSql(Strings(Get(j, "sql"), "sql"), std::move(reverse));
    }
    Fail("unknown operation '" + kind +
         "' (CreateModel, DeleteModel, AddField, RemoveField, AlterField, RenameField, "
         "RenameModel, AddIndex, RemoveIndex, RunSQL)");
  }

 private:
  std::string where_;
};

}  // namespace

std::string WriteMigrationFile(const std::string& app, const std::string& name,
                               const std::vector<Operation>& ops) {
  json operations = json::array();
  for (const auto& op : ops) operations.push_back(OperationJson(op));
  json j = {{"app", app}, {"name", name}, {"operations", operations}};
  return j.dump(2) + "\n";
}

Migration ReadMigrationFile(std::string_view text, const std::string& source) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    // parse_error, and out_of_range for a number no double holds ("2E977").
    throw InvalidArgument(source + ": not valid JSON: " + e.what());
  }
  const Reader top(source);
  if (!j.is_object()) top.Fail("a migration file must be a JSON object");
  Migration m;
  m.name = top.String(j, "name");
  const json& ops = top.Get(j, "operations");
  if (!ops.is_array()) top.Fail("\"operations\" must be a list");
  for (size_t i = 0; i < ops.size(); ++i) {
    const Reader r(source + ": operation " + std::to_string(i + 1));
    try {
      m.operations.push_back(r.ReadOperation(ops[i]));
    } catch (const InvalidArgument& e) {
      const std::string what = e.what();
      if (what.rfind(source, 0) == 0) throw;
      r.Fail(what);  // a Model or Field refused the declaration
    }
  }
  return m;
}

}  // namespace rpcforge::db
