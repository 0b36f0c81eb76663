// SPDX-License-Identifier: Apache-2.0
// The PostgreSQL backend: connections, prepared statements, binding and columns.
//
// libpq rather than libpqxx: the seam (backend.h) needs prepared statements by name,
// parameters as text or binary, asynchronous execution with PQcancel for CallInterrupt
// and the SQLSTATE of each failure; libpq gives each directly, and libpqxx would add a
// second exception hierarchy to translate and a heavier header for no feature we use.
#include "db/postgres_connection.h"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "db/postgres_sql.h"
#include "db/schema_postgres.h"
#include "db/statement_cache.h"
#include "rpcforge/db/errors.h"
#include "rpcforge/errors.h"

namespace rpcforge::db::db_internal {
namespace {

// Type OIDs (pg_type.dat) of the columns read as something other than text.
constexpr Oid kBoolOid = 16;
constexpr Oid kByteaOid = 17;
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;
constexpr Oid kOidOid = 26;
constexpr Oid kFloat4Oid = 700;
constexpr Oid kFloat8Oid = 701;
constexpr Oid kTimestampOid = 1114;
constexpr Oid kTimestamptzOid = 1184;
constexpr Oid kNumericOid = 1700;

// PackSqlState packs the five SQLSTATE characters as PostgreSQL's MAKE_SQLSTATE does.
int PackSqlState(const char* state) {
  if (state == nullptr || std::strlen(state) != 5) return 0;
  int out = 0;
  for (int i = 0; i < 5; ++i) out |= ((state[i] - '0') & 0x3f) << (6 * i);
  return out;
}

DatabaseErrorKind KindOfSqlState(std::string_view state) {
  if (state == "23505") return DatabaseErrorKind::kUniqueViolation;
  if (state == "23503") return DatabaseErrorKind::kForeignKeyViolation;
  if (state.substr(0, 2) == "23") return DatabaseErrorKind::kConstraint;
  if (state == "40001" || state == "40P01") return DatabaseErrorKind::kConflict;
  // Class 08: connection exceptions; 57P01-57P03: the server is shutting down.
  if (state.substr(0, 2) == "08" || state == "57P01" || state == "57P02" || state == "57P03") {
    return DatabaseErrorKind::kConnectionLost;
  }
  return DatabaseErrorKind::kOther;
}

std::string TrimMessage(const char* text) {
  std::string out = text != nullptr ? text : "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

class PostgresConnection;

class PostgresStatement final : public Statement {
 public:
  PostgresStatement(PostgresConnection* conn, std::string sql, int param_count, bool read_only,
                    bool returns_id, std::string name, bool simple)
      : conn_(conn),
        sql_(std::move(sql)),
        param_count_(param_count),
        read_only_(read_only),
        returns_id_(returns_id),
        name_(std::move(name)),
        simple_(simple) {}
  ~PostgresStatement() override { Reset(); }
  PostgresStatement(const PostgresStatement&) = delete;
  PostgresStatement& operator=(const PostgresStatement&) = delete;

  bool read_only() const override { return read_only_; }
  void Bind(const std::vector<Value>& params) override {
    if (static_cast<int>(params.size()) != param_count_) {
      throw InvalidArgument("database: statement expects " + std::to_string(param_count_) +
                            " parameters, got " + std::to_string(params.size()));
    }
    params_ = &params;
  }
  bool Step() override;
  int column_count() const override { return result_ != nullptr ? PQnfields(result_) : 0; }
  std::string column_name(int i) const override { return PQfname(result_, i); }
  Value column(int i) const override;

  void Reset() {
    if (result_ != nullptr) PQclear(result_);
    result_ = nullptr;
    row_ = -1;
    params_ = nullptr;
  }
  const std::string& name() const { return name_; }
  bool prepared() const { return !name_.empty(); }

 private:
  PostgresConnection* conn_;
  const std::string sql_;  // with $n placeholders (and RETURNING "id" when returns_id_)
  const int param_count_;
  const bool read_only_;
  const bool returns_id_;
  const std::string name_;  // the prepared statement's name; empty: not prepared
  const bool simple_;       // run with the simple protocol (DDL, SET, transaction control)
  const std::vector<Value>* params_ = nullptr;
  PGresult* result_ = nullptr;
  int row_ = -1;
};

class PostgresConnection final : public Connection {
 public:
  explicit PostgresConnection(const std::string& url);
  ~PostgresConnection() override {
    cache_.Clear();
    if (conn_ != nullptr) PQfinish(conn_);
  }

  Statement* Take(std::string_view sql) override;
  void Give(std::string_view sql, Statement* stmt) override;
  std::string_view engine() const override { return "PostgreSQL"; }
  bool in_transaction() const override {
    const PGTransactionStatusType t = PQtransactionStatus(conn_);
    return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
  }
  int64_t changes() const override { return changes_; }
  int64_t last_insert_id() const override { return last_insert_id_; }
  std::string last_error() const override { return last_error_; }
  std::string_view BeginWriteSql() const override { return "BEGIN"; }
  void ExecControl(std::string_view sql) override { RunSimple(std::string(sql)); }
  // A lone statement is atomic in PostgreSQL's autocommit: no BEGIN/COMMIT around it
  // (two round trips saved), and nothing like SQLite's read-snapshot upgrade to avoid.
  bool CanWrapInTransaction(std::string_view) const override { return false; }
  void RollbackQuietly() noexcept override {
    PGresult* r = PQexec(conn_, "ROLLBACK");
    if (r != nullptr) PQclear(r);
  }
  int64_t ReleaseCache() override { return 0; }

  // Run executes and returns the finished result (the caller PQclears it), or throws.
  // Sends asynchronously and polls CallInterrupt every 10 ms while the server works.
  PGresult* Run(const std::string& sql, const std::string& name, bool simple,
                const std::vector<Value>* params);
  void RunSimple(const std::string& sql) { PQclear(Run(sql, "", true, nullptr)); }
  void Finished(PGresult* result, bool returns_id);

 private:
  [[noreturn]] void Fail(PGresult* result);
  void EnsureConnected();
  bool HasGeneratedId(const std::string& table);

  std::string url_;
  PGconn* conn_ = nullptr;
  int64_t changes_ = 0;
  int64_t last_insert_id_ = 0;
  std::string last_error_;
  int next_name_ = 0;
  StatementCache<PostgresStatement> cache_;
  // Tables known to have (or to lack) a generated "id" column; cleared by DDL.
  std::unordered_map<std::string, bool> generated_id_;
};

// Connect opens `url`, or throws Unavailable naming the server.
PGconn* Connect(const std::string& url) {
  const char* const keys[] = {"dbname", "connect_timeout", "application_name", nullptr};
  const char* const values[] = {url.c_str(), "10", "rpcforge", nullptr};
  PGconn* conn = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (conn == nullptr) throw Unavailable("database: out of memory connecting to PostgreSQL");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = TrimMessage(PQerrorMessage(conn));
    PQfinish(conn);
    throw Unavailable("database: cannot connect to PostgreSQL at " + RedactUrl(url) + ": " +
                      message);
  }
  PGresult* r = PQexec(conn,
                       "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; "
                       "SET client_min_messages = 'warning'; SET extra_float_digits = 3");
  const bool ok = r != nullptr && PQresultStatus(r) == PGRES_COMMAND_OK;
  if (r != nullptr) PQclear(r);
  if (!ok) {
    std::string message = TrimMessage(PQerrorMessage(conn));
    PQfinish(conn);
    throw Unavailable("database: cannot set up the PostgreSQL session at " + RedactUrl(url) + ": " +
                      message);
  }
  return conn;
}

PostgresConnection::PostgresConnection(const std::string& url) : url_(url), conn_(Connect(url)) {}

void PostgresConnection::EnsureConnected() {
  if (PQstatus(conn_) == CONNECTION_OK) return;
  // A transaction died with the connection: its scopes must end (and fail) before the
  // connection is used again, or their later statements would run outside any
  // transaction on a new one.
  if (!scopes.empty()) {
    throw DatabaseError(DatabaseErrorKind::kConnectionLost,
                        "PostgreSQL connection lost inside a transaction", 0);
  }
  // The server forgot this session's prepared statements with the session.
  if (cache_.busy()) {
    throw DatabaseError(DatabaseErrorKind::kConnectionLost,
                        "PostgreSQL connection lost with a statement running", 0);
  }
  cache_.Clear();
  generated_id_.clear();
  PGconn* fresh = nullptr;
  try {
    fresh = Connect(url_);
  } catch (const Unavailable& e) {
    throw DatabaseError(DatabaseErrorKind::kConnectionLost, e.what(), 0);
  }
  PQfinish(conn_);
  conn_ = fresh;
}

void PostgresConnection::Fail(PGresult* result) {
  const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  std::string message =
      TrimMessage(result != nullptr ? PQresultErrorMessage(result) : PQerrorMessage(conn_));
  if (message.empty()) message = TrimMessage(PQerrorMessage(conn_));
  const int code = PackSqlState(state);
  DatabaseErrorKind kind = state != nullptr ? KindOfSqlState(state) : DatabaseErrorKind::kOther;
  if (PQstatus(conn_) != CONNECTION_OK) kind = DatabaseErrorKind::kConnectionLost;
  if (result != nullptr) PQclear(result);
  last_error_ = message;
  throw DatabaseError(kind, message, code);
}

PGresult* PostgresConnection::Run(const std::string& sql, const std::string& name, bool simple,
                                  const std::vector<Value>* params) {
  EnsureConnected();
  std::vector<std::string> text;
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats;
  const size_t n = params != nullptr ? params->size() : 0;
  text.reserve(n);
  values.reserve(n);
  lengths.reserve(n);
  formats.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const Value& v = (*params)[i];
    switch (v.type()) {
      case Value::Type::kNull:
        text.emplace_back();
        break;
      case Value::Type::kInt:
        text.push_back(std::to_string(v.AsInt()));
        break;
      case Value::Type::kBool:
        // "1"/"0": accepted by a boolean parameter and by an integer one alike.
        text.emplace_back(v.AsBool() ? "1" : "0");
        break;
      case Value::Type::kDouble: {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.17g", v.AsDouble());
        text.emplace_back(buf);
        break;
      }
      case Value::Type::kText:
        text.push_back(v.AsText());
        break;
      case Value::Type::kBlob:
        text.emplace_back(v.AsBlob().begin(), v.AsBlob().end());
        break;
      case Value::Type::kTime:
        text.push_back(FormatTimestamp(v.AsTime()));
        break;
    }
  }
  for (size_t i = 0; i < n; ++i) {
    const Value& v = (*params)[i];
    values.push_back(v.is_null() ? nullptr : text[i].data());
    lengths.push_back(static_cast<int>(text[i].size()));
    formats.push_back(v.type() == Value::Type::kBlob ? 1 : 0);
  }
  int sent = 0;
  if (simple) {
    sent = PQsendQuery(conn_, sql.c_str());
  } else if (!name.empty()) {
    sent = PQsendQueryPrepared(conn_, name.c_str(), static_cast<int>(n), values.data(),
                               lengths.data(), formats.data(), 0);
  } else {
    sent = PQsendQueryParams(conn_, sql.c_str(), static_cast<int>(n), nullptr, values.data(),
                             lengths.data(), formats.data(), 0);
  }
  if (sent == 0) Fail(nullptr);
  // Wait for the result, asking CallInterrupt every 10 ms; on an interrupt, ask the
  // server to cancel and keep reading until it answers (bounded by the server).
  CallInterrupt::Reason interrupted = CallInterrupt::Reason::kNone;
  while (PQisBusy(conn_) != 0) {
    pollfd pfd{PQsocket(conn_), POLLIN, 0};
    const int ready = ::poll(&pfd, 1, 10);
    if (ready > 0 && PQconsumeInput(conn_) == 0) break;
    if (interrupted == CallInterrupt::Reason::kNone) {
      interrupted = CallInterrupt::Poll();
      if (interrupted != CallInterrupt::Reason::kNone) {
        if (PGcancel* cancel = PQgetCancel(conn_)) {
          char err[256];
          PQcancel(cancel, err, sizeof err);
          PQfreeCancel(cancel);
        }
      }
    }
  }
  // Simple queries may give several results (one per statement); keep the last, fail on
  // the first error.
  PGresult* last = nullptr;
  PGresult* error = nullptr;
  while (PGresult* r = PQgetResult(conn_)) {
    const ExecStatusType status = PQresultStatus(r);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && status != PGRES_EMPTY_QUERY) {
      if (error == nullptr) {
        error = r;
      } else {
        PQclear(r);
      }
      continue;
    }
    if (last != nullptr) PQclear(last);
    last = r;
  }
  if (error != nullptr) {
    if (last != nullptr) PQclear(last);
    if (interrupted != CallInterrupt::Reason::kNone) {
      const char* state = PQresultErrorField(error, PG_DIAG_SQLSTATE);
      if (state != nullptr && std::strcmp(state, "57014") == 0) {  // query_canceled
        last_error_ = TrimMessage(PQresultErrorMessage(error));
        PQclear(error);
        ThrowInterrupted(interrupted);
      }
    }
    Fail(error);
  }
  if (last == nullptr) Fail(nullptr);
  if (simple) {
    const std::string word = FirstWord(sql);
    if (word == "CREATE" || word == "ALTER" || word == "DROP") generated_id_.clear();
  }
  return last;
}

