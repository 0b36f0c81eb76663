# SPDX-License-Identifier: Apache-2.0
# rpcforge::server: the handler model, Context, the pipeline and signals, the dispatcher
# and call metrics. App and Server are a layer above (src/app/).
rpcforge_framework_module(server
  SRCS
    src/server/context.cc
    src/server/server_context.cc
    src/server/pipeline.cc
    src/server/signals.cc
    src/server/dispatcher.cc
    src/server/call_metrics.cc
    src/server/peer.cc
    src/server/tsan.cc
    src/server/grpc_messages.cc
    src/server/grpc_log.cc
  PUBLIC_DEPS rpcforge_core rpcforge_config rpcforge_db gRPC::grpc++ protobuf::libprotobuf Threads::Threads
  PRIVATE_DEPS spdlog::spdlog)
