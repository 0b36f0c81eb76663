# SPDX-License-Identifier: Apache-2.0
rpcforge_add_test(NAME rpcforge_auth_test
  SRCS
    src/auth/api_keys_test.cc
    src/auth/base_service_test.cc
    src/auth/auth_commands_test.cc
  DEPS rpcforge_fixtures rpcforge_testing rpcforge_echo_proto rpcforge_grpc_protos)
target_include_directories(rpcforge_auth_test PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
target_compile_definitions(rpcforge_auth_test PRIVATE
  RPCFORGE_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