void PostgresConnection::Finished(PGresult* result, bool returns_id) {
  const char* tuples = PQcmdTuples(result);
  changes_ = tuples != nullptr && *tuples != '\0' ? std::strtoll(tuples, nullptr, 10) : 0;
  if (returns_id && PQntuples(result) > 0) {
    last_insert_id_ = std::strtoll(PQgetvalue(result, PQntuples(result) - 1, 0), nullptr, 10);
  }
}

bool PostgresConnection::HasGeneratedId(const std::string& table) {
  auto it = generated_id_.find(table);
  if (it != generated_id_.end()) return it->second;
  std::vector<Value> params{Value(table)};
  PGresult* r =
      Run("SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() AND "
          "table_name = $1 AND column_name = 'id' AND (is_identity = 'YES' OR column_default "
          "LIKE 'nextval(%')",
          "", false, &params);
  const bool has = PQntuples(r) > 0;
  PQclear(r);
  generated_id_[table] = has;
  return has;
}

bool PostgresStatement::Step() {
  if (result_ == nullptr) {
    static const std::vector<Value> kNoParams;
    result_ = conn_->Run(sql_, name_, simple_, params_ != nullptr ? params_ : &kNoParams);
    conn_->Finished(result_, returns_id_);
    if (returns_id_) return false;  // the rows RETURNING "id" gave are not the caller's
  }
  return ++row_ < PQntuples(result_);
}

