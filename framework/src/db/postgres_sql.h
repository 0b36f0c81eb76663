// SPDX-License-Identifier: Apache-2.0
// Private: the SQL text work of the PostgreSQL backend (postgres_connection.cc), kept
// apart from the connection: placeholders, a statement's first keyword and what it
// says about the statement, the table of an INSERT, and URLs for messages.
#ifndef RPCFORGE_SRC_DB_POSTGRES_SQL_H_
#define RPCFORGE_SRC_DB_POSTGRES_SQL_H_

#include <string>
#include <string_view>

namespace rpcforge::db::db_internal {

// ToDollarPlaceholders rewrites `?` placeholders as $1, $2, ... outside string
// literals, quoted identifiers and comments; `*count` gets their number.
std::string ToDollarPlaceholders(std::string_view sql, int* count);

// FirstWord is the statement's first keyword, upper-cased ("SELECT").
std::string FirstWord(std::string_view sql);
// HasWord is true when `sql`, outside literals, has `word` (upper case) as a keyword.
bool HasWord(std::string_view sql, std::string_view word);
// IsReadOnly is true for a statement that cannot write: SELECT, VALUES, SHOW, EXPLAIN,
// TABLE, or WITH without INSERT, UPDATE or DELETE.
bool IsReadOnly(std::string_view sql);
// IsDml is true for the first words of the statements that run prepared (and may
// take parameters): SELECT, INSERT, UPDATE, DELETE, WITH, VALUES.
bool IsDml(const std::string& word);
// InsertTable is the table an INSERT writes (unquoted), or empty for another statement.
std::string InsertTable(std::string_view sql);

// RedactUrl is `url` without its password, for messages.
std::string RedactUrl(std::string_view url);

}  // namespace rpcforge::db::db_internal

#endif  // RPCFORGE_SRC_DB_POSTGRES_SQL_H_
