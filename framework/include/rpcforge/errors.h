// SPDX-License-Identifier: Apache-2.0
// The rpcforge error hierarchy. Handlers fail by throwing; the generated adapter turns
// the exception into a gRPC status with `StatusFromException`: the adapter for the
// handler, and each pipeline layer for what it throws (Pipeline::Invoke), so a
// middleware only ever sees statuses from the layers inside it.
//
//   if (!post) throw rpcforge::NotFound("Post: " + std::to_string(id) + " not found");
//   rpcforge::ValidationError err;
//   err.Add("title", "Ensure this field has no more than 100 characters.");
//   err.ThrowIfAny();
#ifndef RPCFORGE_ERRORS_H_
#define RPCFORGE_ERRORS_H_

#include <grpcpp/support/status.h>

#include <exception>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rpcforge/export.h"

namespace rpcforge {

// Error is the root of every error that carries a gRPC status code and a message safe
// to show to the client. Copyable; thread-compatible.
class RPCFORGE_EXPORT Error : public std::runtime_error {
 public:
  Error(grpc::StatusCode code, std::string message);

  grpc::StatusCode code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }

  // ToStatus returns the status the client receives. Subclasses may add details
  // (ValidationError adds google.rpc.BadRequest).
  virtual grpc::Status ToStatus() const;

  // LogAtBoundary is called by StatusFromException before ToStatus, with the method,
  // for what the log should have and the client should not (db::DatabaseError logs the
  // database's own message). Does nothing by default; must not throw.
  virtual void LogAtBoundary(std::string_view method) const;

 private:
  grpc::StatusCode code_;
  std::string message_;
};

// AbortError is thrown by `Context::Abort(code, message)`.
class RPCFORGE_EXPORT AbortError : public Error {
 public:
  using Error::Error;
};

#define RPCFORGE_DECLARE_ERROR(Name, Code)                                  \
  class RPCFORGE_EXPORT Name : public Error {                               \
   public:                                                                  \
    explicit Name(std::string message) : Error(Code, std::move(message)) {} \
  }

// NOT_FOUND: the requested object does not exist.
RPCFORGE_DECLARE_ERROR(NotFound, grpc::StatusCode::NOT_FOUND);
// ALREADY_EXISTS: a unique constraint would be violated.
RPCFORGE_DECLARE_ERROR(AlreadyExists, grpc::StatusCode::ALREADY_EXISTS);
// PERMISSION_DENIED: the caller is known but not allowed.
RPCFORGE_DECLARE_ERROR(PermissionDenied, grpc::StatusCode::PERMISSION_DENIED);
// UNAUTHENTICATED: no valid credentials.
RPCFORGE_DECLARE_ERROR(Unauthenticated, grpc::StatusCode::UNAUTHENTICATED);
// INVALID_ARGUMENT without per-field details (see ValidationError for those).
RPCFORGE_DECLARE_ERROR(InvalidArgument, grpc::StatusCode::INVALID_ARGUMENT);
// FAILED_PRECONDITION: the system is not in a state the operation needs.
RPCFORGE_DECLARE_ERROR(FailedPrecondition, grpc::StatusCode::FAILED_PRECONDITION);
// RESOURCE_EXHAUSTED: a limit (rate, concurrency, quota) was reached.
RPCFORGE_DECLARE_ERROR(ResourceExhausted, grpc::StatusCode::RESOURCE_EXHAUSTED);
// UNIMPLEMENTED: the method has no handler.
RPCFORGE_DECLARE_ERROR(Unimplemented, grpc::StatusCode::UNIMPLEMENTED);
// UNAVAILABLE: try again later (shutting down, overloaded).
RPCFORGE_DECLARE_ERROR(Unavailable, grpc::StatusCode::UNAVAILABLE);
// CANCELLED: the client went away.
RPCFORGE_DECLARE_ERROR(Cancelled, grpc::StatusCode::CANCELLED);
// DEADLINE_EXCEEDED: the call's deadline passed.
RPCFORGE_DECLARE_ERROR(DeadlineExceeded, grpc::StatusCode::DEADLINE_EXCEEDED);
// INTERNAL with a message meant for the client; prefer letting a std::exception escape.
RPCFORGE_DECLARE_ERROR(Internal, grpc::StatusCode::INTERNAL);

#undef RPCFORGE_DECLARE_ERROR

// ValidationError is INVALID_ARGUMENT with one message per offending field, sent as
// `google.rpc.BadRequest` field violations in the status details
// (`grpc-status-details-bin`), so any standard client can read them.
class RPCFORGE_EXPORT ValidationError : public Error {
 public:
  struct FieldViolation {
    std::string field;        // dotted path, e.g. "title" or "author.email"
    std::string description;  // human-readable, client-safe
  };

  ValidationError();
  explicit ValidationError(std::vector<FieldViolation> violations);
  // One violation: `throw ValidationError("title", "This field may not be blank.");`
  ValidationError(std::string field, std::string description);

  // Add records one more violation (a field may have several).
  void Add(std::string field, std::string description);
  bool empty() const noexcept { return violations_.empty(); }
  const std::vector<FieldViolation>& violations() const noexcept { return violations_; }
  // ThrowIfAny throws a copy of *this when at least one violation was added.
  void ThrowIfAny() const;

  grpc::Status ToStatus() const override;

 private:
  std::vector<FieldViolation> violations_;
};

// StatusCodeName returns the canonical name of `code` ("NOT_FOUND", "OK", ...).
RPCFORGE_EXPORT const char* StatusCodeName(grpc::StatusCode code);

// ParseStatusCodeName is the inverse of StatusCodeName; returns false for unknown names.
RPCFORGE_EXPORT bool ParseStatusCodeName(std::string_view name, grpc::StatusCode* code);

// StatusFromException maps the exception `e` (which must be non-null) to the status the
// client receives, per the errors policy:
//   - rpcforge::Error            -> its code, message and details (a database error,
//     rpcforge::db::DatabaseError, is one: ALREADY_EXISTS for a unique violation,
//     FAILED_PRECONDITION for other constraints, INTERNAL otherwise);
//   - any other exception         -> INTERNAL "Internal server error"; `method` and
//     `what()` are logged at error level and never sent to the client.
// Never throws.
RPCFORGE_EXPORT grpc::Status StatusFromException(std::exception_ptr e,
                                                 std::string_view method) noexcept;

}  // namespace rpcforge

#endif  // RPCFORGE_ERRORS_H_
