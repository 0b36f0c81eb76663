# SPDX-License-Identifier: Apache-2.0
# The built-in middlewares' tests, one file per middleware.
rpcforge_add_test(NAME rpcforge_middleware_test
  SRCS
    src/middleware/auth_test.cc
    src/middleware/rate_limit_test.cc
    src/middleware/rate_limit_storage_test.cc
    src/middleware/signature_check_test.cc
    src/middleware/request_logging_test.cc
  DEPS rpcforge_fixtures rpcforge_testing rpcforge_echo_proto rpcforge_grpc_protos)
target_include_directories(rpcforge_middleware_test PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
target_compile_definitions(rpcforge_middleware_test PRIVATE
  RPCFORGE_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
