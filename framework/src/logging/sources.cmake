# SPDX-License-Identifier: Apache-2.0
# rpcforge::logging: the request log (its writer, journal and stats).
rpcforge_framework_module(logging
  SRCS
    src/logging/request_log.cc
    src/logging/request_log_journal.cc
    src/logging/request_log_stats.cc
  PUBLIC_DEPS rpcforge_server
  PRIVATE_DEPS spdlog::spdlog nlohmann_json::nlohmann_json OpenSSL::Crypto)
