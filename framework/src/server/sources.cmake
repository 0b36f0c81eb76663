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
  PUBLIC_DEPS rpcforge_core rpcforge_config gRPC::grpc++ protobuf::libprotobuf Threads::Threads
  PRIVATE_DEPS gRPC::grpc++_reflection spdlog::spdlog CLI11::CLI11)
