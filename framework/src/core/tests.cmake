# SPDX-License-Identifier: Apache-2.0
rpcforge_add_test(NAME rpcforge_core_test
  SRCS src/core/clock_test.cc src/core/errors_test.cc src/core/strings_test.cc
  DEPS rpcforge_core)
target_include_directories(rpcforge_core_test PRIVATE "${CMAKE_CURRENT_SOURCE_DIR}/src")
