// SPDX-License-Identifier: Apache-2.0
// db::DatabaseError is what the database layer throws when the database refuses or
// fails a statement, whatever the backend: callers, StatusFromException included, never
// see a backend's own exception type.
//
//   try {
//     db.Execute("INSERT INTO blog_tag (name) VALUES (?)", {name});
//   } catch (const rpcforge::db::DatabaseError& e) {
//     if (e.kind() != rpcforge::db::DatabaseErrorKind::kUniqueViolation) throw;
//   }
#ifndef RPCFORGE_DB_ERRORS_H_
#define RPCFORGE_DB_ERRORS_H_

#include <string>
#include <string_view>

#include "rpcforge/errors.h"
#include "rpcforge/export.h"

namespace rpcforge::db {

enum class DatabaseErrorKind {
  kUniqueViolation,      // UNIQUE or PRIMARY KEY
  kForeignKeyViolation,  // a missing referenced row, or a protected reference
  kConstraint,           // CHECK, NOT NULL and other constraints
  kConflict,             // a serialization failure or a deadlock: the transaction may be retried
  kConnectionLost,       // the connection to a database server broke (the pool reconnects)
  kOther,                // anything else: syntax, I/O, a full disk, a locked database
};

// DatabaseError carries a client-safe status: ALREADY_EXISTS "Already exists: ..." for a
// unique violation, FAILED_PRECONDITION "Constraint failed: ..." for the other
// constraints, ABORTED "Aborted: the transaction conflicted with another; retry it" for
// a conflict, UNAVAILABLE "Unavailable: the database is unreachable" for a lost
// connection, INTERNAL "Internal server error" otherwise. The backend's own message
// names tables and columns: it is in what() and backend_message(), and the RPC boundary
// logs it (info for constraints, error otherwise) without sending it.
class RPCFORGE_EXPORT DatabaseError : public Error {
 public:
  DatabaseError(DatabaseErrorKind kind, std::string backend_message, int backend_code);

  DatabaseErrorKind kind() const noexcept { return kind_; }
  // backend_message is the backend's text, e.g. "UNIQUE constraint failed: blog_tag.name".
  const std::string& backend_message() const noexcept { return backend_message_; }
  // backend_code is the backend's own code (SQLite: the extended result code;
  // PostgreSQL: the five SQLSTATE characters, 6 bits each, as PostgreSQL's own
  // MAKE_SQLSTATE packs them).
  int backend_code() const noexcept { return backend_code_; }

  const char* what() const noexcept override { return backend_message_.c_str(); }
  void LogAtBoundary(std::string_view method) const override;

 private:
  DatabaseErrorKind kind_;
  std::string backend_message_;
  int backend_code_;
};

}  // namespace rpcforge::db

#endif  // RPCFORGE_DB_ERRORS_H_
