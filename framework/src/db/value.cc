// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/db/value.h"

#include <cstdio>

#include "rpcforge/errors.h"

namespace rpcforge::db {
namespace {

[[noreturn]] void BadType(const Value& v, const char* wanted) {
  throw InvalidArgument(std::string("expected a ") + wanted + " value, got " + TypeName(v.type()) +
                        " " + v.ToString());
}

}  // namespace

const char* TypeName(Value::Type type) {
  switch (type) {
    case Value::Type::kNull:
      return "null";
    case Value::Type::kInt:
      return "integer";
    case Value::Type::kDouble:
      return "real";
    case Value::Type::kText:
      return "text";
    case Value::Type::kBlob:
      return "blob";
    case Value::Type::kBool:
      return "bool";
    case Value::Type::kTime:
      return "datetime";
  }
  return "?";
}

int64_t Value::AsInt() const {
  if (const auto* i = std::get_if<int64_t>(&v_)) return *i;
  if (const auto* b = std::get_if<bool>(&v_)) return *b ? 1 : 0;
  BadType(*this, "integer");
}

double Value::AsDouble() const {
  if (const auto* d = std::get_if<double>(&v_)) return *d;
  if (const auto* i = std::get_if<int64_t>(&v_)) return static_cast<double>(*i);
  BadType(*this, "real");
}

bool Value::AsBool() const {
  if (const auto* b = std::get_if<bool>(&v_)) return *b;
  if (const auto* i = std::get_if<int64_t>(&v_)) return *i != 0;
  BadType(*this, "bool");
}

const std::string& Value::AsText() const {
  if (const auto* s = std::get_if<std::string>(&v_)) return *s;
  BadType(*this, "text");
}

const Blob& Value::AsBlob() const {
  if (const auto* b = std::get_if<Blob>(&v_)) return *b;
  BadType(*this, "blob");
}

Clock::TimePoint Value::AsTime() const {
  if (const auto* t = std::get_if<Clock::TimePoint>(&v_)) return *t;
  if (const auto* s = std::get_if<std::string>(&v_)) {
    Clock::TimePoint t;
    if (ParseTimestamp(*s, &t)) return t;
  }
  BadType(*this, "datetime");
}

std::string Value::ToString() const {
  switch (type()) {
    case Type::kNull:
      return "NULL";
    case Type::kInt:
      return std::to_string(std::get<int64_t>(v_));
    case Type::kDouble: {
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%.17g", std::get<double>(v_));
      return buf;
    }
    case Type::kText:
      return "'" + std::get<std::string>(v_) + "'";
    case Type::kBlob: {
      static const char* kHex = "0123456789abcdef";
      std::string out = "x'";
      for (uint8_t b : std::get<Blob>(v_)) {
        out += kHex[b >> 4];
        out += kHex[b & 15];
      }
      return out + "'";
    }
    case Type::kBool:
      return std::get<bool>(v_) ? "true" : "false";
    case Type::kTime:
      return FormatTimestamp(std::get<Clock::TimePoint>(v_));
  }
  return "?";
}

Row::Row(std::shared_ptr<const std::vector<std::string>> columns, std::vector<Value> values)
    : columns_(std::move(columns)), values_(std::move(values)) {}

const std::vector<std::string>& Row::columns() const {
  static const std::vector<std::string> kEmpty;
  return columns_ ? *columns_ : kEmpty;
}

const Value& Row::operator[](std::string_view name) const {
  const auto& cols = columns();
  for (size_t i = 0; i < cols.size() && i < values_.size(); ++i) {
    if (cols[i] == name) return values_[i];
  }
  throw InvalidArgument("row has no column '" + std::string(name) + "'");
}

bool Row::Has(std::string_view name) const noexcept {
  for (const auto& c : columns()) {
    if (c == name) return true;
  }
  return false;
}

void Row::Set(const std::string& name, Value value) {
  const auto& cols = columns();
  for (size_t i = 0; i < cols.size() && i < values_.size(); ++i) {
    if (cols[i] == name) {
      values_[i] = std::move(value);
      return;
    }
  }
  auto copy = std::make_shared<std::vector<std::string>>(cols);
  copy->push_back(name);
  columns_ = std::move(copy);
  values_.push_back(std::move(value));
}

std::string Row::ToString() const {
  std::string out = "{";
  const auto& cols = columns();
  for (size_t i = 0; i < values_.size(); ++i) {
    if (i > 0) out += ", ";
    out += (i < cols.size() ? cols[i] : "?") + "=" + values_[i].ToString();
  }
  return out + "}";
}

}  // namespace rpcforge::db
