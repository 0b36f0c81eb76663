# SPDX-License-Identifier: Apache-2.0
# rpcforge_add_proto(<target>
#     PROTOS a/v1/a.proto ...        .proto files (relative to the current source dir or absolute)
#     [IMPORT_DIRS dir ...]          roots the .proto files are named relative to
#     [NO_GRPC]                      messages only: no grpc stubs, no rpcforge services
#     [LINK lib ...])                libraries of imported protos
#
# Creates a STATIC library <target> holding, for every .proto, the protobuf code
# (X.pb.h), the grpc code with mocks (X.grpc.pb.h, X_mock.grpc.pb.h) and the rpcforge
# service bases and adapters (X.rpcforge.h). The generated folder is a PUBLIC SYSTEM
# include, and the framework's own proto/ folder is always an import directory, so
# `import "google/rpc/status.proto";` works everywhere.
include_guard(GLOBAL)

if(NOT RPCFORGE_PROTO_DIR)
  message(FATAL_ERROR "RPCFORGE_PROTO_DIR is not set; include rpcforge through find_package")
endif()

function(_rpcforge_proto_rel out proto import_dirs)
  foreach(dir IN LISTS import_dirs)
    file(RELATIVE_PATH rel "${dir}" "${proto}")
    if(NOT rel MATCHES "^\\.\\./")
      set(${out} "${rel}" PARENT_SCOPE)
      return()
    endif()
  endforeach()
  message(FATAL_ERROR "rpcforge_add_proto: ${proto} is not under any IMPORT_DIRS (${import_dirs})")
endfunction()

