# SPDX-License-Identifier: Apache-2.0
# The admin HTTP port (src/admin/), called over loopback HTTP by cpp-httplib's client.
rpcforge_add_test(NAME rpcforge_admin_test
  SRCS src/admin/admin_server_test.cc
  DEPS rpcforge_fixtures rpcforge_testing rpcforge_echo_proto rpcforge_grpc_protos
       ${RPCFORGE_HTTPLIB_LINK_LIBRARIES} OpenSSL::SSL)
target_include_directories(rpcforge_admin_test PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
target_compile_options(rpcforge_admin_test PRIVATE ${RPCFORGE_HTTPLIB_CFLAGS_OTHER})
