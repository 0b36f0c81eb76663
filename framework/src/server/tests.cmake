# SPDX-License-Identifier: Apache-2.0
rpcforge_add_proto(rpcforge_echo_proto
  PROTOS src/server/testdata/echo.proto
  IMPORT_DIRS ${CMAKE_CURRENT_SOURCE_DIR}/src)

rpcforge_add_test(NAME rpcforge_server_test
  SRCS
    src/server/handler_model_test.cc
    src/server/pipeline_test.cc
    src/server/peer_test.cc
    src/server/dispatcher_test.cc
    src/server/call_metrics_test.cc
  DEPS rpcforge_testing rpcforge_echo_proto rpcforge_grpc_protos)
target_include_directories(rpcforge_server_test PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
