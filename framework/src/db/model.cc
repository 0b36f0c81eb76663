// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/db/model.h"

#include <cstdio>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "db/sql.h"
#include "rpcforge/clock.h"
#include "rpcforge/db/query.h"
#include "rpcforge/errors.h"

namespace rpcforge::db {
namespace {

bool IsIdentifier(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  if (!(s[0] == '_' || (s[0] >= 'a' && s[0] <= 'z'))) return false;
  for (char c : s) {
    if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

void CheckName(const std::string& name, const char* what) {
  if (!IsIdentifier(name)) {
    throw InvalidArgument(std::string("invalid ") + what + " '" + name +
                          "': use lower-case letters, digits and '_'");
  }
}

size_t Utf8Length(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

std::string FormatNumber(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", v);
  return buf;
}

bool IsValidDate(const std::string& s) {
  int y, m, d, n = 0;
  if (s.size() != 10 || std::sscanf(s.c_str(), "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10) {
    return false;
  }
  return IsCalendarDate(y, m, d);
}

const char* TypeLabel(FieldType t) {
  switch (t) {
    case FieldType::kAutoId:
    case FieldType::kInteger:
    case FieldType::kBigInteger:
    case FieldType::kForeignKey:
      return "an integer";
    case FieldType::kFloat:
      return "a number";
    case FieldType::kBool:
      return "a boolean";
    case FieldType::kChar:
    case FieldType::kText:
      return "a string";
    case FieldType::kDateTime:
      return "a datetime";
    case FieldType::kDate:
      return "a date (YYYY-MM-DD)";
    case FieldType::kBinary:
      return "binary data";
    case FieldType::kJson:
      return "a JSON string";
  }
  return "?";
}

// TypeMatches is true when `v` (non-null) is acceptable for `type`.
bool TypeMatches(FieldType type, const Value& v) {
  using T = Value::Type;
  switch (type) {
    case FieldType::kAutoId:
    case FieldType::kInteger:
    case FieldType::kBigInteger:
    case FieldType::kForeignKey:
      return v.type() == T::kInt;
    case FieldType::kFloat:
      return v.type() == T::kInt || v.type() == T::kDouble;
    case FieldType::kBool:
      return v.type() == T::kBool || (v.type() == T::kInt && (v.AsInt() == 0 || v.AsInt() == 1));
    case FieldType::kChar:
    case FieldType::kText:
      return v.type() == T::kText;
    case FieldType::kDateTime: {
      if (v.type() == T::kTime) return true;
      Clock::TimePoint t;
      return v.type() == T::kText && ParseTimestamp(v.AsText(), &t);
    }
    case FieldType::kDate:
      return v.type() == T::kText && IsValidDate(v.AsText());
    case FieldType::kBinary:
      return v.type() == T::kBlob;
    case FieldType::kJson:
      return v.type() == T::kText && nlohmann::json::accept(v.AsText());
  }
  return false;
}

bool IsNumeric(FieldType t) {
  return t == FieldType::kInteger || t == FieldType::kBigInteger || t == FieldType::kFloat;
}

}  // namespace

// --- Field -----------------------------------------------------------------------------

Field::Field(std::string name, FieldType type)
    : name_(std::move(name)), column_(name_), type_(type) {}

Field Field::Renamed(std::string name) const {
  Field f = *this;
  f.name_ = std::move(name);
  f.column_ = type_ == FieldType::kForeignKey ? f.name_ + "_id" : f.name_;
  return f;
}

Field& Field::Null(bool v) {
  null_ = v;
  return *this;
}
Field& Field::Blank(bool v) {
  blank_ = v;
  return *this;
}
Field& Field::Default(Value v) {
  default_ = std::move(v);
  return *this;
}
Field& Field::Unique(bool v) {
  unique_ = v;
  return *this;
}
Field& Field::Index(bool v) {
  index_ = v;
  return *this;
}
Field& Field::Choices(std::vector<Value> choices) {
  choices_ = std::move(choices);
  return *this;
}
Field& Field::MaxLength(int n) {
  max_length_ = n;
  return *this;
}
Field& Field::MinValue(double v) {
  min_ = v;
  return *this;
}
Field& Field::MaxValue(double v) {
  max_ = v;
  return *this;
}
Field& Field::Email() {
  return Regex(R"([^@\s]+@[^@\s]+\.[^@\s]+)", "Enter a valid email address.");
}
Field& Field::Regex(const std::string& pattern, std::string message) {
  auto re = std::make_shared<std::regex>(pattern, std::regex::ECMAScript);
  if (message.empty()) message = "Enter a valid value.";
  validators_.push_back([re, message](const Value& v) -> std::optional<std::string> {
    if (v.type() == Value::Type::kText && std::regex_match(v.AsText(), *re)) {
      return std::nullopt;
    }
    return message;
  });
  return *this;
}
Field& Field::Validate(Validator v) {
  validators_.push_back(std::move(v));
  return *this;
}
Field& Field::AutoNow() {
  auto_now_ = true;
  return *this;
}
Field& Field::AutoNowAdd() {
  auto_now_add_ = true;
  return *this;
}
Field& Field::HelpText(std::string text) {
  help_text_ = std::move(text);
  return *this;
}

std::vector<std::string> Field::Check(const Value& v) const {
  std::vector<std::string> errors;
  if (v.is_null()) {
    if (!null_) errors.emplace_back("This field cannot be null.");
    return errors;
  }
  if (!TypeMatches(type_, v)) {
    if (v.type() == Value::Type::kText) {
      if (type_ == FieldType::kJson) errors.emplace_back("Enter valid JSON.");
      if (type_ == FieldType::kDate) errors.emplace_back("Enter a valid date (YYYY-MM-DD).");
      if (type_ == FieldType::kDateTime) {
        errors.emplace_back("Enter a valid datetime (RFC 3339, UTC).");
      }
      if (!errors.empty()) return errors;
    }
    errors.push_back(std::string("Expected ") + TypeLabel(type_) + ", got " + TypeName(v.type()) +
                     ".");
    return errors;
  }
  if (type_ == FieldType::kChar || type_ == FieldType::kText) {
    const std::string& s = v.AsText();
    if (s.empty() && !blank_) errors.emplace_back("This field cannot be blank.");
    if (max_length_ > 0 && Utf8Length(s) > static_cast<size_t>(max_length_)) {
      errors.push_back("Ensure this value has at most " + std::to_string(max_length_) +
                       " characters (it has " + std::to_string(Utf8Length(s)) + ").");
    }
  }
  if (!choices_.empty()) {
    const Value stored = Model::ToStorage(*this, v);
    bool found = false;
    for (const auto& c : choices_) found = found || Model::ToStorage(*this, c) == stored;
    if (!found) errors.push_back("Value " + v.ToString() + " is not a valid choice.");
  }
  if (IsNumeric(type_)) {
    const double d = v.AsDouble();
    if (min_ && d < *min_) {
      errors.push_back("Ensure this value is greater than or equal to " + FormatNumber(*min_) +
                       ".");
    }
    if (max_ && d > *max_) {
      errors.push_back("Ensure this value is less than or equal to " + FormatNumber(*max_) + ".");
    }
  }
  if (!(v.type() == Value::Type::kText && v.AsText().empty() && blank_)) {
    for (const auto& validator : validators_) {
      if (auto message = validator(v)) errors.push_back(*message);
    }
  }
  return errors;
}

Field AutoField(std::string name) { return Field(std::move(name), FieldType::kAutoId); }
Field IntegerField(std::string name) { return Field(std::move(name), FieldType::kInteger); }
Field BigIntegerField(std::string name) { return Field(std::move(name), FieldType::kBigInteger); }
Field FloatField(std::string name) { return Field(std::move(name), FieldType::kFloat); }
Field BoolField(std::string name) { return Field(std::move(name), FieldType::kBool); }
Field CharField(std::string name, int max_length) {
  return Field(std::move(name), FieldType::kChar).MaxLength(max_length);
}
Field TextField(std::string name) { return Field(std::move(name), FieldType::kText); }
Field DateTimeField(std::string name) { return Field(std::move(name), FieldType::kDateTime); }
Field DateField(std::string name) { return Field(std::move(name), FieldType::kDate); }
Field BinaryField(std::string name) { return Field(std::move(name), FieldType::kBinary); }
Field JsonField(std::string name) { return Field(std::move(name), FieldType::kJson); }
Field ForeignKey(std::string name, std::string target, OnDelete on_delete) {
  Field f(std::move(name), FieldType::kForeignKey);
  f.column_ = f.name_ + "_id";
  f.target_ = std::move(target);
  f.on_delete_ = on_delete;
  return f;
}

// --- Model -----------------------------------------------------------------------------

Model::Model(std::string label, std::vector<Field> fields)
    : label_(std::move(label)), fields_(std::move(fields)) {
  const auto dot = label_.find('.');
  if (dot == std::string::npos || label_.find('.', dot + 1) != std::string::npos) {
    throw InvalidArgument("model label '" + label_ + "' must be 'app.model'");
  }
  app_ = label_.substr(0, dot);
  CheckName(app_, "app label");
  CheckName(label_.substr(dot + 1), "model name");
  table_ = app_ + "_" + label_.substr(dot + 1);

  bool has_pk = false;
  for (const auto& f : fields_) has_pk = has_pk || f.primary_key();
  if (!has_pk) fields_.insert(fields_.begin(), AutoField("id"));

  int pks = 0;
  for (size_t i = 0; i < fields_.size(); ++i) {
    const Field& f = fields_[i];
    CheckName(f.name(), "field name");
    if (f.name() == "pk") throw InvalidArgument(label_ + ": 'pk' is reserved");
    if (f.primary_key()) {
      pk_index_ = i;
      ++pks;
    }
    if (f.type() == FieldType::kChar && f.max_length() <= 0) {
      throw InvalidArgument(label_ + "." + f.name() + ": char fields need a max_length");
    }
    if (f.type() == FieldType::kForeignKey) {
      if (f.target().find('.') == std::string::npos) {
        throw InvalidArgument(label_ + "." + f.name() + ": foreign key target '" + f.target() +
                              "' must be 'app.model'");
      }
      if (f.on_delete() == OnDelete::kSetNull && !f.null()) {
        throw InvalidArgument(label_ + "." + f.name() + ": OnDelete::kSetNull needs Null()");
      }
    }
    if ((f.auto_now() || f.auto_now_add()) && f.type() != FieldType::kDateTime) {
      throw InvalidArgument(label_ + "." + f.name() + ": auto_now needs a datetime field");
    }
  }
  if (pks != 1) throw InvalidArgument(label_ + ": exactly one primary key is allowed");
  std::set<std::string> seen;
  for (const auto& f : fields_) {
    if (!seen.insert(f.name()).second ||
        (f.column() != f.name() && !seen.insert(f.column()).second)) {
      throw InvalidArgument(label_ + ": duplicate field '" + f.name() + "'");
    }
  }
}

Model& Model::Index(std::vector<std::string> fields, bool unique) {
  for (const auto& name : fields) GetField(name);
  indexes_.push_back({std::move(fields), unique});
  return *this;
}

Model& Model::Ordering(std::vector<std::string> fields) {
  for (const auto& name : fields) GetField(!name.empty() && name[0] == '-' ? name.substr(1) : name);
  ordering_ = std::move(fields);
  return *this;
}

const Field* Model::FindField(std::string_view name) const noexcept {
  if (name == "pk") return &fields_[pk_index_];
  for (const auto& f : fields_) {
    if (f.name() == name || f.column() == name) return &f;
  }
  return nullptr;
}

const Field& Model::GetField(std::string_view name) const {
  const Field* f = FindField(name);
  if (f == nullptr) {
    throw InvalidArgument(label_ + " has no field '" + std::string(name) + "'");
  }
  return *f;
}

namespace {

// ColumnSql is one column of a CREATE TABLE: name, type and constraints.
std::string ColumnSql(const Field& f) {
  std::string sql = sql::Quote(f.column()) + " ";
  switch (f.type()) {
    case FieldType::kAutoId:
      sql += "INTEGER PRIMARY KEY AUTOINCREMENT";
      return sql;
    case FieldType::kInteger:
    case FieldType::kBigInteger:
    case FieldType::kForeignKey:
      sql += "INTEGER";
      break;
    case FieldType::kBool:
      sql += "BOOL";
      break;
    case FieldType::kFloat:
      sql += "REAL";
      break;
    case FieldType::kChar:
      sql += "VARCHAR(" + std::to_string(f.max_length()) + ")";
      break;
    case FieldType::kText:
      sql += "TEXT";
      break;
    case FieldType::kDateTime:
      sql += "DATETIME";
      break;
    case FieldType::kDate:
      sql += "DATE";
      break;
    case FieldType::kBinary:
      sql += "BLOB";
      break;
    case FieldType::kJson:
      // TEXT, not JSON: SQLite gives a column declared JSON NUMERIC affinity, which
      // stores a JSON number ("2", "0.1234567890123456789") as an INTEGER or a REAL
      // of 15 digits instead of the text that was written.
      sql += "TEXT";
      break;
  }
  sql += f.null() ? " NULL" : " NOT NULL";
  if (f.unique()) sql += " UNIQUE";
  if (f.type() == FieldType::kBool) sql += " CHECK (" + sql::Quote(f.column()) + " IN (0, 1))";
  if (f.type() == FieldType::kJson) {
    sql += " CHECK (" + sql::Quote(f.column()) + " IS NULL OR json_valid(" +
           sql::Quote(f.column()) + "))";
  }
  if (f.type() == FieldType::kForeignKey) {
    sql += " REFERENCES " + sql::Quote(sql::TableForLabel(f.target())) + " (\"id\")";
    if (f.on_delete() == OnDelete::kCascade) sql += " ON DELETE CASCADE";
    if (f.on_delete() == OnDelete::kSetNull) sql += " ON DELETE SET NULL";
    // kProtect: NO ACTION, so a delete fails while references exist (and tools that
    // defer foreign keys, like loaddata and flush, still work).
  }
  return sql;
}

}  // namespace

std::string Model::CreateTableSql(std::string_view table) const {
  std::string sql = "CREATE TABLE " + sql::Quote(table) + " (";
  for (size_t i = 0; i < fields_.size(); ++i) sql += (i > 0 ? ", " : "") + ColumnSql(fields_[i]);
  return sql + ")";
}

namespace {

// IndexedColumns lists each index of `m` as (name, unique, columns), in IndexSql order.
struct IndexDef {
  std::string name;
  bool unique;
  std::string columns;
};

std::vector<IndexDef> IndexDefs(const Model& m) {
  std::vector<IndexDef> out;
  for (const auto& f : m.fields()) {
    if ((f.indexed() || f.type() == FieldType::kForeignKey) && !f.unique()) {
      out.push_back({m.table() + "_" + f.column() + "_idx", false, sql::Quote(f.column())});
    }
  }
  for (const auto& index : m.indexes()) {
    std::string name = m.table();
    std::string cols;
    for (const auto& fname : index.fields) {
      const Field& f = m.GetField(fname);
      name += "_" + f.column();
      if (!cols.empty()) cols += ", ";
      cols += sql::Quote(f.column());
    }
    out.push_back({name + (index.unique ? "_uniq" : "_idx"), index.unique, cols});
  }
  return out;
}

}  // namespace

std::vector<std::string> Model::IndexSql() const {
  std::vector<std::string> out;
  for (const IndexDef& d : IndexDefs(*this)) {
    out.push_back(std::string(d.unique ? "CREATE UNIQUE INDEX " : "CREATE INDEX ") +
                  sql::Quote(d.name) + " ON " + sql::Quote(table_) + " (" + d.columns + ")");
  }
  return out;
}

std::vector<std::string> Model::IndexNames() const {
  std::vector<std::string> out;
  for (const IndexDef& d : IndexDefs(*this)) out.push_back(d.name);
  return out;
}

std::vector<std::string> Model::CreateSql() const {
  std::vector<std::string> out{CreateTableSql(table_)};
  for (auto& sql : IndexSql()) out.push_back(std::move(sql));
  return out;
}

void Model::Validate(const Values& values, bool partial) const {
  ValidationError error;
  std::set<const Field*> given;
  for (const auto& [name, value] : values) {
    const Field& f = GetField(name);
    given.insert(&f);
    for (auto& message : f.Check(value)) error.Add(f.name(), std::move(message));
  }
  if (!partial) {
    for (const auto& f : fields_) {
      if (f.primary_key() || given.count(&f) > 0) continue;
      if (!f.null() && !f.default_value() && !f.auto_now() && !f.auto_now_add()) {
        error.Add(f.name(), "This field is required.");
      }
    }
  }
  error.ThrowIfAny();
}

Value Model::ToStorage(const Field& field, const Value& v) {
  if (v.is_null()) return v;
  switch (field.type()) {
    case FieldType::kBool:
      if (v.type() == Value::Type::kBool || v.type() == Value::Type::kInt) {
        return Value(static_cast<int64_t>(v.AsBool() ? 1 : 0));
      }
      return v;
    case FieldType::kDateTime:
      if (v.type() == Value::Type::kText) {
        Clock::TimePoint t;
        if (ParseTimestamp(v.AsText(), &t)) return Value(FormatTimestamp(t));
      }
      if (v.type() == Value::Type::kTime) return Value(FormatTimestamp(v.AsTime()));
      return v;
    case FieldType::kFloat:
      if (v.type() == Value::Type::kInt) return Value(v.AsDouble());
      return v;
    default:
      return v;
  }
}

Value Model::FromStorage(const Field& field, const Value& v) {
  if (v.is_null()) return v;
  switch (field.type()) {
    case FieldType::kBool:
      if (v.type() == Value::Type::kInt) return Value(v.AsInt() != 0);
      return v;
    case FieldType::kDateTime:
      if (v.type() == Value::Type::kText) {
        Clock::TimePoint t;
        if (ParseTimestamp(v.AsText(), &t)) return Value(t);
      }
      return v;
    case FieldType::kFloat:
      if (v.type() == Value::Type::kInt) return Value(v.AsDouble());
      return v;
    default:
      return v;
  }
}

QuerySet Model::Objects(Database& db) const { return QuerySet(db, *this); }

}  // namespace rpcforge::db
