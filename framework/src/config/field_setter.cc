// SPDX-License-Identifier: Apache-2.0
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>

#include "config/internal.h"
#include "core/strings.h"

namespace rpcforge::config_internal {
namespace {

using google::protobuf::Reflection;

using strings::Lower;

// UpperSnake("LogLevel") == "LOG_LEVEL".
std::string UpperSnake(std::string_view camel) {
  std::string out;
  for (size_t i = 0; i < camel.size(); ++i) {
    char c = camel[i];
    if (std::isupper(static_cast<unsigned char>(c)) && i > 0) out += '_';
    out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

// ShortEnumName strips the enum's prefix: LOG_LEVEL_INFO of LogLevel is "info".
std::string ShortEnumName(const google::protobuf::EnumValueDescriptor* v) {
  std::string prefix = UpperSnake(v->type()->name()) + "_";
  std::string_view name = v->name();
  if (name.substr(0, prefix.size()) == prefix) name.remove_prefix(prefix.size());
  return Lower(name);
}

enum class IntResult { kOk, kNotInteger, kOutOfRange };

// ParseInteger reads YAML 1.2 core integers: decimal, 0x hex, 0o octal, with a sign.
IntResult ParseInteger(std::string_view text, bool* negative, uint64_t* magnitude) {
  size_t i = 0;
  *negative = false;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) {
    *negative = text[i] == '-';
    ++i;
  }
  int base = 10;
  if (text.size() - i > 2 && text[i] == '0' && (text[i + 1] == 'x' || text[i + 1] == 'o')) {
    base = text[i + 1] == 'x' ? 16 : 8;
    i += 2;
  }
  if (i == text.size()) return IntResult::kNotInteger;
  uint64_t value = 0;
  bool overflow = false;
  for (; i < text.size(); ++i) {
    int digit;
    char c = static_cast<char>(std::tolower(static_cast<unsigned char>(text[i])));
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else {
      return IntResult::kNotInteger;
    }
    if (digit >= base) return IntResult::kNotInteger;
    if (value > (std::numeric_limits<uint64_t>::max() - digit) / base) overflow = true;
    value = value * base + digit;
  }
  *magnitude = value;
  return overflow ? IntResult::kOutOfRange : IntResult::kOk;
}

// IntegerInRange parses `text` into [lo, hi]; on failure returns the error message.
std::string IntegerInRange(std::string_view text, int64_t lo, uint64_t hi, int64_t* out_signed,
                           uint64_t* out_unsigned) {
  bool negative = false;
  uint64_t m = 0;
  IntResult r = ParseInteger(text, &negative, &m);
  if (r == IntResult::kNotInteger) return "expected an integer, got " + Quote(text);
  std::string range = "(" + std::to_string(lo) + ".." + std::to_string(hi) + ")";
  std::string out_of_range = std::string(text) + " is out of range " + range;
  if (r == IntResult::kOutOfRange) return out_of_range;
  if (negative && m != 0) {
    uint64_t max_negative = lo < 0 ? static_cast<uint64_t>(-(lo + 1)) + 1 : 0;
    if (m > max_negative) return out_of_range;
    *out_signed = m == max_negative ? lo : -static_cast<int64_t>(m);
    *out_unsigned = 0;
    return "";
  }
  if (m > hi) return out_of_range;
  *out_signed = static_cast<int64_t>(m);
  *out_unsigned = m;
  return "";
}

}  // namespace

bool IsDuration(const FieldDescriptor* f) {
  return f->message_type() != nullptr &&
         f->message_type()->full_name() == "google.protobuf.Duration";
}

bool IsSection(const FieldDescriptor* f) {
  return f->message_type() != nullptr && !f->is_repeated() && !IsDuration(f);
}

bool IsSettable(const FieldDescriptor* f) {
  if (f->is_map()) return f->message_type()->map_value()->message_type() == nullptr;
  return f->message_type() == nullptr || IsDuration(f);
}

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string ElementPath(const std::string& path, int index) {
  return path + "[" + std::to_string(index) + "]";
}

std::string MapEntryPath(const std::string& path, std::string_view key) {
  return path + "[" + Quote(key) + "]";
}

std::string FieldPath(const std::string& parent, std::string_view name) {
  return parent.empty() ? std::string(name) : parent + "." + std::string(name);
}

std::string EnumValueNames(const EnumDescriptor* e) {
  std::string out;
  for (int i = 0; i < e->value_count(); ++i) {
    if (e->value(i)->number() == 0) continue;  // *_UNSPECIFIED: "use the default"
    if (!out.empty()) out += ", ";
    out += ShortEnumName(e->value(i));
  }
  return out;
}

std::string ExpectedKind(const FieldDescriptor* f) {
  if (f->is_map()) return "a mapping";
  if (f->is_repeated()) return "a list";
  if (IsDuration(f)) return "a duration";
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_INT64:
    case FieldDescriptor::CPPTYPE_UINT32:
    case FieldDescriptor::CPPTYPE_UINT64:
      return "an integer";
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT:
      return "a number";
    case FieldDescriptor::CPPTYPE_BOOL:
      return "true or false";
    case FieldDescriptor::CPPTYPE_ENUM:
      return "one of " + EnumValueNames(f->enum_type());
    case FieldDescriptor::CPPTYPE_STRING:
      return "a string";
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return "a mapping";
  }
  return "a value";
}

namespace {

// The Set* helpers store `text` into field `f` of `msg` (appending when repeated) and
// return "" or what is wrong with it.
std::string SetInteger(Message* msg, const FieldDescriptor* f, std::string_view text) {
  const Reflection* r = msg->GetReflection();
  const bool rep = f->is_repeated();
  int64_t s = 0;
  uint64_t u = 0;
  std::string err;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      err = IntegerInRange(text, std::numeric_limits<int32_t>::min(),
                           std::numeric_limits<int32_t>::max(), &s, &u);
      if (err.empty()) {
        rep ? r->AddInt32(msg, f, static_cast<int32_t>(s))
            : r->SetInt32(msg, f, static_cast<int32_t>(s));
      }
      return err;
    case FieldDescriptor::CPPTYPE_INT64:
      err = IntegerInRange(text, std::numeric_limits<int64_t>::min(),
                           std::numeric_limits<int64_t>::max(), &s, &u);
      if (err.empty()) rep ? r->AddInt64(msg, f, s) : r->SetInt64(msg, f, s);
      return err;
    case FieldDescriptor::CPPTYPE_UINT32:
      err = IntegerInRange(text, 0, std::numeric_limits<uint32_t>::max(), &s, &u);
      if (err.empty()) {
        rep ? r->AddUInt32(msg, f, static_cast<uint32_t>(u))
            : r->SetUInt32(msg, f, static_cast<uint32_t>(u));
      }
      return err;
    default:  // CPPTYPE_UINT64
      err = IntegerInRange(text, 0, std::numeric_limits<uint64_t>::max(), &s, &u);
      if (err.empty()) rep ? r->AddUInt64(msg, f, u) : r->SetUInt64(msg, f, u);
      return err;
  }
}

std::string SetFloating(Message* msg, const FieldDescriptor* f, std::string_view text) {
  const Reflection* r = msg->GetReflection();
  const bool rep = f->is_repeated();
  std::string copy(text);
  char* end = nullptr;
  errno = 0;
  double d = std::strtod(copy.c_str(), &end);
  if (copy.empty() || end != copy.c_str() + copy.size() || !std::isfinite(d) || errno == ERANGE) {
    return "expected a number, got " + Quote(text);
  }
  if (f->cpp_type() == FieldDescriptor::CPPTYPE_FLOAT) {
    rep ? r->AddFloat(msg, f, static_cast<float>(d)) : r->SetFloat(msg, f, static_cast<float>(d));
  } else {
    rep ? r->AddDouble(msg, f, d) : r->SetDouble(msg, f, d);
  }
  return "";
}

std::string SetBool(Message* msg, const FieldDescriptor* f, std::string_view text) {
  const Reflection* r = msg->GetReflection();
  // YAML 1.2 core schema: true/True/TRUE and the same for false.
  const bool ok = text == "true" || text == "True" || text == "TRUE" || text == "false" ||
                  text == "False" || text == "FALSE";
  if (!ok) return "expected true or false, got " + Quote(text);
  const bool value = Lower(text) == "true";
  f->is_repeated() ? r->AddBool(msg, f, value) : r->SetBool(msg, f, value);
  return "";
}

std::string SetEnum(Message* msg, const FieldDescriptor* f, std::string_view text) {
  const Reflection* r = msg->GetReflection();
  const EnumDescriptor* e = f->enum_type();
  std::string lower = Lower(text);
  for (int i = 0; i < e->value_count(); ++i) {
    const auto* v = e->value(i);
    if (v->number() != 0 && ShortEnumName(v) == lower) {
      f->is_repeated() ? r->AddEnum(msg, f, v) : r->SetEnum(msg, f, v);
      return "";
    }
  }
  return "unknown value " + Quote(text) + "; valid values: " + EnumValueNames(e);
}

std::string SetDuration(Message* msg, const FieldDescriptor* f, std::string_view text) {
  const Reflection* r = msg->GetReflection();
  if (!IsDuration(f)) return "expected a mapping, got " + Quote(text);
  google::protobuf::Duration d;
  std::string error;
  if (!config::ParseDuration(text, &d, &error)) return error;
  Message* target = f->is_repeated() ? r->AddMessage(msg, f) : r->MutableMessage(msg, f);
  target->CopyFrom(d);
  return "";
}

}  // namespace

