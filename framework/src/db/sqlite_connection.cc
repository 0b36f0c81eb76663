// SPDX-License-Identifier: Apache-2.0
// SQLite statement helpers: binding parameters, reading columns.
#include "db/sqlite_connection.h"

#include <cctype>
#include <string>

#include "rpcforge/errors.h"

namespace rpcforge::db::db_internal {

void Bind(sqlite3_stmt* stmt, sqlite3* handle, const std::vector<Value>& params) {
  const int expected = sqlite3_bind_parameter_count(stmt);
  if (expected != static_cast<int>(params.size())) {
    throw InvalidArgument("database: statement expects " + std::to_string(expected) +
                          " parameters, got " + std::to_string(params.size()));
  }
  for (size_t i = 0; i < params.size(); ++i) {
    const int idx = static_cast<int>(i) + 1;
    const Value& v = params[i];
    int rc = SQLITE_OK;
    switch (v.type()) {
      case Value::Type::kNull:
        rc = sqlite3_bind_null(stmt, idx);
        break;
      case Value::Type::kInt:
        rc = sqlite3_bind_int64(stmt, idx, v.AsInt());
        break;
      case Value::Type::kBool:
        rc = sqlite3_bind_int64(stmt, idx, v.AsBool() ? 1 : 0);
        break;
      case Value::Type::kDouble:
        rc = sqlite3_bind_double(stmt, idx, v.AsDouble());
        break;
      case Value::Type::kText:
        rc = sqlite3_bind_text(stmt, idx, v.AsText().data(), static_cast<int>(v.AsText().size()),
                               SQLITE_STATIC);
        break;
      case Value::Type::kBlob:
        rc = sqlite3_bind_blob(stmt, idx, v.AsBlob().data(), static_cast<int>(v.AsBlob().size()),
                               SQLITE_STATIC);
        break;
      case Value::Type::kTime: {
        const std::string text = FormatTimestamp(v.AsTime());
        rc = sqlite3_bind_text(stmt, idx, text.data(), static_cast<int>(text.size()),
                               SQLITE_TRANSIENT);
        break;
      }
    }
    if (rc != SQLITE_OK) throw SqliteError(handle, rc);
  }
}

Value ColumnValue(sqlite3_stmt* stmt, int i) {
  switch (sqlite3_column_type(stmt, i)) {
    case SQLITE_INTEGER:
      return Value(static_cast<int64_t>(sqlite3_column_int64(stmt, i)));
    case SQLITE_FLOAT:
      return Value(sqlite3_column_double(stmt, i));
    case SQLITE_TEXT: {
      const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt, i));
      return Value(std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt, i))));
    }
    case SQLITE_BLOB: {
      const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(stmt, i));
      return Value(Blob(p, p + sqlite3_column_bytes(stmt, i)));
    }
    default:
      return Value();
  }
}

bool CanWrapInTransaction(std::string_view sql) {
  size_t i = 0;
  while (i < sql.size() && (sql[i] == ' ' || sql[i] == '\n' || sql[i] == '\t')) ++i;
  std::string word;
  while (i < sql.size() && std::isalpha(static_cast<unsigned char>(sql[i]))) {
    word += static_cast<char>(std::toupper(static_cast<unsigned char>(sql[i++])));
  }
  return word != "PRAGMA" && word != "VACUUM" && word != "ATTACH" && word != "DETACH" &&
         word != "BEGIN" && word != "COMMIT" && word != "END" && word != "ROLLBACK" &&
         word != "SAVEPOINT" && word != "RELEASE";
}

}  // namespace rpcforge::db::db_internal
