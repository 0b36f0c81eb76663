# SPDX-License-Identifier: Apache-2.0
# rpcforge::DynamicClient and the `invoke` command, against the Echo test service
# (rpcforge_echo_proto comes from src/server/tests.cmake).
rpcforge_add_test(NAME rpcforge_dynamic_client_test
  SRCS src/client/dynamic_client_test.cc
  DEPS rpcforge_testing rpcforge_echo_proto)
target_include_directories(rpcforge_dynamic_client_test PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
