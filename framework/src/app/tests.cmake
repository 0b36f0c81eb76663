# SPDX-License-Identifier: Apache-2.0
# App (its middleware registry) and Server: start, stop, flush, journal replay, reflection, health.
rpcforge_add_test(NAME rpcforge_app_test
  SRCS src/app/app_test.cc src/app/server_test.cc
  DEPS rpcforge_testing rpcforge_echo_proto rpcforge_grpc_protos)
target_include_directories(rpcforge_app_test PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
