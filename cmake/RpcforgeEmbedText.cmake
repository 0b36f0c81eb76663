# SPDX-License-Identifier: Apache-2.0
# cmake -DINPUT=page.html -DOUTPUT=page.cc -DNAMESPACE=a::b -DSYMBOL=kPage -P RpcforgeEmbedText.cmake
# Writes OUTPUT defining `extern const char NAMESPACE::SYMBOL[]` with INPUT's text, for
# files the framework serves from memory (the admin page).
file(READ "${INPUT}" _text)
set(_delim "rpcforge_text")
string(FIND "${_text}" ")${_delim}\"" _clash)
if(NOT _clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains \")${_delim}\\\"\", which ends the embedded text")
endif()
file(WRITE "${OUTPUT}" "// Generated from ${INPUT}; do not edit.
namespace ${NAMESPACE} {
extern const char ${SYMBOL}[];
const char ${SYMBOL}[] = R\"${_delim}(${_text})${_delim}\";
}  // namespace ${NAMESPACE}
")
