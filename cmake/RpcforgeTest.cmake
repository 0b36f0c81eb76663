# SPDX-License-Identifier: Apache-2.0
# rpcforge_add_test(NAME name SRCS a.cc b.cc DEPS lib...)
# Builds one gtest binary and registers every TEST in it with CTest.
find_package(GTest CONFIG REQUIRED)
include(GoogleTest)
function(rpcforge_add_test)
  cmake_parse_arguments(T "" "NAME;TIMEOUT" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${T_NAME} ${T_SRCS})
  target_link_libraries(${T_NAME} PRIVATE ${T_DEPS} GTest::gmock GTest::gtest_main)
  target_compile_features(${T_NAME} PRIVATE cxx_std_17)
  rpcforge_set_warnings(${T_NAME})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  # PRE_TEST: ctest lists a binary's tests when it runs, not the build after every link
  # (a one-file edit relinks dozens of test binaries; listing each was part of the wait).
  gtest_discover_tests(${T_NAME}
    DISCOVERY_MODE PRE_TEST
    DISCOVERY_TIMEOUT 60
    PROPERTIES TIMEOUT ${T_TIMEOUT} LABELS "${T_LABELS}")
endfunction()
