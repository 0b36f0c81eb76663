// SPDX-License-Identifier: Apache-2.0
// Environment variables and command-line flags over a loaded config.
#include <cctype>
#include <set>

#include "config/internal.h"
#include "core/strings.h"
#include "rpcforge/config/config.h"

extern char** environ;  // NOLINT: POSIX

namespace rpcforge::config {
namespace {

using config_internal::FieldPath;
using config_internal::IsSection;
using config_internal::IsSettable;
using config_internal::Quote;
using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using strings::Trim;

void CollectSettable(const Descriptor* d, const std::string& prefix,
                     std::vector<std::string>* out) {
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    std::string path = FieldPath(prefix, f->name());
    if (IsSection(f)) {
      CollectSettable(f->message_type(), path, out);
    } else if (IsSettable(f)) {
      out->push_back(path);
    }
  }
}

std::vector<std::string_view> SplitList(std::string_view text) {
  std::vector<std::string_view> out;
  if (Trim(text).empty()) return out;
  size_t start = 0;
  while (true) {
    size_t comma = text.find(',', start);
    out.push_back(Trim(text.substr(start, comma - start)));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

// SetFromText sets the settable field `f` of `msg` from flag/env text; returns the
// error message or "". Lists and maps are replaced.
std::string SetFromText(Message* msg, const FieldDescriptor* f, std::string_view text) {
  const auto* r = msg->GetReflection();
  if (f->is_map()) {
    r->ClearField(msg, f);
    for (std::string_view item : SplitList(text)) {
      size_t eq = item.find('=');
      if (eq == std::string_view::npos || Trim(item.substr(0, eq)).empty()) {
        r->ClearField(msg, f);
        return "expected comma-separated key=value pairs, got " + Quote(item);
      }
      Message* entry = r->AddMessage(msg, f);
      const Descriptor* ed = f->message_type();
      std::string error =
          config_internal::SetScalar(entry, ed->map_key(), Trim(item.substr(0, eq)), false);
      if (error.empty()) {
        error =
            config_internal::SetScalar(entry, ed->map_value(), Trim(item.substr(eq + 1)), false);
      }
      if (!error.empty()) {
        r->ClearField(msg, f);
        return error;
      }
    }
    return "";
  }
  if (f->is_repeated()) {
    r->ClearField(msg, f);
    for (std::string_view item : SplitList(text)) {
      std::string error = config_internal::SetScalar(msg, f, item, false);
      if (!error.empty()) {
        r->ClearField(msg, f);
        return error;
      }
    }
    return "";
  }
  return config_internal::SetScalar(msg, f, text, false);
}

// Resolve walks `path` down from `msg`. On success returns the field and sets *owner
// to the message holding it; on failure returns nullptr and sets *error.
const FieldDescriptor* Resolve(Message* msg, std::string_view path, Message** owner,
                               std::string* error) {
  std::string walked;
  while (true) {
    size_t dot = path.find('.');
    std::string_view name = path.substr(0, dot);
    const Descriptor* d = msg->GetDescriptor();
    const FieldDescriptor* f = d->FindFieldByName(std::string(name));
    if (f == nullptr) {
      *error = config_internal::UnknownFieldMessage(d, name);
      return nullptr;
    }
    walked = FieldPath(walked, name);
    if (dot == std::string_view::npos) {
      if (IsSection(f)) {
        *error = walked + " is a section; set one of its keys (" + walked + ".…)";
        return nullptr;
      }
      if (!IsSettable(f)) {
        *error = walked + " can be set only in the config file";
        return nullptr;
      }
      *owner = msg;
      return f;
    }
    if (!IsSection(f)) {
      *error =
          walked + (IsSettable(f) ? " has no sub-keys" : " can be set only in the config file");
      return nullptr;
    }
    msg = msg->GetReflection()->MutableMessage(msg, f);
    path.remove_prefix(dot + 1);
  }
}

}  // namespace

std::string EnvironmentVariableName(std::string_view path) {
  std::string out = "RPCFORGE_";
  for (char c : path) {
    out += c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

std::vector<std::string> SettablePaths() {
  std::vector<std::string> out;
  CollectSettable(v1::Config::descriptor(), "", &out);
  return out;
}

std::vector<ConfigError> ApplyOverride(v1::Config* config, std::string_view path,
                                       std::string_view value, std::string source,
                                       SourceMap* locations) {
  std::vector<ConfigError> errors;
  Message* owner = nullptr;
  std::string error;
  const FieldDescriptor* f = Resolve(config, path, &owner, &error);
  if (f != nullptr) error = SetFromText(owner, f, value);
  if (!error.empty()) {
    errors.push_back(ConfigError{std::string(path), 0, 0, std::move(source), std::move(error)});
  } else if (locations != nullptr) {
    (*locations)[std::string(path)] = Position{std::move(source), 0, 0};
  }
  return errors;
}

std::vector<ConfigError> ApplyEnvironment(v1::Config* config,
                                          const std::map<std::string, std::string>& env,
                                          SourceMap* locations) {
  std::vector<ConfigError> errors;
  std::vector<std::string> known;
  for (const std::string& path : SettablePaths()) {
    std::string name = EnvironmentVariableName(path);
    known.push_back(name);
    auto it = env.find(name);
    if (it == env.end()) continue;
    for (auto& e : ApplyOverride(config, path, it->second, "env " + name, locations)) {
      errors.push_back(std::move(e));
    }
  }
  // A variable inside a section's namespace that names no key is most likely a typo.
  std::vector<std::string> prefixes;
  const Descriptor* d = v1::Config::descriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    if (d->field(i)->message_type() != nullptr && !d->field(i)->is_map()) {
      prefixes.push_back(EnvironmentVariableName(d->field(i)->name()) + "_");
    }
  }
  std::set<std::string> known_set(known.begin(), known.end());
  for (const auto& [name, value] : env) {
    if (known_set.count(name) != 0) continue;
    bool in_section = false;
    for (const auto& p : prefixes) in_section = in_section || name.rfind(p, 0) == 0;
    if (!in_section) continue;
    std::string message = "unknown configuration variable";
    std::string best = strings::ClosestMatch(name, known);
    if (!best.empty()) message += "; did you mean " + best + "?";
    errors.push_back(ConfigError{"", 0, 0, "env " + name, message});
  }
  return errors;
}

std::vector<ConfigError> ApplyEnvironment(v1::Config* config, SourceMap* locations) {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    size_t eq = entry.find('=');
    if (eq == std::string_view::npos || entry.rfind("RPCFORGE_", 0) != 0) continue;
    env.emplace(entry.substr(0, eq), entry.substr(eq + 1));
  }
  return ApplyEnvironment(config, env, locations);
}

}  // namespace rpcforge::config
