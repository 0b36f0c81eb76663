// SPDX-License-Identifier: Apache-2.0
// JSON to request messages: a syntax check that names line and column, the split of a
// stream of requests, and protobuf's JSON parser with suggestions for unknown fields.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/stubs/common.h>
#include <google/protobuf/util/json_util.h>

#include <cctype>
#include <cstring>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "client/internal.h"
#include "core/strings.h"
#include "rpcforge/client/dynamic_client.h"
#include "rpcforge/errors.h"

namespace rpcforge {
namespace {

namespace pb = google::protobuf;
using client_internal::Suggest;
using strings::Join;

// --- JSON stream splitting -----------------------------------------------------------

std::string Position(const std::string& text, size_t offset) {
  size_t line = 1, column = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

size_t SkipSpace(const std::string& t, size_t i) {
  while (i < t.size() && std::isspace(static_cast<unsigned char>(t[i]))) ++i;
  return i;
}

// JsonChecker validates JSON syntax so that errors name a line and column (protobuf's
// parser only shows a snippet), and finds where each top-level value starts and ends.
class JsonChecker {
 public:
  explicit JsonChecker(const std::string& text) : t_(text) {}

  struct Piece {
    std::string text;
    size_t offset;
  };

  // One value and nothing after it.
  void Single() {
    Value(0);
    Space();
    if (i_ != t_.size()) Fail("unexpected text after the JSON value");
  }

  // The elements of a top-level array, or values one after another.
  std::vector<Piece> Stream() {
    std::vector<Piece> out;
    Space();
    if (i_ < t_.size() && t_[i_] == '[') {
      ++i_;
      Space();
      if (i_ < t_.size() && t_[i_] == ']') {
        ++i_;
      } else {
        for (;;) {
          Space();
          size_t begin = i_;
          Value(1);
          out.push_back({t_.substr(begin, i_ - begin), begin});
          Space();
          if (i_ < t_.size() && t_[i_] == ',') {
            ++i_;
            continue;
          }
          if (i_ < t_.size() && t_[i_] == ']') {
            ++i_;
            break;
          }
          Fail("expected ',' or ']'");
        }
      }
      Space();
      if (i_ != t_.size()) Fail("unexpected text after the array");
      return out;
    }
    while (i_ < t_.size()) {
      size_t begin = i_;
      Value(0);
      out.push_back({t_.substr(begin, i_ - begin), begin});
      Space();
    }
    return out;
  }

 private:
  [[noreturn]] void Fail(const std::string& what) const {
    throw InvalidArgument("invalid JSON at " + Position(t_, i_) + ": " + what);
  }
  void Space() { i_ = SkipSpace(t_, i_); }
  void Expect(char c, const char* what) {
    Space();
    if (i_ >= t_.size() || t_[i_] != c) Fail(std::string("expected ") + what);
    ++i_;
  }

  void Value(int depth) {
    if (depth > 100) Fail("nested too deeply");
    Space();
    if (i_ >= t_.size()) Fail("expected a value, got the end of the input");
    const char c = t_[i_];
    if (c == '{') {
      ++i_;
      Space();
      if (i_ < t_.size() && t_[i_] == '}') {
        ++i_;
        return;
      }
      for (;;) {
        Space();
        if (i_ >= t_.size() || t_[i_] != '"') Fail("expected a field name in double quotes");
        String();
        Expect(':', "':' after the field name");
        Value(depth + 1);
        Space();
        if (i_ < t_.size() && t_[i_] == ',') {
          ++i_;
          continue;
        }
        Expect('}', "',' or '}'");
        return;
      }
    }
    if (c == '[') {
      ++i_;
      Space();
      if (i_ < t_.size() && t_[i_] == ']') {
        ++i_;
        return;
      }
      for (;;) {
        Value(depth + 1);
        Space();
        if (i_ < t_.size() && t_[i_] == ',') {
          ++i_;
          continue;
        }
        Expect(']', "',' or ']'");
        return;
      }
    }
    if (c == '"') return String();
    if (c == '-' || (c >= '0' && c <= '9')) return Number();
    for (const char* word : {"true", "false", "null"}) {
      if (t_.compare(i_, std::strlen(word), word) == 0) {
        i_ += std::strlen(word);
        return;
      }
    }
    Fail(std::string("unexpected '") + c + "'");
  }

  void String() {
    const size_t begin = i_++;
    while (i_ < t_.size()) {
      const char c = t_[i_];
      if (c == '"') {
        ++i_;
        return;
      }
      if (static_cast<unsigned char>(c) < 0x20) Fail("control character in a string");
      i_ += c == '\\' ? 2 : 1;
    }
    i_ = begin;
    Fail("unterminated string");
  }

  void Number() {
    auto digits = [&] {
      size_t start = i_;
      while (i_ < t_.size() && t_[i_] >= '0' && t_[i_] <= '9') ++i_;
      if (i_ == start) Fail("malformed number");
    };
    if (t_[i_] == '-') ++i_;
    digits();
    if (i_ < t_.size() && t_[i_] == '.') {
      ++i_;
      digits();
    }
    if (i_ < t_.size() && (t_[i_] == 'e' || t_[i_] == 'E')) {
      ++i_;
      if (i_ < t_.size() && (t_[i_] == '+' || t_[i_] == '-')) ++i_;
      digits();
    }
  }

  const std::string& t_;
  size_t i_ = 0;
};

// --- parsing JSON into requests ------------------------------------------------------

// JsonError is protobuf's message, plus the closest field names when it is about an
// unknown field ("a.b: Cannot find field." in protobuf 3.21, "has no field named" in
// older versions).
std::string JsonError(const pb::util::Status& status, const pb::Descriptor& type) {
  std::string msg(status.message());
  static const std::regex kUnknown(R"(^([A-Za-z0-9_.]+): Cannot find field)");
  static const std::regex kNoField("has no field named \"([^\"]+)\"");
  std::smatch m;
  std::string path;
  if (std::regex_search(msg, m, kUnknown) || std::regex_search(msg, m, kNoField)) {
    path = m[1].str();
  }
  if (path.empty()) return msg;
  // Walk the path to the message that lacks the last component.
  const pb::Descriptor* d = &type;
  size_t start = 0;
  for (size_t dot = path.find('.'); dot != std::string::npos && d != nullptr;
       dot = path.find('.', start)) {
    const std::string part = path.substr(start, dot - start);
    const pb::FieldDescriptor* f = d->FindFieldByName(part);
    for (int i = 0; f == nullptr && i < d->field_count(); ++i) {
      if (d->field(i)->json_name() == part) f = d->field(i);
    }
    d = f != nullptr ? f->message_type() : nullptr;
    start = dot + 1;
  }
  if (d == nullptr) return msg;
  std::vector<std::string> names;
  for (int i = 0; i < d->field_count(); ++i) {
    names.push_back(d->field(i)->json_name());
    if (d->field(i)->json_name() != d->field(i)->name()) names.push_back(d->field(i)->name());
  }
  std::string suggestion = Suggest(path.substr(start), names);
  if (suggestion.empty()) suggestion = "; " + d->full_name() + " has: " + Join(names);
  return msg + suggestion;
}

std::unique_ptr<pb::Message> ParseRequest(pb::MessageFactory& factory, const pb::Descriptor& type,
                                          const std::string& json, const std::string& where) {
  std::unique_ptr<pb::Message> msg(factory.GetPrototype(&type)->New());
  pb::util::JsonParseOptions opts;
  pb::util::Status s;
  try {
    s = pb::util::JsonStringToMessage(json, msg.get(), opts);
  } catch (const pb::FatalException& e) {
    // protobuf 3.21's JSON parser fails an internal CHECK (which throws) instead of
    // returning an error for some inputs, e.g. a google.protobuf.Any holding a
    // well-known type with a key besides "@type" and "value".
    std::string check = e.message();
    while (!check.empty() && (check.back() == ' ' || check.back() == ':')) check.pop_back();
    throw InvalidArgument("invalid JSON for " + type.full_name() + where +
                          ": protobuf's JSON parser rejected it (" + check +
                          "); an Any of a well-known type holds only \"@type\" and \"value\"");
  }
  if (!s.ok()) {
    throw InvalidArgument("invalid JSON for " + type.full_name() + where + ": " +
                          JsonError(s, type));
  }
  return msg;
}

// BuildRequests is client_internal::BuildRequests with the factory that makes the
// request messages (the client's, over its reflection-backed pool).
std::vector<std::string> BuildRequests(pb::MessageFactory& factory, const pb::MethodDescriptor& m,
                                       const std::string& json) {
  const pb::Descriptor& type = *m.input_type();
  std::vector<std::string> out;
  if (!m.client_streaming()) {
    size_t start = SkipSpace(json, 0);
    if (start < json.size() && json[start] == '[') {
      throw InvalidArgument(m.full_name() +
                            " takes one request message (a JSON object), not an array");
    }
    std::string text = start == json.size() ? "{}" : json;
    JsonChecker(text).Single();
    out.push_back(ParseRequest(factory, type, text, "")->SerializeAsString());
    return out;
  }
  std::vector<JsonChecker::Piece> pieces = JsonChecker(json).Stream();
  for (size_t i = 0; i < pieces.size(); ++i) {
    const std::string where =
        " (request #" + std::to_string(i + 1) + " at " + Position(json, pieces[i].offset) + ")";
    out.push_back(ParseRequest(factory, type, pieces[i].text, where)->SerializeAsString());
  }
  return out;
}

}  // namespace

namespace client_internal {

std::vector<std::string> BuildRequestsWith(pb::MessageFactory& factory,
                                           const pb::MethodDescriptor& m, const std::string& json) {
  return rpcforge::BuildRequests(factory, m, json);
}

}  // namespace client_internal

namespace client_internal {

std::vector<std::string> BuildRequests(const pb::MethodDescriptor& method,
                                       const std::string& json_request) {
  pb::DynamicMessageFactory factory;
  // Generated types (e.g. google.protobuf.Timestamp) stay generated, as in the client.
  factory.SetDelegateToGeneratedFactory(true);
  return rpcforge::BuildRequests(factory, method, json_request);
}

}  // namespace client_internal

}  // namespace rpcforge
