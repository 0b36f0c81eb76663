# SPDX-License-Identifier: Apache-2.0
rpcforge_framework_module(core
  SRCS
    src/core/clock.cc
    src/core/errors.cc
    src/core/log.cc
    src/core/strings.cc
  PUBLIC_DEPS rpcforge_protos gRPC::grpc++ protobuf::libprotobuf Threads::Threads
  PRIVATE_DEPS spdlog::spdlog)
# Consumers of an installed sanitizer build are instrumented and link the same
# runtimes (in-tree targets get this from RpcforgeSanitizers' directory-wide options).
if(RPCFORGE_SANITIZE_FLAGS)
  target_compile_options(rpcforge_core INTERFACE
    "$<INSTALL_INTERFACE:${RPCFORGE_SANITIZE_FLAGS};-fno-omit-frame-pointer>")
  target_link_options(rpcforge_core INTERFACE "$<INSTALL_INTERFACE:${RPCFORGE_SANITIZE_FLAGS}>")
  target_compile_definitions(rpcforge_core INTERFACE
    "$<INSTALL_INTERFACE:${RPCFORGE_SANITIZE_DEFINITIONS}>")
endif()
