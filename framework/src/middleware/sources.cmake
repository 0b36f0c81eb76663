# SPDX-License-Identifier: Apache-2.0
# rpcforge::middleware: the built-in middlewares, one file each, and the list of them
# (builtins.cc).
rpcforge_framework_module(middleware
  SRCS
    src/middleware/max_concurrency.cc
    src/middleware/signals.cc
    src/middleware/request_logging.cc
    src/middleware/signature_check.cc
    src/middleware/auth.cc
    src/middleware/rate_limit.cc
    src/middleware/builtins.cc
  PUBLIC_DEPS rpcforge_server rpcforge_auth rpcforge_logging
  PRIVATE_DEPS spdlog::spdlog)
