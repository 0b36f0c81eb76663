# SPDX-License-Identifier: Apache-2.0
# rpcforge::status: server status rows (instances, heartbeats, services JSON).
rpcforge_framework_module(status
  SRCS
    src/status/server_status.cc
  PUBLIC_DEPS rpcforge_app
  PRIVATE_DEPS spdlog::spdlog nlohmann_json::nlohmann_json)
