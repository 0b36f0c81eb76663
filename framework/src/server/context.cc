// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/context.h"

#include <stdexcept>

#include "rpcforge/errors.h"
#include "rpcforge/server/service.h"

namespace rpcforge {
namespace {
const MethodInfo& UnknownMethod() {
  static const MethodInfo* info =
      new MethodInfo{"/unknown/unknown", "unknown", "unknown", RpcKind::kUnary, nullptr, {}};
  return *info;
}
}  // namespace

const char* RpcKindName(RpcKind kind) {
  switch (kind) {
    case RpcKind::kUnary:
      return "unary";
    case RpcKind::kServerStreaming:
      return "server_streaming";
    case RpcKind::kClientStreaming:
      return "client_streaming";
    case RpcKind::kBidiStreaming:
      return "bidi_streaming";
  }
  return "unary";
}

Service::~Service() = default;

const InputLimits& InputLimits::Default() {
  static const InputLimits limits;
  return limits;
}

Context::Context()
    : clock_(&Clock::Real()), limits_(&InputLimits::Default()), method_(&UnknownMethod()) {}
Context::~Context() = default;

std::optional<std::chrono::milliseconds> Context::TimeRemaining() const {
  auto d = deadline();
  if (!d) return std::nullopt;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*d - DeadlineNow());
  return left.count() < 0 ? std::chrono::milliseconds(0) : left;
}

std::chrono::system_clock::time_point Context::DeadlineNow() const {
  return std::chrono::system_clock::now();
}

void Context::Abort(grpc::StatusCode code, std::string message) {
  if (code == grpc::StatusCode::OK) code = grpc::StatusCode::UNKNOWN;
  aborted_ = true;
  abort_code_ = code;
  abort_message_ = message;
  throw AbortError(code, std::move(message));
}

db::Database& Context::db() const {
  if (database_ == nullptr) {
    throw FailedPrecondition("This application has no database configured");
  }
  return *database_;
}

void Context::SetMethod(const MethodInfo* method) { method_ = method ? method : &UnknownMethod(); }

void Context::ResetCommonState() {
  code_ = grpc::StatusCode::OK;
  details_.clear();
  aborted_ = false;
  abort_code_ = grpc::StatusCode::OK;
  abort_message_.clear();
  user_.reset();
  api_key_.reset();
}

namespace context_internal {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string ValidateMetadata(std::string_view key, std::string_view value, size_t* used) {
  std::string lowered(key);
  for (char& c : lowered) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  if (lowered.empty()) throw std::invalid_argument("metadata key is empty");
  for (char c : lowered) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!ok) {
      throw std::invalid_argument("metadata key '" + std::string(key) +
                                  "' has a character outside [0-9a-z_.-]");
    }
  }
  if (lowered.rfind("grpc-", 0) == 0) {
    throw std::invalid_argument("metadata key '" + lowered + "' is reserved (grpc- prefix)");
  }
  const bool binary = lowered.size() > 4 && lowered.compare(lowered.size() - 4, 4, "-bin") == 0;
  if (!binary) {
    for (unsigned char c : value) {
      if (c < 0x20 || c > 0x7e) {
        throw std::invalid_argument("metadata value of '" + lowered +
                                    "' has non-printable characters; use a key ending in -bin");
      }
    }
  }
  const size_t entry = lowered.size() + value.size() + 32;
  if (*used + entry > kMaxResponseMetadataBytes) {
    throw std::invalid_argument("metadata '" + lowered + "' (" + std::to_string(value.size()) +
                                " bytes) takes the call's response metadata past " +
                                std::to_string(kMaxResponseMetadataBytes) +
                                " bytes; clients refuse responses with more");
  }
  *used += entry;
  return lowered;
}

}  // namespace context_internal
}  // namespace rpcforge