std::string SetScalar(Message* msg, const FieldDescriptor* f, std::string_view text, bool quoted) {
  // A quoted YAML scalar is a string: only string fields take one.
  if (quoted && f->cpp_type() != FieldDescriptor::CPPTYPE_STRING &&
      f->cpp_type() != FieldDescriptor::CPPTYPE_ENUM &&
      f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
    return "expected " + ExpectedKind(f) + ", got the string " + Quote(text);
  }
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_INT64:
    case FieldDescriptor::CPPTYPE_UINT32:
    case FieldDescriptor::CPPTYPE_UINT64:
      return SetInteger(msg, f, text);
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT:
      return SetFloating(msg, f, text);
    case FieldDescriptor::CPPTYPE_BOOL:
      return SetBool(msg, f, text);
    case FieldDescriptor::CPPTYPE_ENUM:
      return SetEnum(msg, f, text);
    case FieldDescriptor::CPPTYPE_STRING: {
      const Reflection* r = msg->GetReflection();
      f->is_repeated() ? r->AddString(msg, f, std::string(text))
                       : r->SetString(msg, f, std::string(text));
      return "";
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return SetDuration(msg, f, text);
  }
  return "unsupported field type";
}

std::string UnknownFieldMessage(const Descriptor* d, std::string_view key) {
  std::string message = "unknown key " + Quote(key);
  std::vector<std::string> names;
  for (int i = 0; i < d->field_count(); ++i) {
    // The JSON spelling ("maxWorkers") is a common slip: point at the proto name.
    if (d->field(i)->json_name() == key) {
      return message + "; did you mean " + Quote(d->field(i)->name()) + "?";
    }
    names.push_back(d->field(i)->name());
  }
  std::string best = strings::ClosestMatch(key, names);
  if (!best.empty()) return message + "; did you mean " + Quote(best) + "?";
  return message + "; valid keys: " + strings::Join(names);
}

}  // namespace rpcforge::config_internal
