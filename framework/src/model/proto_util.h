// SPDX-License-Identifier: Apache-2.0
// Private: protobuf reflection helpers shared by the serializer, the generic services
// and generateproto.
#ifndef RPCFORGE_SRC_MODEL_PROTO_UTIL_H_
#define RPCFORGE_SRC_MODEL_PROTO_UTIL_H_

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <optional>
#include <string>
#include <vector>

namespace rpcforge::model::model_internal {

// IsWrapper is true for google.protobuf.{Double,Float,Int64,...,Bytes}Value.
bool IsWrapper(const google::protobuf::Descriptor* d);
bool IsTimestamp(const google::protobuf::Descriptor* d);
bool IsFieldMask(const google::protobuf::Descriptor* d);

// NullMember returns the google.protobuf.NullValue member of a two-member oneof
// `oneof x { T x_value; NullValue x_null; }`, or nullptr when `oneof` is not one.
const google::protobuf::FieldDescriptor* NullMember(const google::protobuf::OneofDescriptor* oneof);
// ValueMember returns the other member of such a oneof (nullptr when not one).
const google::protobuf::FieldDescriptor* ValueMember(
    const google::protobuf::OneofDescriptor* oneof);

// Slot is one serializable name of a message: a field, or a NullValue oneof (named by
// the oneof, `field` being its value member).
struct Slot {
  std::string name;
  const google::protobuf::FieldDescriptor* field;
  const google::protobuf::OneofDescriptor* oneof;  // null for plain fields
};
std::vector<Slot> Slots(const google::protobuf::Descriptor* d);

// FindUpdateMask returns the paths of the message's `google.protobuf.FieldMask
// update_mask` field, or nullopt when it has none or it is empty.
std::optional<std::vector<std::string>> FindUpdateMask(const google::protobuf::Message& message);

}  // namespace rpcforge::model::model_internal

#endif  // RPCFORGE_SRC_MODEL_PROTO_UTIL_H_
