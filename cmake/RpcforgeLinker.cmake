# SPDX-License-Identifier: Apache-2.0
# RPCFORGE_LINKER picks the linker for rpcforge's own binaries: "auto" (the default)
# takes mold, else lld, when the compiler can use it and the build is not Release or
# MinSizeRel; "mold", "lld", "bfd" or "gold" force one; "default" leaves the
# toolchain's. Why: a one-file edit relinks dozens of test executables against static
# libraries and GNU ld spent most of the rebuild there (touching db/query.cc: 36 s with
# ld.bfd, see the commit that added this file). Release builds and the installed
# package keep the toolchain's linker, as users expect.
set(RPCFORGE_LINKER "auto" CACHE STRING "Linker for rpcforge's binaries: auto, mold, lld, bfd, gold or default")

include(CheckCXXSourceCompiles)

function(rpcforge_linker_works flag out)
  set(CMAKE_REQUIRED_LINK_OPTIONS "${flag}")
  check_cxx_source_compiles("int main() { return 0; }" ${out})
endfunction()

set(_rpcforge_linker "")
if(RPCFORGE_LINKER STREQUAL "auto")
  if(NOT CMAKE_BUILD_TYPE MATCHES "^(Release|MinSizeRel)$")
    foreach(_candidate mold lld)
      rpcforge_linker_works("-fuse-ld=${_candidate}" RPCFORGE_HAS_LINKER_${_candidate})
      if(RPCFORGE_HAS_LINKER_${_candidate})
        set(_rpcforge_linker ${_candidate})
        break()
      endif()
    endforeach()
  endif()
elseif(NOT RPCFORGE_LINKER STREQUAL "default")
  rpcforge_linker_works("-fuse-ld=${RPCFORGE_LINKER}" RPCFORGE_HAS_LINKER_${RPCFORGE_LINKER})
  if(NOT RPCFORGE_HAS_LINKER_${RPCFORGE_LINKER})
    message(FATAL_ERROR "RPCFORGE_LINKER=${RPCFORGE_LINKER}: ${CMAKE_CXX_COMPILER} cannot link with -fuse-ld=${RPCFORGE_LINKER}")
  endif()
  set(_rpcforge_linker ${RPCFORGE_LINKER})
endif()

if(_rpcforge_linker)
  message(STATUS "rpcforge: linking with ${_rpcforge_linker}")
  add_link_options("-fuse-ld=${_rpcforge_linker}")
endif()
