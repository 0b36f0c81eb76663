# SPDX-License-Identifier: Apache-2.0
rpcforge_add_test(NAME rpcforge_cli_test
  SRCS src/cli/cli_test.cc
  DEPS rpcforge_testing rpcforge_echo_proto)
target_include_directories(rpcforge_cli_test PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)

# Its own binary: it registers apps in the process-wide registry.
rpcforge_add_test(NAME rpcforge_migration_cli_test
  SRCS src/cli/migration_commands_test.cc
  DEPS rpcforge_testing)
