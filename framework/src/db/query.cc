// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/db/query.h"

#include <limits>
#include <utility>

#include "core/logging.h"
#include "db/dialect.h"
#include "db/sql.h"
#include "rpcforge/db/errors.h"

namespace rpcforge::db {
namespace {

const char* const kOps[] = {"exact",     "iexact",     "lt",          "lte",
                            "gt",        "gte",        "in",          "contains",
                            "icontains", "startswith", "istartswith", "isnull"};

bool IsOp(std::string_view s) {
  for (const char* op : kOps) {
    if (s == op) return true;
  }
  return false;
}

// Translate maps a constraint violation to the framework's errors, naming the model.
// SQLite's own message names tables and columns, so it goes to the log, not to the
// client.
[[noreturn]] void Translate(const Model& model, const DatabaseError& e) {
  if (e.kind() == DatabaseErrorKind::kUniqueViolation) {
    RPCFORGE_LOG_INFO("db", "{}: {}", model.label(), e.what());
    throw AlreadyExists(model.label() + ": an object with the same unique value already exists");
  }
  if (e.kind() == DatabaseErrorKind::kForeignKeyViolation) {
    RPCFORGE_LOG_INFO("db", "{}: {}", model.label(), e.what());
    throw FailedPrecondition(model.label() +
                             ": a referenced object is missing or a protected reference "
                             "still exists");
  }
  throw;
}

Row MakeRow(const std::vector<const Field*>& fields,
            const std::shared_ptr<const std::vector<std::string>>& columns, const Row& raw) {
  std::vector<Value> values;
  values.reserve(fields.size());
  for (size_t i = 0; i < fields.size(); ++i) {
    values.push_back(Model::FromStorage(*fields[i], raw.at(i)));
  }
  return Row(columns, std::move(values));
}

}  // namespace

QuerySet::QuerySet(Database& db, const Model& model) : db_(&db), model_(&model) {}

QuerySet QuerySet::AddCondition(bool negate, std::string_view lookup, std::vector<Value> values,
                                bool is_list) const {
  std::string_view field_name = lookup;
  std::string op = "exact";
  const auto pos = lookup.rfind("__");
  if (pos != std::string_view::npos) {
    field_name = lookup.substr(0, pos);
    op = std::string(lookup.substr(pos + 2));
    if (!IsOp(op)) {
      throw InvalidArgument(model_->label() + ": unknown lookup '" + op + "' in '" +
                            std::string(lookup) + "'");
    }
  }
  const Field& field = model_->GetField(field_name);
  if ((op == "in") != is_list) {
    throw InvalidArgument(model_->label() + ": lookup '" + std::string(lookup) +
                          (is_list ? "' does not take a list" : "' needs a list of values"));
  }
  const std::string col = sql::Quote(field.column());
  Condition c;
  c.negate = negate;
  std::string shown;
  for (const auto& v : values) shown += (shown.empty() ? "" : ", ") + v.ToString();
  c.description =
      field.name() + (op == "exact" ? "" : "__" + op) + "=" + (is_list ? "[" + shown + "]" : shown);
  auto stored = [&](const Value& v) { return Model::ToStorage(field, v); };
  const db_internal::Dialect& dialect = db_internal::DialectOf(*db_);
  const std::string ilike = " " + dialect.CaseInsensitiveLike() + " ? ESCAPE '\\'";
  auto text = [&](const Value& v) -> std::string {
    if (v.type() != Value::Type::kText) {
      throw InvalidArgument(model_->label() + ": lookup '" + std::string(lookup) +
                            "' needs a text value");
    }
    return v.AsText();
  };
  if (op == "in") {
    if (values.empty()) {
      c.sql = "1 = 0";  // a boolean on every engine (PostgreSQL refuses WHERE 0)
    } else {
      c.sql = col + " IN (" + sql::Placeholders(values.size()) + ")";
      for (const auto& v : values) c.params.push_back(stored(v));
    }
  } else if (op == "isnull") {
    c.sql = col + (values[0].AsBool() ? " IS NULL" : " IS NOT NULL");
  } else if (op == "exact" && values[0].is_null()) {
    c.sql = col + " IS NULL";
  } else if (op == "exact" || op == "lt" || op == "lte" || op == "gt" || op == "gte") {
    static const std::pair<const char*, const char*> kCmp[] = {
        {"exact", " = ?"}, {"lt", " < ?"}, {"lte", " <= ?"}, {"gt", " > ?"}, {"gte", " >= ?"}};
    for (const auto& [name, tail] : kCmp) {
      if (op == name) c.sql = col + tail;
    }
    c.params.push_back(stored(values[0]));
  } else if (op == "iexact") {
    c.sql = col + ilike;
    c.params.emplace_back(sql::EscapeLike(text(values[0])));
  } else if (op == "icontains") {
    c.sql = col + ilike;
    c.params.emplace_back("%" + sql::EscapeLike(text(values[0])) + "%");
  } else if (op == "istartswith") {
    c.sql = col + ilike;
    c.params.emplace_back(sql::EscapeLike(text(values[0])) + "%");
  } else if (op == "contains") {
    c.sql = dialect.Position(col) + " > 0";
    c.params.emplace_back(text(values[0]));
  } else if (op == "startswith") {
    // The first occurrence is at 1 exactly when the value starts with it.
    c.sql = dialect.Position(col) + " = 1";
    c.params.emplace_back(text(values[0]));
  }
  QuerySet copy = *this;
  copy.conditions_ =
      std::make_shared<const ConditionNode>(ConditionNode{std::move(c), conditions_});
  ++copy.condition_count_;
  return copy;
}

QuerySet QuerySet::Filter(std::string_view lookup, Value value) const {
  return AddCondition(false, lookup, {std::move(value)}, false);
}
QuerySet QuerySet::Filter(std::string_view lookup, std::vector<Value> values) const {
  return AddCondition(false, lookup, std::move(values), true);
}
QuerySet QuerySet::Exclude(std::string_view lookup, Value value) const {
  return AddCondition(true, lookup, {std::move(value)}, false);
}
QuerySet QuerySet::Exclude(std::string_view lookup, std::vector<Value> values) const {
  return AddCondition(true, lookup, std::move(values), true);
}

QuerySet QuerySet::OrderBy(std::vector<std::string> fields) const {
  for (const auto& f : fields) {
    model_->GetField(!f.empty() && f[0] == '-' ? std::string_view(f).substr(1) : f);
  }
  QuerySet copy = *this;
  copy.order_ = std::move(fields);
  return copy;
}

QuerySet QuerySet::Limit(int64_t n) const {
  if (n < 0) throw InvalidArgument("limit must not be negative");
  QuerySet copy = *this;
  copy.limit_ = n;
  return copy;
}

QuerySet QuerySet::Offset(int64_t n) const {
  if (n < 0) throw InvalidArgument("offset must not be negative");
  QuerySet copy = *this;
  copy.offset_ = n;
  return copy;
}

QuerySet QuerySet::Select(std::vector<std::string> fields) const {
  for (const auto& f : fields) model_->GetField(f);
  QuerySet copy = *this;
  copy.select_ = std::move(fields);
  return copy;
}

std::vector<const Field*> QuerySet::SelectedFields() const {
  std::vector<const Field*> out;
  if (select_.empty()) {
    for (const auto& f : model_->fields()) out.push_back(&f);
  } else {
    for (const auto& name : select_) out.push_back(&model_->GetField(name));
  }
  return out;
}

std::vector<const QuerySet::Condition*> QuerySet::Conditions() const {
  std::vector<const Condition*> out(condition_count_);
  size_t i = condition_count_;
  for (const ConditionNode* n = conditions_.get(); n != nullptr && i > 0; n = n->previous.get()) {
    out[--i] = &n->condition;
  }
  return out;
}

std::string QuerySet::WhereSql(std::vector<Value>* params) const {
  if (!conditions_) return "";
  std::string sql = " WHERE ";
  const std::vector<const Condition*> conditions = Conditions();
  for (size_t i = 0; i < conditions.size(); ++i) {
    const Condition& c = *conditions[i];
    if (i > 0) sql += " AND ";
    sql += c.negate ? "NOT (" + c.sql + ")" : "(" + c.sql + ")";
    for (const auto& p : c.params) params->push_back(p);
  }
  return sql;
}

std::string QuerySet::WriteWhereSql(std::vector<Value>* params) const {
  if (!limit_ && !offset_) return WhereSql(params);
  const std::string pk = sql::Quote(model_->pk().column());
  return " WHERE " + pk + " IN (" + SelectSql(params, pk, true) + ")";
}

std::string QuerySet::SelectSql(std::vector<Value>* params, const std::string& columns,
                                bool with_order) const {
  std::string sql = "SELECT " + columns + " FROM " + sql::Quote(model_->table());
  sql += WhereSql(params);
  const std::vector<std::string>& order = order_ ? *order_ : model_->ordering();
  if (with_order && !order.empty()) {
    sql += " ORDER BY ";
    for (size_t i = 0; i < order.size(); ++i) {
      const bool desc = !order[i].empty() && order[i][0] == '-';
      const Field& f = model_->GetField(desc ? std::string_view(order[i]).substr(1) : order[i]);
      sql += (i > 0 ? ", " : "") + sql::Quote(f.column()) + (desc ? " DESC" : " ASC");
    }
  }
  if (limit_ || offset_) {
    // An offset alone still needs a LIMIT on SQLite, and PostgreSQL refuses SQLite's
    // "no limit" (-1) as negative: the largest bigint means none on both.
    sql += " LIMIT ?";
    params->emplace_back(limit_ ? *limit_ : std::numeric_limits<int64_t>::max());
    if (offset_) {
      sql += " OFFSET ?";
      params->emplace_back(*offset_);
    }
  }
  return sql;
}

std::string QuerySet::Describe() const {
  std::string out;
  for (const Condition* c : Conditions()) {
    out += (out.empty() ? "" : ", ") + std::string(c->negate ? "not " : "") + c->description;
  }
  return out.empty() ? "(no filter)" : out;
}

void QuerySet::ForEach(const std::function<void(const Row&)>& fn) const {
  const auto fields = SelectedFields();
  auto columns = std::make_shared<std::vector<std::string>>();
  std::string cols;
  for (const Field* f : fields) {
    columns->push_back(f->column());
    cols += (cols.empty() ? "" : ", ") + sql::Quote(f->column());
  }
  std::vector<Value> params;
  const std::string sql = SelectSql(&params, cols, true);
  std::shared_ptr<const std::vector<std::string>> shared = columns;
  db_->QueryEach(sql, params, [&](const Row& raw) { fn(MakeRow(fields, shared, raw)); });
}

std::vector<Row> QuerySet::All() const {
  std::vector<Row> rows;
  ForEach([&rows](const Row& r) { rows.push_back(r); });
  return rows;
}

Row QuerySet::Get() const {
  std::vector<Row> rows = Limit(limit_ ? std::min<int64_t>(*limit_, 2) : 2).All();
  if (rows.empty()) {
    throw NotFound(model_->label() + ": object matching " + Describe() + " not found");
  }
  if (rows.size() > 1) {
    throw MultipleObjectsReturned(model_->label() + ": get() found more than one object matching " +
                                  Describe());
  }
  return std::move(rows[0]);
}

Row QuerySet::Get(std::string_view lookup, Value value) const {
  return Filter(lookup, std::move(value)).Get();
}

std::optional<Row> QuerySet::First() const {
  QuerySet q = *this;
  if (!q.order_ && model_->ordering().empty()) q.order_ = std::vector<std::string>{"pk"};
  std::vector<Row> rows = q.Limit(1).All();
  if (rows.empty()) return std::nullopt;
  return std::move(rows[0]);
}

int64_t QuerySet::Count() const {
  std::vector<Value> params;
  std::string sql;
  if (limit_ || offset_) {
    // PostgreSQL wants a subquery in FROM named.
    sql = "SELECT COUNT(*) FROM (" + SelectSql(&params, "1", false) + ") AS \"page\"";
  } else {
    sql = "SELECT COUNT(*) FROM " + sql::Quote(model_->table()) + WhereSql(&params);
  }
  return db_->Query(sql, params)[0].at(0).AsInt();
}

bool QuerySet::Exists() const {
  std::vector<Value> params;
  std::string sql = "SELECT 1 FROM " + sql::Quote(model_->table()) + WhereSql(&params) + " LIMIT 1";
  if (offset_ || limit_) {
    params.clear();
    sql = "SELECT 1 FROM (" + SelectSql(&params, "1", false) + ") AS \"page\" LIMIT 1";
  }
  return !db_->Query(sql, params).empty();
}

Row QuerySet::Create(const Values& values) const {
  const Clock::TimePoint now = db_->clock().Now();
  Values full;
  std::vector<const Field*> fields;
  for (const auto& [name, value] : values) {
    const Field& f = model_->GetField(name);
    if (f.auto_now()) continue;
    for (const Field* seen : fields) {
      if (seen == &f)
        throw InvalidArgument(model_->label() + ": field '" + f.name() + "' given twice");
    }
    fields.push_back(&f);
    full.emplace_back(f.name(), value);
  }
  for (const auto& f : model_->fields()) {
    bool given = false;
    for (const Field* g : fields) given = given || g == &f;
    if (given || f.primary_key()) continue;
    if (f.auto_now() || f.auto_now_add()) {
      full.emplace_back(f.name(), Value(now));
    } else if (f.default_value()) {
      full.emplace_back(f.name(), *f.default_value());
    } else if (f.null()) {
      full.emplace_back(f.name(), Value());
    } else {
      continue;  // Validate reports it as required
    }
    fields.push_back(&f);
  }
  model_->Validate(full);

  std::string cols;
  std::string marks;
  std::vector<Value> params;
  auto columns = std::make_shared<std::vector<std::string>>();
  std::vector<Value> row_values;
  for (size_t i = 0; i < fields.size(); ++i) {
    cols += (i > 0 ? ", " : "") + sql::Quote(fields[i]->column());
    marks += i > 0 ? ", ?" : "?";
    params.push_back(Model::ToStorage(*fields[i], full[i].second));
  }
  const std::string sql =
      fields.empty()
          ? "INSERT INTO " + sql::Quote(model_->table()) + " DEFAULT VALUES"
          : "INSERT INTO " + sql::Quote(model_->table()) + " (" + cols + ") VALUES (" + marks + ")";
  ExecResult result;
  try {
    result = db_->Execute(sql, params);
  } catch (const DatabaseError& e) {
    Translate(*model_, e);
  }
  // The returned row follows the model's field order.
  for (const auto& f : model_->fields()) {
    columns->push_back(f.column());
    if (f.primary_key()) {
      bool given = false;
      for (size_t i = 0; i < fields.size(); ++i) {
        if (fields[i] == &f) {
          row_values.push_back(Model::FromStorage(f, params[i]));
          given = true;
        }
      }
      if (!given) row_values.emplace_back(result.last_insert_id);
      continue;
    }
    Value v;
    for (size_t i = 0; i < fields.size(); ++i) {
      if (fields[i] == &f) v = Model::FromStorage(f, params[i]);
    }
    row_values.push_back(std::move(v));
  }
  return Row(std::move(columns), std::move(row_values));
}

std::vector<int64_t> QuerySet::BulkCreate(const std::vector<Values>& rows) const {
  ValidationError all;
  for (size_t i = 0; i < rows.size(); ++i) {
    Values probe = rows[i];
    try {
      // Validate with the same filling Create does, without inserting.
      for (const auto& f : model_->fields()) {
        bool given = false;
        for (const auto& [name, v] : probe) given = given || model_->FindField(name) == &f;
        if (given || f.primary_key()) continue;
        if (f.auto_now() || f.auto_now_add())
          probe.emplace_back(f.name(), Value(db_->clock().Now()));
        else if (f.default_value())
          probe.emplace_back(f.name(), *f.default_value());
        else if (f.null())
          probe.emplace_back(f.name(), Value());
      }
      model_->Validate(probe);
    } catch (const ValidationError& e) {
      for (const auto& v : e.violations())
        all.Add("[" + std::to_string(i) + "]." + v.field, v.description);
    }
  }
  all.ThrowIfAny();
  std::vector<int64_t> ids;
  ids.reserve(rows.size());
  Transaction tx = db_->Atomic();
  for (const auto& values : rows) ids.push_back(Create(values)[model_->pk().column()].AsInt());
  tx.Commit();
  return ids;
}

int64_t QuerySet::Update(const Values& values) const {
  Values full;
  for (const auto& [name, value] : values) {
    const Field& f = model_->GetField(name);
    if (f.primary_key())
      throw InvalidArgument(model_->label() + ": the primary key cannot be updated");
    full.emplace_back(f.name(), value);
  }
  model_->Validate(full, /*partial=*/true);
  const Clock::TimePoint now = db_->clock().Now();
  for (const auto& f : model_->fields()) {
    if (!f.auto_now()) continue;
    bool given = false;
    for (const auto& [name, v] : full) given = given || name == f.name();
    if (!given) full.emplace_back(f.name(), Value(now));
  }
  if (full.empty()) return 0;
  std::string sql = "UPDATE " + sql::Quote(model_->table()) + " SET ";
  std::vector<Value> params;
  for (size_t i = 0; i < full.size(); ++i) {
    const Field& f = model_->GetField(full[i].first);
    sql += (i > 0 ? ", " : "") + sql::Quote(f.column()) + " = ?";
    params.push_back(Model::ToStorage(f, full[i].second));
  }
  sql += WriteWhereSql(&params);
  try {
    return db_->Execute(sql, params).changes;
  } catch (const DatabaseError& e) {
    Translate(*model_, e);
  }
}

int64_t QuerySet::Delete() const {
  std::vector<Value> params;
  std::string sql = "DELETE FROM " + sql::Quote(model_->table());
  sql += WriteWhereSql(&params);
  try {
    return db_->Execute(sql, params).changes;
  } catch (const DatabaseError& e) {
    Translate(*model_, e);
  }
}

}  // namespace rpcforge::db
