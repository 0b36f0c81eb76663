# SPDX-License-Identifier: Apache-2.0
rpcforge_add_proto(rpcforge_model_test_proto
  PROTOS src/model/testdata/model_test.proto
  IMPORT_DIRS ${CMAKE_CURRENT_SOURCE_DIR}/src)

rpcforge_add_test(NAME rpcforge_model_test
  SRCS
    src/model/serializer_test.cc
    src/model/generic_service_test.cc
  DEPS rpcforge_fixtures rpcforge_testing rpcforge_model_test_proto)
target_include_directories(rpcforge_model_test PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)

# generateproto end to end: the real command writes a .proto at build time, the real
# protoc (through rpcforge_add_proto) compiles it, and generate_proto_test.cc serves it
# with ModelService unchanged.
add_executable(rpcforge_genproto_app src/model/testdata/genproto_app.cc)
target_link_libraries(rpcforge_genproto_app PRIVATE rpcforge_framework)
target_include_directories(rpcforge_genproto_app PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
set(_genproto_dir "${CMAKE_CURRENT_BINARY_DIR}/genproto")
add_custom_command(
  OUTPUT "${_genproto_dir}/shop/v1/gadget.proto"
  COMMAND ${CMAKE_COMMAND} -E make_directory "${_genproto_dir}/shop/v1"
  COMMAND rpcforge_genproto_app --log-level off generateproto --model modeltest.gadget
          --package shop.v1 --file "${_genproto_dir}/shop/v1/gadget.proto.new"
  # An unchanged .proto keeps its time stamp, so a relinked app (any framework edit)
  # does not re-run protoc and recompile the test.
  COMMAND ${CMAKE_COMMAND} -E copy_if_different "${_genproto_dir}/shop/v1/gadget.proto.new"
          "${_genproto_dir}/shop/v1/gadget.proto"
  BYPRODUCTS "${_genproto_dir}/shop/v1/gadget.proto.new"
  DEPENDS rpcforge_genproto_app
  COMMENT "rpcforge: generateproto --model modeltest.gadget"
  VERBATIM)
rpcforge_add_proto(rpcforge_genproto_proto
  PROTOS "${_genproto_dir}/shop/v1/gadget.proto"
  IMPORT_DIRS "${_genproto_dir}")
rpcforge_add_test(NAME rpcforge_genproto_test
  SRCS src/model/generate_proto_test.cc
  DEPS rpcforge_fixtures rpcforge_testing rpcforge_genproto_proto)
target_include_directories(rpcforge_genproto_test PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
