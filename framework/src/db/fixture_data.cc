// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/db/fixture_data.h"

#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <utility>

#include "core/strings.h"
#include "db/dialect.h"
#include "db/sql.h"
#include "rpcforge/db/errors.h"
#include "rpcforge/db/model.h"
#include "rpcforge/db/query.h"
#include "rpcforge/errors.h"

namespace rpcforge::db {
namespace {

using Json = nlohmann::json;

const char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string Base64Encode(const Blob& data) {
  std::string out;
  size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    const uint32_t n = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
    out += kB64[(n >> 18) & 63];
    out += kB64[(n >> 12) & 63];
    out += kB64[(n >> 6) & 63];
    out += kB64[n & 63];
  }
  if (i < data.size()) {
    uint32_t n = data[i] << 16;
    if (i + 1 < data.size()) n |= data[i + 1] << 8;
    out += kB64[(n >> 18) & 63];
    out += kB64[(n >> 12) & 63];
    out += i + 1 < data.size() ? kB64[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

bool Base64Decode(const std::string& text, Blob* out) {
  uint32_t buf = 0;
  int bits = 0;
  size_t pad = 0;
  for (char c : text) {
    if (c == '=') {
      ++pad;
      continue;
    }
    if (pad > 0) return false;
    const char* p = std::strchr(kB64, c);
    if (c == '\0' || p == nullptr) return false;
    buf = (buf << 6) | static_cast<uint32_t>(p - kB64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<uint8_t>((buf >> bits) & 0xff));
    }
  }
  return pad <= 2 && (text.size() % 4 == 0);
}

// FromJson converts a JSON field value for `field`; on a type mismatch it returns
// false and sets *error.
bool FromJson(const Field& field, const Json& j, Value* out, std::string* error) {
  if (j.is_null()) {
    *out = Value();
    return true;
  }
  switch (field.type()) {
    case FieldType::kAutoId:
    case FieldType::kInteger:
    case FieldType::kBigInteger:
    case FieldType::kForeignKey:
      if (j.is_number_integer()) {
        *out = Value(j.get<int64_t>());
        return true;
      }
      *error = "Expected an integer.";
      return false;
    case FieldType::kFloat:
      if (j.is_number()) {
        *out = Value(j.get<double>());
        return true;
      }
      *error = "Expected a number.";
      return false;
    case FieldType::kBool:
      if (j.is_boolean()) {
        *out = Value(j.get<bool>());
        return true;
      }
      *error = "Expected true or false.";
      return false;
    case FieldType::kChar:
    case FieldType::kText:
    case FieldType::kDateTime:
    case FieldType::kDate:
      if (j.is_string()) {
        *out = Value(j.get<std::string>());
        return true;
      }
      *error = "Expected a string.";
      return false;
    case FieldType::kBinary: {
      Blob blob;
      if (j.is_string() && Base64Decode(j.get<std::string>(), &blob)) {
        *out = Value(std::move(blob));
        return true;
      }
      *error = "Expected a base64 string.";
      return false;
    }
    case FieldType::kJson:
      *out = Value(j.dump());
      return true;
  }
  return false;
}

Json ToJson(const Field& field, const Value& v) {
  if (v.is_null()) return nullptr;
  switch (field.type()) {
    case FieldType::kBool:
      return v.AsBool();
    case FieldType::kFloat:
      return v.AsDouble();
    case FieldType::kBinary:
      return Base64Encode(v.AsBlob());
    case FieldType::kJson:
      // Tables made before JSON columns were TEXT hold JSON numbers as numbers.
      if (v.type() == Value::Type::kInt) return v.AsInt();
      if (v.type() == Value::Type::kDouble) return v.AsDouble();
      return Json::parse(v.AsText(), nullptr, /*allow_exceptions=*/false);
    case FieldType::kDateTime:
      return v.type() == Value::Type::kTime ? FormatTimestamp(v.AsTime()) : v.AsText();
    default:
      break;
  }
  switch (v.type()) {
    case Value::Type::kInt:
      return v.AsInt();
    case Value::Type::kDouble:
      return v.AsDouble();
    case Value::Type::kText:
      return v.AsText();
    default:
      return v.ToString();
  }
}

struct Prepared {
  const Model* model;
  std::optional<int64_t> pk;
  Values values;      // field name -> value, defaults filled
  std::string where;  // "<source>[<index>]"
};

}  // namespace

int LoadData(Database& db, const Registry& registry, const std::vector<std::string>& files,
             std::ostream& out) {
  std::vector<FixtureSource> sources;
  ValidationError error;
  for (const auto& path : files) {
    std::string text;
    if (!strings::ReadFile(path, &text)) {
      error.Add(path, "Cannot read the fixture file.");
      continue;
    }
    sources.push_back({path, std::move(text)});
  }
  error.ThrowIfAny();
  return LoadFixtures(db, registry, sources, out);
}

int LoadFixtures(Database& db, const Registry& registry, const std::vector<FixtureSource>& sources,
                 std::ostream& out) {
  ValidationError error;
  std::vector<Prepared> objects;
  const Clock::TimePoint now = db.clock().Now();
  for (const auto& source : sources) {
    Json doc = Json::parse(source.text, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) {
      error.Add(source.name, "Not valid JSON.");
      continue;
    }
    if (!doc.is_array()) {
      error.Add(source.name, "Expected a JSON array of objects.");
      continue;
    }
    for (size_t i = 0; i < doc.size(); ++i) {
      const std::string where = source.name + "[" + std::to_string(i) + "]";
      const Json& obj = doc[i];
      if (!obj.is_object() || !obj.contains("model") || !obj["model"].is_string()) {
        error.Add(where, "Expected an object with a \"model\" string.");
        continue;
      }
      const std::string label = obj["model"].get<std::string>();
      const Model* model = registry.FindModel(label);
      if (model == nullptr) {
        error.Add(where, "Unknown model '" + label + "'.");
        continue;
      }
      Prepared p{model, std::nullopt, {}, where};
      if (obj.contains("pk") && !obj["pk"].is_null()) {
        if (!obj["pk"].is_number_integer()) {
          error.Add(where + ".pk", "Expected an integer.");
          continue;
        }
        p.pk = obj["pk"].get<int64_t>();
      }
      const Json fields = obj.contains("fields") ? obj["fields"] : Json::object();
      if (!fields.is_object()) {
        error.Add(where + ".fields", "Expected an object.");
        continue;
      }
      bool ok = true;
      for (const auto& [name, j] : fields.items()) {
        const Field* f = model->FindField(name);
        if (f == nullptr || f->primary_key()) {
          error.Add(where + "." + name, "Unknown field of " + label + ".");
          ok = false;
          continue;
        }
        Value v;
        std::string message;
        if (!FromJson(*f, j, &v, &message)) {
          error.Add(where + "." + f->name(), message);
          ok = false;
          continue;
        }
        p.values.emplace_back(f->name(), std::move(v));
      }
      if (!ok) continue;
      for (const auto& f : model->fields()) {
        if (f.primary_key()) continue;
        bool given = false;
        for (const auto& [name, v] : p.values) given = given || name == f.name();
        if (given) continue;
        if (f.auto_now() || f.auto_now_add()) {
          p.values.emplace_back(f.name(), Value(now));
        } else if (f.default_value()) {
          p.values.emplace_back(f.name(), *f.default_value());
        } else if (f.null()) {
          p.values.emplace_back(f.name(), Value());
        }
      }
      try {
        model->Validate(p.values);
      } catch (const ValidationError& e) {
        for (const auto& v : e.violations()) error.Add(where + "." + v.field, v.description);
        continue;
      }
      objects.push_back(std::move(p));
    }
  }
  error.ThrowIfAny();

  Transaction tx = db.Atomic();
  const db_internal::Dialect& dialect = db_internal::DialectOf(db);
  db.Execute(dialect.DeferForeignKeysSql(true));
  std::map<std::pair<std::string, int64_t>, std::string> origin;    // (table, pk) -> where
  std::vector<std::pair<std::string, std::vector<Value>>> inserts;  // one per object
  inserts.reserve(objects.size());
  for (const auto& p : objects) {
    std::string cols;
    std::string marks;
    std::string updates;
    std::vector<Value> params;
    const std::string pk_col = sql::Quote(p.model->pk().column());
    if (p.pk) {
      cols = pk_col;
      marks = "?";
      params.emplace_back(*p.pk);
    }
    for (const auto& [name, v] : p.values) {
      const Field& f = p.model->GetField(name);
      const std::string col = sql::Quote(f.column());
      cols += (cols.empty() ? "" : ", ") + col;
      marks += marks.empty() ? "?" : ", ?";
      updates += (updates.empty() ? "" : ", ") + col + " = excluded." + col;
      params.push_back(Model::ToStorage(f, v));
    }
    std::string sql =
        "INSERT INTO " + sql::Quote(p.model->table()) + " (" + cols + ") VALUES (" + marks + ")";
    if (p.pk) {
      sql += " ON CONFLICT(" + pk_col + ") DO " +
             (updates.empty() ? std::string("NOTHING") : "UPDATE SET " + updates);
    }
    inserts.emplace_back(std::move(sql), std::move(params));
  }
  // write writes object i, in a savepoint of its own if `savepoint`; a failure is
  // rethrown (`rethrow`) or named in `error`.
  auto write = [&](size_t i, bool savepoint, bool rethrow) {
    const Prepared& p = objects[i];
    std::optional<Transaction> attempt;
    if (savepoint) attempt.emplace(db.Atomic());
    try {
      const ExecResult r = db.Execute(inserts[i].first, inserts[i].second);
      if (attempt) attempt->Commit();
      origin[{p.model->table(), p.pk ? *p.pk : r.last_insert_id}] = p.where;
    } catch (const DatabaseError& e) {
      if (rethrow) throw;
      if (attempt) attempt->Rollback();
      const char* what = e.kind() == DatabaseErrorKind::kUniqueViolation
                             ? "a value that must be unique is taken: "
                             : "";
      error.Add(p.where,
                std::string("Could not load ") + p.model->label() + ": " + what + e.what());
    }
  };
  // Where a failed statement aborts the transaction (PostgreSQL), the objects go in one
  // savepoint first, so a clean load costs one round trip each. Only when one fails is
  // the load written again object by object, each in a savepoint, so it goes on and
  // names every object that fails (as SQLite, which undoes just the statement, does).
  const bool aborts = db.failed_statement_aborts_transaction();
  bool written = false;
  if (aborts) {
    try {
      Transaction all = db.Atomic();
      for (size_t i = 0; i < objects.size(); ++i) write(i, false, true);
      all.Commit();
      written = true;
    } catch (const DatabaseError&) {
      origin.clear();  // rolled back with the savepoint
    }
  }
  if (!written) {
    for (size_t i = 0; i < objects.size(); ++i) write(i, aborts, false);
  }
  // Name the objects whose references dangle instead of failing at COMMIT.
  for (const db_internal::ForeignKeyViolation& v : dialect.ForeignKeyViolations(db)) {
    auto it = origin.find({v.table, v.rowid});
    const std::string where =
        it != origin.end() ? it->second : v.table + " row " + std::to_string(v.rowid);
    error.Add(where, "References a missing " + v.parent + " row.");
  }
  if (!error.empty()) {
    tx.Rollback();  // nothing is loaded
    // Inside an outer transaction (a pinned test) the deferral would outlive the scope;
    // a transaction's end ends it on both engines.
    if (db.in_atomic()) db.Execute(dialect.DeferForeignKeysSql(false));
    throw error;
  }
  db.Execute(dialect.DeferForeignKeysSql(false));
  std::vector<std::string> tables;
  for (const auto& p : objects) {
    if (p.pk && std::find(tables.begin(), tables.end(), p.model->table()) == tables.end()) {
      tables.push_back(p.model->table());
    }
  }
  dialect.SyncIds(db, tables);  // explicit ids: the next generated one follows them
  tx.Commit();
  out << "Installed " << objects.size() << " object(s) from " << sources.size() << " fixture(s)\n";
  return static_cast<int>(objects.size());
}

void DumpData(Database& db, const Registry& registry, const std::vector<std::string>& labels,
              std::ostream& out, int indent) {
  std::vector<const Model*> models;
  if (labels.empty()) {
    models = registry.models();
  } else {
    for (const auto& label : labels) {
      if (label.find('.') != std::string::npos) {
        models.push_back(&registry.GetModel(label));
        continue;
      }
      const App* app = nullptr;
      for (const auto& a : registry.apps()) {
        if (a->label() == label) app = a.get();
      }
      if (app == nullptr) throw InvalidArgument("unknown app or model '" + label + "'");
      for (const Model* m : app->models()) models.push_back(m);
    }
  }
  Json doc = Json::array();
  for (const Model* model : models) {
    model->Objects(db).OrderBy({"pk"}).ForEach([&](const Row& row) {
      Json fields = Json::object();
      for (const auto& f : model->fields()) {
        if (f.primary_key()) continue;
        fields[f.name()] = ToJson(f, row[f.column()]);
      }
      doc.push_back(Json{{"model", model->label()},
                         {"pk", row[model->pk().column()].AsInt()},
                         {"fields", std::move(fields)}});
    });
  }
  out << doc.dump(indent) << "\n";
}

}  // namespace rpcforge::db
