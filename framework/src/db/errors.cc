// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/db/errors.h"

#include <utility>

#include "core/logging.h"

namespace rpcforge::db {
namespace {

grpc::StatusCode CodeOf(DatabaseErrorKind kind) {
  switch (kind) {
    case DatabaseErrorKind::kUniqueViolation:
      return grpc::StatusCode::ALREADY_EXISTS;
    case DatabaseErrorKind::kForeignKeyViolation:
    case DatabaseErrorKind::kConstraint:
      return grpc::StatusCode::FAILED_PRECONDITION;
    case DatabaseErrorKind::kConflict:
      return grpc::StatusCode::ABORTED;
    case DatabaseErrorKind::kConnectionLost:
      return grpc::StatusCode::UNAVAILABLE;
    case DatabaseErrorKind::kOther:
      break;
  }
  return grpc::StatusCode::INTERNAL;
}

std::string ClientMessage(DatabaseErrorKind kind) {
  switch (kind) {
    case DatabaseErrorKind::kUniqueViolation:
      return "Already exists: constraint failed";
    case DatabaseErrorKind::kForeignKeyViolation:
    case DatabaseErrorKind::kConstraint:
      return "Constraint failed: constraint failed";
    case DatabaseErrorKind::kConflict:
      return "Aborted: the transaction conflicted with another; retry it";
    case DatabaseErrorKind::kConnectionLost:
      return "Unavailable: the database is unreachable";
    case DatabaseErrorKind::kOther:
      break;
  }
  return "Internal server error";
}

}  // namespace

DatabaseError::DatabaseError(DatabaseErrorKind kind, std::string backend_message, int backend_code)
    : Error(CodeOf(kind), ClientMessage(kind)),
      kind_(kind),
      backend_message_(std::move(backend_message)),
      backend_code_(backend_code) {}

void DatabaseError::LogAtBoundary(std::string_view method) const {
  if (kind_ == DatabaseErrorKind::kOther || kind_ == DatabaseErrorKind::kConnectionLost) {
    RPCFORGE_LOG_ERROR("errors", "{}: unhandled database error: {}", method, backend_message_);
  } else {
    RPCFORGE_LOG_INFO("errors", "{}: constraint violation: {}", method, backend_message_);
  }
}

}  // namespace rpcforge::db
