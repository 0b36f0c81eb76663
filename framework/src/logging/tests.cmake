# SPDX-License-Identifier: Apache-2.0
# Request logging (src/logging/) and server status (src/status/), with their commands.
rpcforge_add_test(NAME rpcforge_request_log_test
  SRCS
    src/logging/request_log_test.cc
    src/cli/observability_commands_test.cc
  DEPS rpcforge_fixtures rpcforge_testing rpcforge_echo_proto rpcforge_grpc_protos)
target_include_directories(rpcforge_request_log_test PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
target_compile_definitions(rpcforge_request_log_test PRIVATE
  RPCFORGE_SOURCE_DIR="${PROJECT_SOURCE_DIR}")

rpcforge_add_test(NAME rpcforge_server_status_test
  SRCS src/status/server_status_test.cc
  DEPS rpcforge_fixtures rpcforge_testing rpcforge_echo_proto rpcforge_grpc_protos)
target_include_directories(rpcforge_server_status_test PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
