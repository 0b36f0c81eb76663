# SPDX-License-Identifier: Apache-2.0
# rpcforge::framework: the handler model, pipeline, server, app and commands.
rpcforge_framework_module(framework
  SRCS
    src/server/context.cc
    src/server/server_context.cc
    src/server/middleware.cc
    src/server/dispatcher.cc
    src/server/app.cc
    src/server/server.cc
    src/cli/main.cc
    src/cli/serve.cc
    src/cli/db_commands.cc
    src/server/rate_limit.cc
    src/server/signature.cc
    src/cli/invoke.cc
    src/client/dynamic_client.cc
  PUBLIC_DEPS rpcforge_core rpcforge_config rpcforge_db gRPC::grpc++ protobuf::libprotobuf Threads::Threads
  PRIVATE_DEPS gRPC::grpc++_reflection rpcforge_grpc_protos spdlog::spdlog CLI11::CLI11)
