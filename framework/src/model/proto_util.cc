// SPDX-License-Identifier: Apache-2.0
// Protobuf reflection helpers shared by the serializer, the generic services and
// generateproto (model/proto_util.h).
#include "model/proto_util.h"

namespace rpcforge::model::model_internal {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::OneofDescriptor;
using google::protobuf::Reflection;

bool IsWrapper(const Descriptor* d) {
  static const char* const kWrappers[] = {
      "google.protobuf.DoubleValue", "google.protobuf.FloatValue",  "google.protobuf.Int64Value",
      "google.protobuf.UInt64Value", "google.protobuf.Int32Value",  "google.protobuf.UInt32Value",
      "google.protobuf.BoolValue",   "google.protobuf.StringValue", "google.protobuf.BytesValue"};
  for (const char* name : kWrappers) {
    if (d->full_name() == name) return true;
  }
  return false;
}

bool IsTimestamp(const Descriptor* d) { return d->full_name() == "google.protobuf.Timestamp"; }

bool IsFieldMask(const Descriptor* d) { return d->full_name() == "google.protobuf.FieldMask"; }

const FieldDescriptor* NullMember(const OneofDescriptor* oneof) {
  if (oneof == nullptr || oneof->is_synthetic() || oneof->field_count() != 2) return nullptr;
  for (int i = 0; i < oneof->field_count(); ++i) {
    const FieldDescriptor* f = oneof->field(i);
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_ENUM &&
        f->enum_type()->full_name() == "google.protobuf.NullValue") {
      return f;
    }
  }
  return nullptr;
}

const FieldDescriptor* ValueMember(const OneofDescriptor* oneof) {
  const FieldDescriptor* null = NullMember(oneof);
  if (null == nullptr) return nullptr;
  return oneof->field(0) == null ? oneof->field(1) : oneof->field(0);
}

std::vector<Slot> Slots(const Descriptor* d) {
  std::vector<Slot> slots;
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (NullMember(f->real_containing_oneof()) != nullptr) continue;
    slots.push_back({f->name(), f, nullptr});
  }
  for (int i = 0; i < d->oneof_decl_count(); ++i) {
    const OneofDescriptor* o = d->oneof_decl(i);
    if (NullMember(o) == nullptr) continue;
    slots.push_back({o->name(), ValueMember(o), o});
  }
  return slots;
}

std::optional<std::vector<std::string>> FindUpdateMask(const Message& message) {
  const FieldDescriptor* f = message.GetDescriptor()->FindFieldByName("update_mask");
  if (f == nullptr || f->is_repeated() || f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE ||
      !IsFieldMask(f->message_type())) {
    return std::nullopt;
  }
  const Reflection* r = message.GetReflection();
  if (!r->HasField(message, f)) return std::nullopt;
  const Message& mask = r->GetMessage(message, f);
  const FieldDescriptor* paths = mask.GetDescriptor()->FindFieldByNumber(1);
  const int n = mask.GetReflection()->FieldSize(mask, paths);
  if (n == 0) return std::nullopt;
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    out.push_back(mask.GetReflection()->GetRepeatedString(mask, paths, i));
  }
  return out;
}

}  // namespace rpcforge::model::model_internal
