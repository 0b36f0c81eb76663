// SPDX-License-Identifier: Apache-2.0
// The proto text `describe` prints for services, methods and types.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>

#include <string>

#include "client/internal.h"

namespace rpcforge::client_internal {

namespace pb = google::protobuf;

const char* KindName(bool client_streaming, bool server_streaming) {
  if (client_streaming && server_streaming) return "bidi streaming";
  if (client_streaming) return "client streaming";
  if (server_streaming) return "server streaming";
  return "unary";
}

std::string RpcLine(const pb::MethodDescriptor& m) {
  return "rpc " + m.name() + "(" + (m.client_streaming() ? "stream " : "") +
         m.input_type()->full_name() + ") returns (" + (m.server_streaming() ? "stream " : "") +
         m.output_type()->full_name() + ");";
}

std::string FieldType(const pb::FieldDescriptor& f) {
  if (f.type() == pb::FieldDescriptor::TYPE_MESSAGE ||
      f.type() == pb::FieldDescriptor::TYPE_GROUP) {
    return f.message_type()->full_name();
  }
  if (f.type() == pb::FieldDescriptor::TYPE_ENUM) return f.enum_type()->full_name();
  return f.type_name();
}

void PrintEnum(const pb::EnumDescriptor& e, const std::string& indent, std::string* out) {
  *out += indent + "enum " + e.name() + " {\n";
  for (int i = 0; i < e.value_count(); ++i) {
    *out +=
        indent + "  " + e.value(i)->name() + " = " + std::to_string(e.value(i)->number()) + ";\n";
  }
  *out += indent + "}\n";
}

void PrintField(const pb::FieldDescriptor& f, const std::string& indent, std::string* out) {
  std::string line = indent;
  if (f.is_map()) {
    const pb::Descriptor* entry = f.message_type();
    line += "map<" + FieldType(*entry->field(0)) + ", " + FieldType(*entry->field(1)) + "> ";
  } else {
    if (f.is_repeated()) {
      line += "repeated ";
    } else if (f.is_required()) {
      line += "required ";
    } else if (f.has_optional_keyword() ||
               (f.file()->syntax() == pb::FileDescriptor::SYNTAX_PROTO2 &&
                f.real_containing_oneof() == nullptr)) {
      line += "optional ";
    }
    line += FieldType(f) + " ";
  }
  line += f.name() + " = " + std::to_string(f.number()) + ";";
  if (f.json_name() != f.name()) line += "  // JSON: \"" + f.json_name() + "\"";
  *out += line + "\n";
}

void PrintMessage(const pb::Descriptor& d, const std::string& indent, std::string* out) {
  *out += indent + "message " + d.name() + " {\n";
  const std::string inner = indent + "  ";
  for (int i = 0; i < d.nested_type_count(); ++i) {
    if (!d.nested_type(i)->options().map_entry()) PrintMessage(*d.nested_type(i), inner, out);
  }
  for (int i = 0; i < d.enum_type_count(); ++i) PrintEnum(*d.enum_type(i), inner, out);
  std::set<const pb::OneofDescriptor*> printed_oneofs;
  for (int i = 0; i < d.field_count(); ++i) {
    const pb::FieldDescriptor& f = *d.field(i);
    const pb::OneofDescriptor* oneof = f.real_containing_oneof();
    if (oneof == nullptr) {
      PrintField(f, inner, out);
      continue;
    }
    if (!printed_oneofs.insert(oneof).second) continue;
    *out += inner + "oneof " + oneof->name() + " {\n";
    for (int j = 0; j < oneof->field_count(); ++j) PrintField(*oneof->field(j), inner + "  ", out);
    *out += inner + "}\n";
  }
  *out += indent + "}\n";
}

// CollectTypes gathers `d` and the messages and enums its fields use (transitively),
// top-level ones only (nested ones print inside their parent); well-known types stay
// out: their JSON forms are special and documented by protobuf.
void CollectTypes(const pb::Descriptor* d, std::vector<const void*>* seen,
                  std::vector<const pb::Descriptor*>* messages,
                  std::vector<const pb::EnumDescriptor*>* enums) {
  while (d->containing_type() != nullptr) d = d->containing_type();
  if (d->file()->package() == "google.protobuf") return;
  if (std::find(seen->begin(), seen->end(), d) != seen->end()) return;
  seen->push_back(d);
  messages->push_back(d);
  std::vector<const pb::Descriptor*> stack = {d};
  for (size_t n = 0; !stack.empty() && n < 10000; ++n) {
    const pb::Descriptor* cur = stack.back();
    stack.pop_back();
    for (int i = 0; i < cur->nested_type_count(); ++i) stack.push_back(cur->nested_type(i));
    for (int i = 0; i < cur->field_count(); ++i) {
      const pb::FieldDescriptor* f = cur->field(i);
      if (f->message_type() != nullptr) CollectTypes(f->message_type(), seen, messages, enums);
      if (const pb::EnumDescriptor* e = f->enum_type(); e != nullptr) {
        if (e->containing_type() != nullptr) {
          CollectTypes(e->containing_type(), seen, messages, enums);
        } else if (e->file()->package() != "google.protobuf" &&
                   std::find(seen->begin(), seen->end(), e) == seen->end()) {
          seen->push_back(e);
          enums->push_back(e);
        }
      }
    }
  }
}

}  // namespace rpcforge::client_internal
