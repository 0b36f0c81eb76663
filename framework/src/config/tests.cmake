# SPDX-License-Identifier: Apache-2.0
rpcforge_add_test(NAME rpcforge_config_test
  SRCS src/config/config_test.cc
  DEPS rpcforge_config)
target_include_directories(rpcforge_config_test PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
target_compile_definitions(rpcforge_config_test PRIVATE
  RPCFORGE_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
