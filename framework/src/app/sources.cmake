# SPDX-License-Identifier: Apache-2.0
# rpcforge::app: App (services, middlewares and their factories, journal appliers) and
# Server, which serves an App; above the middlewares, which App::App registers.
rpcforge_framework_module(app
  SRCS
    src/app/app.cc
    src/app/server.cc
    src/app/journal_replay.cc
  PUBLIC_DEPS rpcforge_middleware rpcforge_server
  PRIVATE_DEPS gRPC::grpc++_reflection spdlog::spdlog)
