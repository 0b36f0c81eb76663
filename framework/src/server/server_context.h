// SPDX-License-Identifier: Apache-2.0
// ServerContextImpl: rpcforge::Context over a grpc::ServerContext (private).
#ifndef RPCFORGE_SRC_SERVER_SERVER_CONTEXT_H_
#define RPCFORGE_SRC_SERVER_SERVER_CONTEXT_H_

#include <grpcpp/server_context.h>

#include "rpcforge/context.h"

namespace rpcforge::server_internal {

class ServerContextImpl final : public Context {
 public:
  explicit ServerContextImpl(grpc::ServerContextBase* context) : context_(context) {}

  std::optional<std::string_view> GetMetadata(std::string_view key) const override;
  std::vector<std::string_view> GetMetadataAll(std::string_view key) const override;
  Metadata InvocationMetadata() const override;
  std::string peer() const override { return context_->peer(); }
  std::optional<std::chrono::system_clock::time_point> deadline() const override;
  bool IsCancelled() const override { return context_->IsCancelled(); }
  void AddInitialMetadata(std::string_view key, std::string_view value) override;
  void AddTrailingMetadata(std::string_view key, std::string_view value) override;

 private:
  grpc::ServerContextBase* context_;
  size_t initial_bytes_ = 0;
  size_t trailing_bytes_ = 0;
};

}  // namespace rpcforge::server_internal

#endif  // RPCFORGE_SRC_SERVER_SERVER_CONTEXT_H_
