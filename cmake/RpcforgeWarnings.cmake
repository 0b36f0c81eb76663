# SPDX-License-Identifier: Apache-2.0
# rpcforge_set_warnings(target): the one place compiler warnings are chosen.
function(rpcforge_set_warnings target)
  target_compile_options(${target} PRIVATE
    $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra -Wpedantic -Wno-unused-parameter>)
  if(RPCFORGE_SANITIZE)
    string(REPLACE ";" "," _san "${RPCFORGE_SANITIZE}")
    target_compile_options(${target} PRIVATE -fsanitize=${_san} -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=${_san})
  endif()
endfunction()
