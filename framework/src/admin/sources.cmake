# SPDX-License-Identifier: Apache-2.0
# rpcforge::admin: the admin HTTP port (cpp-httplib, OpenSSL for TLS) and its page.
rpcforge_framework_module(admin
  SRCS
    src/admin/admin_server.cc
    src/admin/admin_api.cc
    src/admin/metrics.cc
  PUBLIC_DEPS rpcforge_status rpcforge_app
  PRIVATE_DEPS spdlog::spdlog nlohmann_json::nlohmann_json
    ${RPCFORGE_HTTPLIB_LINK_LIBRARIES} OpenSSL::SSL)
set_source_files_properties(src/admin/admin_server.cc PROPERTIES
  COMPILE_OPTIONS "${RPCFORGE_HTTPLIB_CFLAGS_OTHER}")
# The admin page (src/admin/page.html), served from memory.
set(_admin_page_cc "${CMAKE_CURRENT_BINARY_DIR}/rpcforge_admin_page.cc")
add_custom_command(OUTPUT "${_admin_page_cc}"
  COMMAND "${CMAKE_COMMAND}" "-DINPUT=${CMAKE_CURRENT_SOURCE_DIR}/src/admin/page.html"
          "-DOUTPUT=${_admin_page_cc}" "-DNAMESPACE=rpcforge::admin::admin_internal"
          "-DSYMBOL=kAdminPage" -P "${PROJECT_SOURCE_DIR}/cmake/RpcforgeEmbedText.cmake"
  DEPENDS src/admin/page.html "${PROJECT_SOURCE_DIR}/cmake/RpcforgeEmbedText.cmake"
  COMMENT "Embedding the admin page" VERBATIM)
target_sources(rpcforge_admin PRIVATE "${_admin_page_cc}")
