# SPDX-License-Identifier: Apache-2.0
# rpcforge_set_warnings(target): the one place compiler warnings are chosen.
function(rpcforge_set_warnings target)
  target_compile_options(${target} PRIVATE
    $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra -Wpedantic -Wno-unused-parameter>)
endfunction()
