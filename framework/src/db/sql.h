// SPDX-License-Identifier: Apache-2.0
// Private SQL text helpers of the db module.
#ifndef RPCFORGE_SRC_DB_SQL_H_
#define RPCFORGE_SRC_DB_SQL_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace rpcforge::db::sql {

// Quote renders an identifier as a double-quoted SQL identifier. Names reaching it
// were checked against a Model (or came from the engine's catalog), never from a request.
inline std::string Quote(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// Placeholders is "?, ?, ..." with `n` marks, for an IN list or a VALUES row.
inline std::string Placeholders(size_t n) {
  std::string out;
  out.reserve(n * 3);
  for (size_t i = 0; i < n; ++i) out += i == 0 ? "?" : ", ?";
  return out;
}

// TableForLabel maps "app.model" to "app_model".
inline std::string TableForLabel(std::string_view label) {
  std::string out(label);
  for (char& c : out) {
    if (c == '.') c = '_';
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// EscapeLike escapes LIKE wildcards with '\' (use with ESCAPE '\').
inline std::string EscapeLike(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '%' || c == '_' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace rpcforge::db::sql

#endif  // RPCFORGE_SRC_DB_SQL_H_