function(rpcforge_add_proto target)
  cmake_parse_arguments(P "NO_GRPC;NO_RPCFORGE" "" "PROTOS;IMPORT_DIRS;LINK" ${ARGN})
  if(NOT P_PROTOS)
    message(FATAL_ERROR "rpcforge_add_proto(${target}): PROTOS is empty")
  endif()
  set(out_dir "${CMAKE_CURRENT_BINARY_DIR}/${target}_gen")
  file(MAKE_DIRECTORY "${out_dir}")

  set(import_dirs "")
  foreach(dir IN LISTS P_IMPORT_DIRS)
    get_filename_component(abs "${dir}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    list(APPEND import_dirs "${abs}")
  endforeach()
  if(NOT P_IMPORT_DIRS)
    list(APPEND import_dirs "${CMAKE_CURRENT_SOURCE_DIR}")
  endif()
  list(APPEND import_dirs "${RPCFORGE_PROTO_DIR}")
  list(REMOVE_DUPLICATES import_dirs)
  set(include_flags "")
  foreach(dir IN LISTS import_dirs)
    list(APPEND include_flags "-I${dir}")
  endforeach()

  if(TARGET rpcforge_protoc_gen)
    set(rpcforge_plugin "$<TARGET_FILE:rpcforge_protoc_gen>")
    set(rpcforge_plugin_dep rpcforge_protoc_gen)
  else()
    set(rpcforge_plugin "$<TARGET_FILE:rpcforge::protoc-gen-rpcforge>")
    set(rpcforge_plugin_dep rpcforge::protoc-gen-rpcforge)
  endif()
  set(grpc_plugin "$<TARGET_FILE:gRPC::grpc_cpp_plugin>")

  set(srcs "")
  set(hdrs "")
  foreach(proto IN LISTS P_PROTOS)
    get_filename_component(abs "${proto}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    _rpcforge_proto_rel(rel "${abs}" "${import_dirs}")
    string(REGEX REPLACE "\\.proto$" "" stem "${rel}")
    set(outs "${out_dir}/${stem}.pb.h" "${out_dir}/${stem}.pb.cc")
    set(args --cpp_out=${out_dir})
    set(deps "${abs}")
    if(NOT P_NO_GRPC)
      list(APPEND outs "${out_dir}/${stem}.grpc.pb.h" "${out_dir}/${stem}.grpc.pb.cc"
                       "${out_dir}/${stem}_mock.grpc.pb.h")
      list(APPEND args "--plugin=protoc-gen-grpc=${grpc_plugin}"
                       "--grpc_out=generate_mock_code=true:${out_dir}")
      if(NOT P_NO_RPCFORGE)
        list(APPEND outs "${out_dir}/${stem}.rpcforge.h" "${out_dir}/${stem}.rpcforge.cc")
        list(APPEND args "--plugin=protoc-gen-rpcforge=${rpcforge_plugin}"
                         "--rpcforge_out=${out_dir}")
        list(APPEND deps ${rpcforge_plugin_dep})
      endif()
    endif()
    add_custom_command(
      OUTPUT ${outs}
      COMMAND protobuf::protoc ${include_flags} ${args} "${abs}"
      DEPENDS ${deps} protobuf::protoc
      COMMENT "rpcforge: generating code for ${rel}"
      VERBATIM)
    foreach(o IN LISTS outs)
      if(o MATCHES "\\.cc$")
        list(APPEND srcs "${o}")
      else()
        list(APPEND hdrs "${o}")
      endif()
    endforeach()
  endforeach()

  add_library(${target} STATIC ${srcs} ${hdrs})
  set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  target_compile_features(${target} PUBLIC cxx_std_17)
  target_include_directories(${target} SYSTEM PUBLIC "$<BUILD_INTERFACE:${out_dir}>")
  target_link_libraries(${target} PUBLIC protobuf::libprotobuf ${P_LINK})
  if(NOT P_NO_GRPC)
    target_link_libraries(${target} PUBLIC gRPC::grpc++)
    if(NOT P_NO_RPCFORGE)
      if(TARGET rpcforge_framework)
        target_link_libraries(${target} PUBLIC rpcforge_framework)
      else()
        target_link_libraries(${target} PUBLIC rpcforge::framework)
      endif()
    endif()
  endif()
endfunction()

# rpcforge_add_service_library(<name> SRCS a.cc ... [LINK_LIBRARIES lib ...])
# A library of services and models that register themselves (RPCFORGE_REGISTER_SERVICE,
# RPCFORGE_REGISTER_APP). It is an OBJECT library, because the linker drops the object
# files of a static library that nothing references, and with them the registration:
# the service is then silently not served. Link it into the server and its tests like
# any other library (target_link_libraries(app PRIVATE <name>)).
function(rpcforge_add_service_library name)
  cmake_parse_arguments(S "" "" "SRCS;LINK_LIBRARIES" ${ARGN})
  if(NOT S_SRCS)
    message(FATAL_ERROR "rpcforge_add_service_library(${name}): SRCS is required")
  endif()
  add_library(${name} OBJECT ${S_SRCS})
  target_link_libraries(${name} PUBLIC rpcforge::framework ${S_LINK_LIBRARIES})
  target_compile_features(${name} PUBLIC cxx_std_17)
endfunction()

# rpcforge_add_migrations(<target> APP <label> [DIR <dir>] [FUNCTION <ns::Name>])
# Embeds the migration files of app <label> (every *.json in DIR, default migrations/
# beside the calling CMakeLists.txt) into <target> (the executable, or the OBJECT
# library of the app's models), and tells `makemigrations` to write the app's new
# migrations there. A file makemigrations adds is picked up by the next build with no
# CMake change: the glob is re-checked at every build (CONFIGURE_DEPENDS).
# With FUNCTION, the generated file defines `void ns::Name(rpcforge::db::App&)` adding
# the files to the app instead of registering them at start-up (for a static library,
# whose unreferenced object files the linker drops: the framework's own migrations).
set_property(GLOBAL PROPERTY RPCFORGE_CMAKE_DIR "${CMAKE_CURRENT_LIST_DIR}")
function(rpcforge_add_migrations target)
  cmake_parse_arguments(M "" "APP;DIR;FUNCTION" "" ${ARGN})
  if(NOT M_APP)
    message(FATAL_ERROR "rpcforge_add_migrations(${target}): APP is required")
  endif()
  if(NOT M_DIR)
    set(M_DIR "${CMAKE_CURRENT_SOURCE_DIR}/migrations")
  endif()
  get_filename_component(M_DIR "${M_DIR}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
  file(GLOB _files CONFIGURE_DEPENDS "${M_DIR}/*.json")
  set(_out "${CMAKE_CURRENT_BINARY_DIR}/${target}_${M_APP}_migrations.cc")
  get_property(_cmake_dir GLOBAL PROPERTY RPCFORGE_CMAKE_DIR)
  set(_script "${_cmake_dir}/RpcforgeEmbedMigrations.cmake")
  add_custom_command(OUTPUT "${_out}"
    COMMAND "${CMAKE_COMMAND}" "-DAPP=${M_APP}" "-DDIR=${M_DIR}" "-DOUT=${_out}"
            "-DFUNCTION=${M_FUNCTION}" -P "${_script}"
    DEPENDS ${_files} "${_script}"
    COMMENT "Embedding the migrations of app ${M_APP}"
    VERBATIM)
  target_sources(${target} PRIVATE "${_out}")
endfunction()