Value PostgresStatement::column(int i) const {
  if (PQgetisnull(result_, row_, i) != 0) return Value();
  const char* text = PQgetvalue(result_, row_, i);
  const int length = PQgetlength(result_, row_, i);
  switch (PQftype(result_, i)) {
    case kBoolOid:
      return Value(text[0] == 't');
    case kInt2Oid:
    case kInt4Oid:
    case kInt8Oid:
    case kOidOid:
      return Value(static_cast<int64_t>(std::strtoll(text, nullptr, 10)));
    case kFloat4Oid:
    case kFloat8Oid:
    case kNumericOid:
      return Value(std::strtod(text, nullptr));
    case kByteaOid: {
      size_t size = 0;
      unsigned char* bytes = PQunescapeBytea(reinterpret_cast<const unsigned char*>(text), &size);
      if (bytes == nullptr) throw DatabaseError(DatabaseErrorKind::kOther, "bad bytea value", 0);
      Blob blob(bytes, bytes + size);
      PQfreemem(bytes);
      return Value(std::move(blob));
    }
    case kTimestampOid:
    case kTimestamptzOid: {
      // ISO output in UTC, "2026-12-02 15:02:03.123456+00" (timestamptz) or without the
      // offset (timestamp), read as the RFC 3339 text SQLite stores: the same Value on
      // both backends (Model::FromStorage makes a DateTimeField's a kTime).
      std::string iso(text, static_cast<size_t>(length));
      if (iso.size() > 10 && iso[10] == ' ') iso[10] = 'T';
      if (iso.size() > 3 && iso.compare(iso.size() - 3, 3, "+00") == 0) {
        iso.replace(iso.size() - 3, 3, "Z");
      } else if (iso.find('+', 19) == std::string::npos) {
        iso += 'Z';
      }
      Clock::TimePoint t;
      if (ParseTimestamp(iso, &t)) return Value(FormatTimestamp(t));
      return Value(std::string(text, static_cast<size_t>(length)));
    }
    default:
      return Value(std::string(text, static_cast<size_t>(length)));
  }
}

