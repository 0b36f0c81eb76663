// SPDX-License-Identifier: Apache-2.0
// The SQL text work of the PostgreSQL backend (postgres_sql.h).
#include "db/postgres_sql.h"

#include <cctype>
#include <string>

#include "rpcforge/db/database.h"

namespace rpcforge::db::db_internal {

std::string FirstWord(std::string_view sql) {
  size_t i = 0;
  while (i < sql.size() && (std::isspace(static_cast<unsigned char>(sql[i])) || sql[i] == '(')) {
    ++i;
  }
  std::string word;
  while (i < sql.size() && std::isalpha(static_cast<unsigned char>(sql[i]))) {
    word += static_cast<char>(std::toupper(static_cast<unsigned char>(sql[i++])));
  }
  return word;
}

bool HasWord(std::string_view sql, std::string_view word) {
  std::string token;
  auto flush = [&] {
    const bool match = token == word;
    token.clear();
    return match;
  };
  for (size_t i = 0; i < sql.size(); ++i) {
    const char c = sql[i];
    if (c == '\'' || c == '"') {
      if (flush()) return true;
      for (++i; i < sql.size() && sql[i] != c; ++i) {
      }
      continue;
    }
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_') {
      token += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    } else if (flush()) {
      return true;
    }
  }
  return flush();
}

bool IsReadOnly(std::string_view sql) {
  const std::string word = FirstWord(sql);
  if (word == "SELECT" || word == "VALUES" || word == "SHOW" || word == "EXPLAIN" ||
      word == "TABLE") {
    return true;
  }
  if (word == "WITH") {
    return !HasWord(sql, "INSERT") && !HasWord(sql, "UPDATE") && !HasWord(sql, "DELETE");
  }
  return false;
}

bool IsDml(const std::string& word) {
  return word == "SELECT" || word == "INSERT" || word == "UPDATE" || word == "DELETE" ||
         word == "WITH" || word == "VALUES";
}

std::string InsertTable(std::string_view sql) {
  size_t i = 0;
  auto skip_space = [&] {
    while (i < sql.size() && std::isspace(static_cast<unsigned char>(sql[i]))) ++i;
  };
  auto word = [&] {
    skip_space();
    std::string w;
    while (i < sql.size() && std::isalpha(static_cast<unsigned char>(sql[i]))) {
      w += static_cast<char>(std::toupper(static_cast<unsigned char>(sql[i++])));
    }
    return w;
  };
  if (word() != "INSERT" || word() != "INTO") return "";
  skip_space();
  std::string table;
  if (i < sql.size() && sql[i] == '"') {
    for (++i; i < sql.size(); ++i) {
      if (sql[i] == '"') {
        if (i + 1 < sql.size() && sql[i + 1] == '"') {
          table += '"';
          ++i;
          continue;
        }
        break;
      }
      table += sql[i];
    }
    return table;
  }
  while (i < sql.size() && (std::isalnum(static_cast<unsigned char>(sql[i])) || sql[i] == '_')) {
    table += static_cast<char>(std::tolower(static_cast<unsigned char>(sql[i++])));
  }
  return table;
}

std::string ToDollarPlaceholders(std::string_view sql, int* count) {
  std::string out;
  out.reserve(sql.size() + 16);
  int n = 0;
  for (size_t i = 0; i < sql.size(); ++i) {
    const char c = sql[i];
    if (c == '\'' || c == '"') {  // a literal or a quoted identifier ('' and "" stay inside)
      out += c;
      for (++i; i < sql.size(); ++i) {
        out += sql[i];
        if (sql[i] == c) {
          if (i + 1 < sql.size() && sql[i + 1] == c) {
            out += sql[++i];
            continue;
          }
          break;
        }
      }
      continue;
    }
    if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      while (i < sql.size() && sql[i] != '\n') out += sql[i++];
      if (i < sql.size()) out += sql[i];
      continue;
    }
    if (c == '/' && i + 1 < sql.size() && sql[i + 1] == '*') {
      const size_t end = sql.find("*/", i + 2);
      const size_t stop = end == std::string_view::npos ? sql.size() : end + 2;
      out.append(sql.substr(i, stop - i));
      i = stop - 1;
      continue;
    }
    if (c == '?') {
      out += '$';
      out += std::to_string(++n);
      continue;
    }
    out += c;
  }
  *count = n;
  return out;
}

std::string RedactUrl(std::string_view url) {
  // postgresql://user:password@host:port/db -> postgresql://user@host:port/db
  const size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::string(url);
  const size_t start = scheme + 3;
  const size_t at = url.find('@', start);
  const size_t slash = url.find('/', start);
  if (at == std::string_view::npos || (slash != std::string_view::npos && at > slash)) {
    return std::string(url);
  }
  const size_t colon = url.find(':', start);
  if (colon == std::string_view::npos || colon > at) return std::string(url);
  return std::string(url.substr(0, colon)) + std::string(url.substr(at));
}

}  // namespace rpcforge::db::db_internal

namespace rpcforge::db {

bool IsPostgresUrl(std::string_view path) {
  return path.rfind("postgresql://", 0) == 0 || path.rfind("postgres://", 0) == 0;
}

std::string WithPostgresDatabase(std::string_view url, std::string_view name) {
  // postgresql://user@host:port/db?params: the path after the authority is the name.
  const size_t scheme = url.find("://");
  const size_t start = scheme == std::string_view::npos ? 0 : scheme + 3;
  const size_t query = url.find('?', start);
  const std::string_view head = url.substr(0, query);
  const size_t slash = head.find('/', start);
  std::string out(head.substr(0, slash));
  out += '/';
  out += name;
  if (query != std::string_view::npos) out += url.substr(query);
  return out;
}

}  // namespace rpcforge::db
