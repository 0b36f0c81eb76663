# SPDX-License-Identifier: Apache-2.0
# rpcforge::cli: App::Main and the commands every application binary shares.
rpcforge_framework_module(cli
  SRCS
    src/cli/main.cc
    src/cli/serve.cc
    src/cli/db_commands.cc
    src/cli/migration_commands.cc
    src/cli/invoke.cc
    src/cli/generateproto.cc
    src/cli/auth_commands.cc
    src/cli/observability_commands.cc
  PUBLIC_DEPS rpcforge_admin rpcforge_status rpcforge_app rpcforge_model rpcforge_client
  PRIVATE_DEPS spdlog::spdlog CLI11::CLI11 nlohmann_json::nlohmann_json)
