# SPDX-License-Identifier: Apache-2.0
# RPCFORGE_BUILD_FUZZERS=ON builds the libFuzzer targets of tests/fuzz (ci/fuzz runs
# them). libFuzzer is guided by coverage, so every target of the build, not only the
# fuzz executables, is compiled with -fsanitize=fuzzer-no-link: a crash deep in the
# config reader or the query builder is only found if the fuzzer sees which branches
# there an input reached. Like RpcforgeSanitizers these are directory-wide options;
# the link option pulls in the coverage callbacks for the ordinary executables (the
# protoc plugin), and the fuzz executables add -fsanitize=fuzzer themselves. Use it
# with RPCFORGE_SANITIZE="address;undefined" so findings are memory errors and UB too.
include_guard(GLOBAL)

if(RPCFORGE_BUILD_FUZZERS)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang" OR NOT CMAKE_C_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR
      "RPCFORGE_BUILD_FUZZERS needs Clang with libFuzzer (C: ${CMAKE_C_COMPILER_ID}, "
      "C++: ${CMAKE_CXX_COMPILER_ID}). Configure a fresh build directory with "
      "CC=clang-14 CXX=clang++-14 (Debian: apt-get install clang-14 libclang-rt-14-dev), "
      "or run ci/fuzz.")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link)
  add_link_options(-fsanitize=fuzzer-no-link)
endif()
