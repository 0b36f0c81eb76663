// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/errors.h"

#include <string>

#include "core/logging.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace rpcforge {

Error::Error(grpc::StatusCode code, std::string message)
    : std::runtime_error(message), code_(code), message_(std::move(message)) {}

grpc::Status Error::ToStatus() const { return grpc::Status(code_, message_); }

void Error::LogAtBoundary(std::string_view) const {}

ValidationError::ValidationError() : Error(grpc::StatusCode::INVALID_ARGUMENT, "Invalid request") {}

ValidationError::ValidationError(std::vector<FieldViolation> violations) : ValidationError() {
  violations_ = std::move(violations);
}

ValidationError::ValidationError(std::string field, std::string description) : ValidationError() {
  Add(std::move(field), std::move(description));
}

void ValidationError::Add(std::string field, std::string description) {
  violations_.push_back({std::move(field), std::move(description)});
}

void ValidationError::ThrowIfAny() const {
  if (!violations_.empty()) throw *this;
}

grpc::Status ValidationError::ToStatus() const {
  // The message lists every violation so that clients which ignore details still see
  // what was wrong; the details carry the machine-readable form.
  std::string message = "Invalid request";
  if (!violations_.empty()) {
    message += ": ";
    for (size_t i = 0; i < violations_.size(); ++i) {
      if (i > 0) message += "; ";
      message += violations_[i].field + ": " + violations_[i].description;
    }
  }
  google::rpc::BadRequest bad_request;
  for (const auto& v : violations_) {
    auto* fv = bad_request.add_field_violations();
    fv->set_field(v.field);
    fv->set_description(v.description);
  }
  google::rpc::Status status;
  status.set_code(static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  status.set_message(message);
  status.add_details()->PackFrom(bad_request);
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message, status.SerializeAsString());
}

namespace {
constexpr const char* kCodeNames[] = {
    "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED"};
}  // namespace

const char* StatusCodeName(grpc::StatusCode code) {
  const int i = static_cast<int>(code);
  if (i >= 0 && i <= 16) return kCodeNames[i];
  return "UNKNOWN";
}

bool ParseStatusCodeName(std::string_view name, grpc::StatusCode* code) {
  for (int i = 0; i <= 16; ++i) {
    if (name == kCodeNames[i]) {
      *code = static_cast<grpc::StatusCode>(i);
      return true;
    }
  }
  return false;
}

grpc::Status StatusFromException(std::exception_ptr e, std::string_view method) noexcept {
  try {
    std::rethrow_exception(e);
  } catch (const Error& err) {
    try {
      err.LogAtBoundary(method);
      return err.ToStatus();
    } catch (...) {
      return grpc::Status(err.code(), "");
    }
  } catch (const std::exception& err) {
    RPCFORGE_LOG_ERROR("errors", "{}: unhandled exception: {}", method, err.what());
  } catch (...) {
    RPCFORGE_LOG_ERROR("errors", "{}: unhandled non-standard exception", method);
  }
  return grpc::Status(grpc::StatusCode::INTERNAL, "Internal server error");
}

}  // namespace rpcforge
