# SPDX-License-Identifier: Apache-2.0
# rpcforge::auth: users and API keys, per-method policy. OpenSSL: SHA-256 and the CSPRNG.
rpcforge_framework_module(auth
  SRCS
    src/auth/api_keys.cc
    src/auth/base_service.cc
  PUBLIC_DEPS rpcforge_server
  PRIVATE_DEPS spdlog::spdlog OpenSSL::Crypto)
