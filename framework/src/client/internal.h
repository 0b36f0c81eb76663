// SPDX-License-Identifier: Apache-2.0
// What the dynamic client's files share (not installed): dynamic_client.cc (the client),
// reflection_database.h (descriptors from server reflection), json_requests.cc (JSON
// to request messages) and describe.cc (proto text for describe).
#ifndef RPCFORGE_SRC_CLIENT_INTERNAL_H_
#define RPCFORGE_SRC_CLIENT_INTERNAL_H_

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <grpcpp/client_context.h>

#include <string>
#include <vector>

namespace rpcforge::client_internal {

// AddMetadata validates and adds one entry; gRPC would otherwise fail the call with a
// bare INTERNAL (or abort) on an invalid key. Throws InvalidArgument.
void AddMetadata(grpc::ClientContext& ctx, std::string key, const std::string& value);

// Suggest returns "; did you mean 'x'?" for the closest candidate, if close enough.
std::string Suggest(const std::string& wanted, const std::vector<std::string>& candidates);

// BuildRequestsWith is BuildRequests with the factory that makes the request messages
// (the client's, over its reflection-backed pool).
std::vector<std::string> BuildRequestsWith(google::protobuf::MessageFactory& factory,
                                           const google::protobuf::MethodDescriptor& m,
                                           const std::string& json);

// KindName: "unary", "server streaming", ...; RpcLine: "rpc M(Req) returns (stream R);".
const char* KindName(bool client_streaming, bool server_streaming);
std::string RpcLine(const google::protobuf::MethodDescriptor& m);
// PrintMessage and PrintEnum append the proto text of a type to `out`.
void PrintMessage(const google::protobuf::Descriptor& d, const std::string& indent,
                  std::string* out);
void PrintEnum(const google::protobuf::EnumDescriptor& e, const std::string& indent,
               std::string* out);
// CollectTypes gathers `d` and the messages and enums its fields use (transitively),
// top-level ones only; well-known types stay out.
void CollectTypes(const google::protobuf::Descriptor* d, std::vector<const void*>* seen,
                  std::vector<const google::protobuf::Descriptor*>* messages,
                  std::vector<const google::protobuf::EnumDescriptor*>* enums);

}  // namespace rpcforge::client_internal

#endif  // RPCFORGE_SRC_CLIENT_INTERNAL_H_
