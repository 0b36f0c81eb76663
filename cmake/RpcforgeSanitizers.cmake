# SPDX-License-Identifier: Apache-2.0
# RPCFORGE_SANITIZE="address;undefined" or "thread": instrument every target of the
# build, not just rpcforge's own libraries. Generated-proto libraries, samples, tests
# and benchmarks must all carry the flags, or the link fails (UBSan's runtime is
# missing) and ASan misses bugs in code it does not see. So these are directory-wide
# compile and link options, the one place rpcforge sets options outside target_*
# commands (userver's Sanitizers.cmake does the same). Installed packages carry the
# link flag on rpcforge::core's INTERFACE, so consumers link the sanitizer runtimes.
include_guard(GLOBAL)

set(RPCFORGE_SANITIZE_FLAGS "")
set(RPCFORGE_SANITIZE_DEFINITIONS "")
if(RPCFORGE_SANITIZE)
  set(_known address undefined thread leak)
  foreach(_s IN LISTS RPCFORGE_SANITIZE)
    if(NOT _s IN_LIST _known)
      message(FATAL_ERROR "RPCFORGE_SANITIZE: unknown sanitizer '${_s}' (known: ${_known})")
    endif()
  endforeach()
  if("thread" IN_LIST RPCFORGE_SANITIZE AND "address" IN_LIST RPCFORGE_SANITIZE)
    message(FATAL_ERROR "RPCFORGE_SANITIZE: 'thread' cannot be combined with 'address'")
  endif()
  string(REPLACE ";" "," _san "${RPCFORGE_SANITIZE}")
  set(RPCFORGE_SANITIZE_FLAGS "-fsanitize=${_san}")
  add_compile_options(${RPCFORGE_SANITIZE_FLAGS} -fno-omit-frame-pointer)
  if("undefined" IN_LIST RPCFORGE_SANITIZE)
    # Report and fail instead of printing and going on, so ctest sees UB.
    add_compile_options(-fno-sanitize-recover=undefined)
  endif()
  if("thread" IN_LIST RPCFORGE_SANITIZE)
    # rpcforge/server/internal/tsan.h: happens-before edges across uninstrumented gRPC.
    add_compile_definitions(RPCFORGE_TSAN=1)
    set(RPCFORGE_SANITIZE_DEFINITIONS RPCFORGE_TSAN=1)
  endif()
  if("thread" IN_LIST RPCFORGE_SANITIZE AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # protobuf 3.21's map_field.h adds two members to MapFieldBase when GCC's
    # __SANITIZE_THREAD__ is defined; Debian's libprotobuf is built without them, so
    # every map field (the config's maps) would be read with the wrong layout.
    add_compile_options(-U__SANITIZE_THREAD__)
  endif()
  add_link_options(${RPCFORGE_SANITIZE_FLAGS})
endif()
