// SPDX-License-Identifier: Apache-2.0
// MethodInfo describes one RPC method of a registered service: its names, its kind and
// its protobuf descriptor. The generated code creates one per method, once; middlewares
// see it on every call.
#ifndef RPCFORGE_SERVER_METHOD_H_
#define RPCFORGE_SERVER_METHOD_H_

#include <string>

namespace google::protobuf {
class MethodDescriptor;
}  // namespace google::protobuf

namespace rpcforge {

// RpcKind is the shape of a method (DESIGN.md, "The handler model").
enum class RpcKind { kUnary, kServerStreaming, kClientStreaming, kBidiStreaming };

// RpcKindName returns "unary", "server_streaming", "client_streaming" or
// "bidi_streaming".
const char* RpcKindName(RpcKind kind);

// MethodPolicy is what the framework enforces for a method whatever the config says. The
// generated code leaves it empty; the mixins AuthRequiredService and ReadOnlyService
// (rpcforge/auth/base_service.h) publish copies of their base's MethodInfo with it set.
struct MethodPolicy {
  bool auth_required = false;  // a valid API key, whatever require_auth and overrides say
  bool read_only = false;      // the handler runs in a db::ReadOnlyScope
};

// MethodInfo is immutable after construction and lives as long as the service that
// declared it; safe to share between threads.
struct MethodInfo {
  std::string full_name;  // "/helloworld.Greeter/SayHello", as on the wire
  std::string service;    // "helloworld.Greeter"
  std::string method;     // "SayHello"
  RpcKind kind = RpcKind::kUnary;
  const google::protobuf::MethodDescriptor* descriptor = nullptr;  // may be null in tests
  MethodPolicy policy;
};

}  // namespace rpcforge

#endif  // RPCFORGE_SERVER_METHOD_H_
