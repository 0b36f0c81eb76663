# SPDX-License-Identifier: Apache-2.0
# rpcforge::client: the dynamic client behind `invoke` (reflection, JSON requests,
# describe).
rpcforge_framework_module(client
  SRCS
    src/client/dynamic_client.cc
    src/client/json_requests.cc
    src/client/describe.cc
  PUBLIC_DEPS rpcforge_core gRPC::grpc++ protobuf::libprotobuf
  PRIVATE_DEPS gRPC::grpc++_reflection rpcforge_grpc_protos spdlog::spdlog nlohmann_json::nlohmann_json)
