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

# RPCFORGE_SPLIT_DWARF (Debug builds without sanitizers; default ON) keeps each object's
# debug info in a .dwo file beside it (-gsplit-dwarf), so the linker copies only a
# skeleton: a one-file edit relinks about 37 test and sample executables, and with the
# DWARF in the archives mold spent most of the rebuild reading and writing it. gdb and
# addr2line find the .dwo files in the build tree. Sanitized builds keep whole DWARF for
# their reports; Release builds have no -g to split.
option(RPCFORGE_SPLIT_DWARF "Debug builds: -gsplit-dwarf (faster links)" ON)
if(RPCFORGE_SPLIT_DWARF AND CMAKE_BUILD_TYPE STREQUAL "Debug" AND NOT RPCFORGE_SANITIZE
   AND CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  message(STATUS "rpcforge: -gsplit-dwarf")
  add_compile_options(-gsplit-dwarf)
endif()
