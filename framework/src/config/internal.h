// SPDX-License-Identifier: Apache-2.0
// Private helpers shared by the config loader's sources: reading one scalar into a
// field through protobuf reflection, key-path spelling and "did you mean" matching.
#ifndef RPCFORGE_SRC_CONFIG_INTERNAL_H_
#define RPCFORGE_SRC_CONFIG_INTERNAL_H_

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <string>
#include <string_view>
#include <vector>

#include "rpcforge/config/config.h"

namespace rpcforge::config_internal {

using google::protobuf::Descriptor;
using google::protobuf::EnumDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

// IsDuration: the field is a google.protobuf.Duration (read from a "30s" string).
bool IsDuration(const FieldDescriptor* f);
// IsSection: a singular message field other than a Duration (a YAML mapping).
bool IsSection(const FieldDescriptor* f);
// IsSettable: environment variables and flags can set it (scalar, Duration, list of
// scalars, map of scalars).
bool IsSettable(const FieldDescriptor* f);

// SetScalar parses `text` for the scalar field `f` of `msg` and sets it, or appends it
// when `f` is repeated. `quoted` says the YAML value was quoted, which makes it a
// string: integers, floats and booleans then fail. Returns "" on success, else the
// error message (without path).
std::string SetScalar(Message* msg, const FieldDescriptor* f, std::string_view text, bool quoted);

// ExpectedKind names what `f` takes, for "expected X, got Y" messages.
std::string ExpectedKind(const FieldDescriptor* f);

// EnumValueNames lists the names accepted for `e`: "trace, debug, info, ...".
std::string EnumValueNames(const EnumDescriptor* e);

// Quote renders `s` in double quotes with `"` and `\` escaped.
std::string Quote(std::string_view s);

// ElementPath: "a.b[3]"; MapEntryPath: "a.b[\"key\"]"; FieldPath: "a.b" + "c".
std::string ElementPath(const std::string& path, int index);
std::string MapEntryPath(const std::string& path, std::string_view key);
std::string FieldPath(const std::string& parent, std::string_view name);

// UnknownFieldMessage: `unknown key "x"; did you mean "y"?` or `...; valid keys: ...`.
std::string UnknownFieldMessage(const Descriptor* d, std::string_view key);

}  // namespace rpcforge::config_internal

#endif  // RPCFORGE_SRC_CONFIG_INTERNAL_H_
