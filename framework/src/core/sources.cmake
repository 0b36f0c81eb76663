# SPDX-License-Identifier: Apache-2.0
rpcforge_framework_module(core
  SRCS
    src/core/clock.cc
    src/core/errors.cc
    src/core/log.cc
  PUBLIC_DEPS rpcforge_protos gRPC::grpc++ protobuf::libprotobuf Threads::Threads
  PRIVATE_DEPS SQLiteCpp spdlog::spdlog)
