// SPDX-License-Identifier: Apache-2.0
#include "server/server_context.h"

namespace rpcforge::server_internal {

using context_internal::EqualsIgnoreCase;

std::optional<std::string_view> ServerContextImpl::GetMetadata(std::string_view key) const {
  for (const auto& [k, v] : context_->client_metadata()) {
    if (EqualsIgnoreCase(std::string_view(k.data(), k.size()), key)) {
      return std::string_view(v.data(), v.size());
    }
  }
  return std::nullopt;
}

std::vector<std::string_view> ServerContextImpl::GetMetadataAll(std::string_view key) const {
  std::vector<std::string_view> values;
  for (const auto& [k, v] : context_->client_metadata()) {
    if (EqualsIgnoreCase(std::string_view(k.data(), k.size()), key)) {
      values.emplace_back(v.data(), v.size());
    }
  }
  return values;
}

Metadata ServerContextImpl::InvocationMetadata() const {
  Metadata out;
  for (const auto& [k, v] : context_->client_metadata()) {
    out.emplace_back(std::string(k.data(), k.size()), std::string(v.data(), v.size()));
  }
  return out;
}

std::optional<std::chrono::system_clock::time_point> ServerContextImpl::deadline() const {
  auto d = context_->deadline();
  // gRPC reports "no deadline" as a time point decades away.
  if (d >= std::chrono::system_clock::now() + std::chrono::hours(24 * 365 * 50)) {
    return std::nullopt;
  }
  return d;
}

void ServerContextImpl::AddInitialMetadata(std::string_view key, std::string_view value) {
  context_->AddInitialMetadata(context_internal::ValidateMetadata(key, value, &initial_bytes_),
                               std::string(value));
}

void ServerContextImpl::AddTrailingMetadata(std::string_view key, std::string_view value) {
  context_->AddTrailingMetadata(context_internal::ValidateMetadata(key, value, &trailing_bytes_),
                                std::string(value));
}

}  // namespace rpcforge::server_internal