Statement* PostgresConnection::Take(std::string_view sql) {
  if (PostgresStatement* cached = cache_.Take(sql)) return cached;
  int count = 0;
  std::string text = ToDollarPlaceholders(sql, &count);
  const std::string word = FirstWord(text);
  const bool dml = IsDml(word);
  const bool simple = !dml && count == 0;
  bool returns_id = false;
  if (word == "INSERT" && !HasWord(text, "RETURNING")) {
    const std::string table = InsertTable(text);
    if (!table.empty() && HasGeneratedId(table)) {
      text += " RETURNING \"id\"";
      returns_id = true;
    }
  }
  std::string name;
  if (!simple && cache_.CanKeep(sql)) {
    name = "rpcforge_" + std::to_string(++next_name_);
    EnsureConnected();
    PGresult* r = PQprepare(conn_, name.c_str(), text.c_str(), count, nullptr);
    if (r == nullptr || PQresultStatus(r) != PGRES_COMMAND_OK) Fail(r);
    PQclear(r);
  }
  return new PostgresStatement(this, std::move(text), count, IsReadOnly(sql), returns_id,
                               std::move(name), simple);
}

void PostgresConnection::Give(std::string_view sql, Statement* given) {
  auto* stmt = static_cast<PostgresStatement*>(given);
  stmt->Reset();
  // Only a prepared statement is worth keeping; the others run unnamed (simple, a
  // duplicate of a running one, or past the cache's size).
  if (cache_.Give(sql, stmt, /*keep=*/stmt->prepared())) return;
  if (stmt->prepared() && PQstatus(conn_) == CONNECTION_OK) {
    // Prepared, then not kept (the cache filled meanwhile): the server frees it too.
    PGresult* r = PQexec(conn_, ("DEALLOCATE " + stmt->name()).c_str());
    if (r != nullptr) PQclear(r);
  }
  delete stmt;
}

class PostgresBackend final : public Backend {
 public:
  explicit PostgresBackend(const DatabaseOptions& options)
      : url_(options.path), max_connections_(std::max(1, options.max_connections)) {}
  std::unique_ptr<Connection> Open() override { return std::make_unique<PostgresConnection>(url_); }
  int max_connections() const override { return max_connections_; }
  bool in_memory() const override { return false; }
  bool failed_statement_aborts_transaction() const override { return true; }
  bool one_writer() const override { return false; }
  bool control_scripts() const override { return true; }
  const Dialect& dialect() const override { return PostgresDialect(); }

 private:
  const std::string url_;
  const int max_connections_;
};

}  // namespace

std::unique_ptr<Backend> NewPostgresBackend(const DatabaseOptions& options) {
  return std::make_unique<PostgresBackend>(options);
}

}  // namespace rpcforge::db::db_internal
