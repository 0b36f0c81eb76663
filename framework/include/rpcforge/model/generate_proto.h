// SPDX-License-Identifier: Apache-2.0
// rpcforge::model::GenerateProto writes a proto3 file for a db::Model: the message,
// with exactly mapped field types, and a CRUD service that plugs into
// rpcforge::model::ModelService unchanged. The `generateproto` command prints it:
//
//   blog generateproto --model blog.post --fields id,title,content --file post.proto
//
// Type mapping: auto id and big integer -> int64, integer -> int32, float -> double,
// bool -> bool, char/text/json/date -> string, datetime -> google.protobuf.Timestamp,
// binary -> bytes, foreign key -> int64 (the referenced id, named after the field).
// Nullable columns become wrappers (google.protobuf.Int64Value, StringValue, ...);
// Timestamp already has presence. The partial-update request uses `optional` (or the
// wrapper) for every writable field, plus a `google.protobuf.FieldMask update_mask`.
#ifndef RPCFORGE_MODEL_GENERATE_PROTO_H_
#define RPCFORGE_MODEL_GENERATE_PROTO_H_

#include <string>
#include <vector>

#include "rpcforge/db/model.h"
#include "rpcforge/export.h"

namespace rpcforge::model {

// GenerateProtoOptions: all optional.
struct GenerateProtoOptions {
  // fields limits the message to these model fields, in this order; empty = all.
  std::vector<std::string> fields;
  // package is the proto package; default "<app label>.v1".
  std::string package;
  // service is the service name; default "<Model>Controller" ("PostController").
  std::string service;
};

// GenerateProto returns the .proto text for `model`. Throws rpcforge::InvalidArgument
// naming an unknown field in `options.fields` or an invalid package name. Thread-safe.
RPCFORGE_EXPORT std::string GenerateProto(const db::Model& model,
                                          const GenerateProtoOptions& options = {});

// MessageName is the message name GenerateProto uses for `model` ("blog.post" -> "Post").
RPCFORGE_EXPORT std::string MessageName(const db::Model& model);

}  // namespace rpcforge::model

#endif  // RPCFORGE_MODEL_GENERATE_PROTO_H_
