# SPDX-License-Identifier: Apache-2.0
# Install rules: headers, libraries, the protoc plugin, the framework's .proto files,
# the CMake helpers and rpcforgeConfig.cmake, so `find_package(rpcforge)` works.
include(CMakePackageConfigHelpers)

set(RPCFORGE_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/rpcforge")
get_property(_rpcforge_targets GLOBAL PROPERTY RPCFORGE_EXPORTED_TARGETS)

install(TARGETS ${_rpcforge_targets}
  EXPORT rpcforgeTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

foreach(_dir framework/include testing/include fixtures/include)
  if(EXISTS "${PROJECT_SOURCE_DIR}/${_dir}")
    install(DIRECTORY "${_dir}/" DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  endif()
endforeach()
# Generated headers of the framework's own protos.
install(DIRECTORY "${PROJECT_BINARY_DIR}/framework/rpcforge_protos_gen/"
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/rpcforge/gen
  FILES_MATCHING PATTERN "*.h")
install(DIRECTORY "${PROJECT_BINARY_DIR}/framework/rpcforge_grpc_protos_gen/"
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/rpcforge/gen
  FILES_MATCHING PATTERN "*.h")
install(DIRECTORY proto/ DESTINATION ${CMAKE_INSTALL_DATADIR}/rpcforge/proto)

install(EXPORT rpcforgeTargets NAMESPACE rpcforge:: DESTINATION ${RPCFORGE_INSTALL_CMAKEDIR})
configure_package_config_file(cmake/rpcforgeConfig.cmake.in
  "${PROJECT_BINARY_DIR}/rpcforgeConfig.cmake"
  INSTALL_DESTINATION ${RPCFORGE_INSTALL_CMAKEDIR}
  PATH_VARS CMAKE_INSTALL_DATADIR)
write_basic_package_version_file("${PROJECT_BINARY_DIR}/rpcforgeConfigVersion.cmake"
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES
  "${PROJECT_BINARY_DIR}/rpcforgeConfig.cmake"
  "${PROJECT_BINARY_DIR}/rpcforgeConfigVersion.cmake"
  cmake/RpcforgeProto.cmake
  cmake/RpcforgeEmbedMigrations.cmake
  cmake/RpcforgeDeps.cmake
  DESTINATION ${RPCFORGE_INSTALL_CMAKEDIR})
