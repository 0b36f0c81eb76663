// SPDX-License-Identifier: Apache-2.0
// rpcforge::db::Value is one typed database value (null, integer, real, text, blob,
// bool or UTC time) and rpcforge::db::Row one result row: named values in column order.
// Every value a query uses travels as a Value and is bound as a statement parameter.
//
//   rpcforge::db::Row row = posts.Get("id", 1);
//   std::string title = row["title"].AsText();
//   int64_t views = row["views"].AsInt();
#ifndef RPCFORGE_DB_VALUE_H_
#define RPCFORGE_DB_VALUE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "rpcforge/clock.h"
#include "rpcforge/export.h"

namespace rpcforge::db {

// Blob is the C++ type of binary (BLOB) values.
using Blob = std::vector<uint8_t>;

// Value holds one database value. Copyable and movable; thread-compatible.
class RPCFORGE_EXPORT Value {
 public:
  enum class Type { kNull, kInt, kDouble, kText, kBlob, kBool, kTime };

  Value() = default;
  Value(std::nullptr_t) {}  // NOLINT(google-explicit-constructor): reads as SQL NULL
  // Any integer type except bool becomes kInt.
  template <typename T,
            typename std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
  Value(T v) : v_(static_cast<int64_t>(v)) {}        // NOLINT(google-explicit-constructor)
  Value(double v) : v_(v) {}                         // NOLINT(google-explicit-constructor)
  Value(bool v) : v_(v) {}                           // NOLINT(google-explicit-constructor)
  Value(const char* v) : v_(std::string(v)) {}       // NOLINT(google-explicit-constructor)
  Value(std::string v) : v_(std::move(v)) {}         // NOLINT(google-explicit-constructor)
  Value(std::string_view v) : v_(std::string(v)) {}  // NOLINT(google-explicit-constructor)
  Value(Blob v) : v_(std::move(v)) {}                // NOLINT(google-explicit-constructor)
  Value(Clock::TimePoint v) : v_(v) {}               // NOLINT(google-explicit-constructor)

  Type type() const noexcept { return static_cast<Type>(v_.index()); }
  bool is_null() const noexcept { return type() == Type::kNull; }

  // The accessors convert where the conversion is lossless in meaning: AsInt accepts
  // kInt and kBool; AsDouble accepts kInt and kDouble; AsBool accepts kBool and kInt;
  // AsTime accepts kTime and RFC 3339 kText (as stored). Any other combination, and
  // null, throws rpcforge::InvalidArgument naming both types.
  int64_t AsInt() const;
  double AsDouble() const;
  bool AsBool() const;
  const std::string& AsText() const;
  const Blob& AsBlob() const;
  Clock::TimePoint AsTime() const;

  // ToString renders the value for messages and logs: NULL, 42, 'text', x'0a0b', ...
  std::string ToString() const;

  friend bool operator==(const Value& a, const Value& b) { return a.v_ == b.v_; }
  friend bool operator!=(const Value& a, const Value& b) { return !(a == b); }

 private:
  std::variant<std::monostate, int64_t, double, std::string, Blob, bool, Clock::TimePoint> v_;
};

// TypeName returns "null", "integer", "real", "text", "blob", "bool" or "datetime".
RPCFORGE_EXPORT const char* TypeName(Value::Type type);

// Values is an ordered list of (field name, value) pairs, the argument of `Create` and
// `Update`: `{{"title", "Hello"}, {"views", 3}}`.
using Values = std::vector<std::pair<std::string, Value>>;

// Row is one result row: values addressed by column name or index. Rows from one
// query share their column-name list. Copyable; thread-compatible.
class RPCFORGE_EXPORT Row {
 public:
  Row() = default;
  Row(std::shared_ptr<const std::vector<std::string>> columns, std::vector<Value> values);

  // operator[] returns the value of column `name`; throws rpcforge::InvalidArgument
  // naming the column when the row has no such column.
  const Value& operator[](std::string_view name) const;
  const Value& at(size_t index) const { return values_.at(index); }
  bool Has(std::string_view name) const noexcept;
  size_t size() const noexcept { return values_.size(); }
  const std::vector<std::string>& columns() const;
  const std::vector<Value>& values() const noexcept { return values_; }

  // Set replaces the value of `name`, appending the column when absent. Copies the
  // shared column list on first append.
  void Set(const std::string& name, Value value);

  // ToString renders `{id=1, title='x'}` for messages.
  std::string ToString() const;

 private:
  std::shared_ptr<const std::vector<std::string>> columns_;
  std::vector<Value> values_;
};

}  // namespace rpcforge::db

#endif  // RPCFORGE_DB_VALUE_H_
