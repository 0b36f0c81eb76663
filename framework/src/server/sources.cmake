# SPDX-License-Identifier: Apache-2.0
# rpcforge::framework: the handler model, pipeline, server, app, built-in middlewares and
# commands.
rpcforge_framework_module(framework
  SRCS
    src/server/context.cc
    src/server/server_context.cc
    src/server/pipeline.cc
    src/server/signals.cc
    src/server/dispatcher.cc
    src/server/call_metrics.cc
    src/server/app.cc
    src/server/server.cc
    src/server/peer.cc
    src/server/tsan.cc
    src/server/grpc_messages.cc
    src/server/grpc_log.cc
    src/server/journal_replay.cc
    src/cli/main.cc
    src/cli/serve.cc
    src/cli/db_commands.cc
    src/cli/migration_commands.cc
    src/cli/invoke.cc
    src/client/dynamic_client.cc
    src/client/json_requests.cc
    src/client/describe.cc
    src/model/proto_util.cc
    src/model/serializer.cc
    src/model/generic_service.cc
    src/model/generate_proto.cc
    src/cli/generateproto.cc
    src/auth/api_keys.cc
    src/auth/base_service.cc
    src/cli/auth_commands.cc
    src/logging/request_log.cc
    src/logging/request_log_journal.cc
    src/logging/request_log_stats.cc
    src/cli/observability_commands.cc
    src/status/server_status.cc
    src/middleware/max_concurrency.cc
    src/middleware/signals.cc
    src/middleware/request_logging.cc
    src/middleware/signature_check.cc
    src/middleware/auth.cc
    src/middleware/rate_limit.cc
    src/middleware/builtins.cc
    src/admin/admin_server.cc
    src/admin/admin_api.cc
    src/admin/metrics.cc
  PUBLIC_DEPS rpcforge_core rpcforge_config rpcforge_db gRPC::grpc++ protobuf::libprotobuf Threads::Threads
  PRIVATE_DEPS gRPC::grpc++_reflection rpcforge_grpc_protos spdlog::spdlog CLI11::CLI11)
# API keys: SHA-256 and the CSPRNG (src/auth/).
target_link_libraries(rpcforge_framework PRIVATE OpenSSL::Crypto)
# Request log and server status (src/logging/, src/status/): the services JSON.
target_link_libraries(rpcforge_framework PRIVATE nlohmann_json::nlohmann_json)
# The admin HTTP port (src/admin/): cpp-httplib, with OpenSSL for TLS.
set_source_files_properties(src/admin/admin_server.cc PROPERTIES
  COMPILE_OPTIONS "${RPCFORGE_HTTPLIB_CFLAGS_OTHER}")
target_link_libraries(rpcforge_framework PRIVATE ${RPCFORGE_HTTPLIB_LINK_LIBRARIES} OpenSSL::SSL)
# The admin page (src/admin/page.html), served from memory.
set(_admin_page_cc "${CMAKE_CURRENT_BINARY_DIR}/rpcforge_admin_page.cc")
add_custom_command(OUTPUT "${_admin_page_cc}"
  COMMAND "${CMAKE_COMMAND}" "-DINPUT=${CMAKE_CURRENT_SOURCE_DIR}/src/admin/page.html"
          "-DOUTPUT=${_admin_page_cc}" "-DNAMESPACE=rpcforge::admin::admin_internal"
          "-DSYMBOL=kAdminPage" -P "${PROJECT_SOURCE_DIR}/cmake/RpcforgeEmbedText.cmake"
  DEPENDS src/admin/page.html "${PROJECT_SOURCE_DIR}/cmake/RpcforgeEmbedText.cmake"
  COMMENT "Embedding the admin page" VERBATIM)
target_sources(rpcforge_framework PRIVATE "${_admin_page_cc}")
