// SPDX-License-Identifier: Apache-2.0
// rpcforge::model::ProtoSerializer and ModelProtoSerializer convert protobuf messages
// to database values and rows back to messages through protobuf reflection, the way
// django-grpc-framework's ProtoSerializer / ModelProtoSerializer do for Django.
//
//   rpcforge::model::ModelProtoSerializer posts(PostModel());
//   db::Values values = posts.ToValues(request, rpcforge::model::WriteMode::kCreate);
//   posts.Validate(values, /*partial=*/false);        // ValidationError: every field
//   db::Row row = PostModel().Objects(db).Create(values);
//   blog::v1::Post reply;
//   posts.ToMessage(row, &reply);
//
// Fields are matched by name: a message field `title` maps to the model field (or
// column) `title`. Message fields with no model field are ignored on input (a request's
// `update_mask`, `page_size`, ...) and left at their default on output. Type mapping:
//
//   proto                                    model column
//   int32/int64/uint32/uint64/sint/fixed     integer, big integer, auto id, foreign key
//   float/double                             float
//   bool                                     bool
//   string / bytes                           char, text, json, date / binary
//   enum                                     char/text (by name) or integer (by number)
//   google.protobuf.Timestamp                datetime
//   google.protobuf.{String,Int64,...}Value  nullable column (unset = NULL)
//   oneof x { T x_value; NullValue x_null; } nullable column `x` (x_null = NULL)
//   proto3 `optional T`                      column, with presence (unset = not given)
//   nested message with an `id` field        foreign key (input: its id; output: the
//                                            related row when `database` is set)
//   repeated message in `related_many`       rows of a child model pointing here
//                                            (output only; ignored on input)
//
// Thread-safety: a serializer is immutable after construction and safe to share
// between threads; all methods are const.
#ifndef RPCFORGE_MODEL_SERIALIZER_H_
#define RPCFORGE_MODEL_SERIALIZER_H_

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "rpcforge/db/model.h"
#include "rpcforge/db/value.h"
#include "rpcforge/errors.h"
#include "rpcforge/export.h"

namespace google::protobuf {
class Message;
class FieldDescriptor;
class OneofDescriptor;
}  // namespace google::protobuf

namespace rpcforge::db {
class Database;
}  // namespace rpcforge::db

namespace rpcforge::model {

// WriteMode says which message fields `ToValues` writes.
enum class WriteMode {
  // Create and Update: every writable field. Plain proto3 scalars always count (their
  // default included); fields with presence (wrappers, `optional`, messages, NullValue
  // oneofs) count only when set, except that in kUpdate an unset presence field of a
  // nullable column is written as NULL.
  kCreate,
  kUpdate,
  // PartialUpdate: only what the client set. With a non-empty
  // `google.protobuf.FieldMask update_mask` in the request, exactly the mask's paths
  // (an unset presence field then means NULL); without one, presence fields that are
  // set and plain scalars that differ from their default.
  kPartialUpdate,
};

// FieldConverter overrides the conversion of one field (either direction may be left
// empty to keep the default). `to_value` receives the message holding the field and
// returns the value to write, or nullopt to leave the field out; it may throw
// rpcforge::ValidationError. `to_message` receives the row and the output message.
struct FieldConverter {
  std::function<std::optional<db::Value>(const google::protobuf::Message& message)> to_value;
  std::function<void(const db::Row& row, google::protobuf::Message* message)> to_message;
};

// ObjectValidator checks the converted values as a whole (cross-field rules) and adds
// violations to `errors`. `partial` is true for partial updates.
using ObjectValidator =
    std::function<void(const db::Values& values, bool partial, ValidationError& errors)>;

// ManyRelation declares a repeated message field filled with the rows of a child
// model whose foreign key points at the serialized row: `{"blog.comment", "post"}`.
struct ManyRelation {
  std::string model;        // the child model's label, looked up in Registry::Global()
  std::string foreign_key;  // the child's ForeignKey field pointing at this model
};

// SerializerOptions configures a serializer. Copyable.
struct SerializerOptions {
  // fields restricts both directions to these names; empty = every field.
  std::vector<std::string> fields;
  // read_only_fields are written to messages but never read from them (ModelProto-
  // Serializer adds the primary key and auto_now/auto_now_add fields itself).
  std::vector<std::string> read_only_fields;
  // converters: field name -> custom conversion.
  std::map<std::string, FieldConverter> converters;
  // field_validators: field name -> extra validators, run on non-null values after
  // the model's own checks (same signature as db::Field::Validate).
  std::map<std::string, std::vector<db::Validator>> field_validators;
  // validators: whole-object checks, run after the field checks.
  std::vector<ObjectValidator> validators;
  // database is where ToMessage loads related rows from: the row a nested foreign-key
  // message points at, and the children of `related_many` fields. Null: nothing is
  // loaded (a nested foreign key gets only its id, related_many fields stay empty).
  // Must outlive the serializer.
  db::Database* database = nullptr;
  // related_many: repeated message field name -> the child rows it lists (ordered by
  // the child's primary key), each written by a ModelProtoSerializer of the child
  // model. Output only: such fields are read-only and never read from messages.
  std::map<std::string, ManyRelation> related_many;
  // max_depth is how many levels of related rows ToMessage loads (nested foreign keys
  // and related_many children count alike); beyond it a nested foreign key gets only
  // its id and related_many fields stay empty. Bounds self-references and cycles.
  int max_depth = 3;
};

// ProtoSerializer converts between messages and values by name and protobuf type
// alone; without a model it cannot know column types, so every field is writable
// unless listed read-only, enums are written by number, and Validate only runs the
// custom validators. Subclass and override the virtuals to change either direction
// for every field.
class RPCFORGE_EXPORT ProtoSerializer {
 public:
  explicit ProtoSerializer(SerializerOptions options = {});
  virtual ~ProtoSerializer();

  // ToValues converts `message` to (field name, value) pairs per `mode` (see
  // WriteMode). Read-only and unknown fields are skipped. Throws
  // rpcforge::ValidationError listing every field that cannot be converted (a
  // timestamp out of range, an unknown enum name, ...) and rpcforge::InvalidArgument
  // "update_mask: unknown field(s) 'x'" for mask paths naming no writable field.
  // The mask is read from the message's own `update_mask` field (kPartialUpdate only).
  db::Values ToValues(const google::protobuf::Message& message, WriteMode mode) const;

  // ToValues with an explicit mask (nullopt: none), for requests that carry the mask
  // beside a nested resource message (AIP-134 `UpdatePostRequest{post, update_mask}`).
  // The mask is used only in kPartialUpdate; its paths name fields of `message`, and
  // "*" means every writable field.
  virtual db::Values ToValues(const google::protobuf::Message& message, WriteMode mode,
                              const std::optional<std::vector<std::string>>& mask) const;

  // ToMessage fills `message` (which it does not clear first) from `row`: every
  // selected field of the message that has a column in the row. NULL clears a field
  // (or sets the NullValue member of its oneof). With `options().database`, a nested
  // foreign-key message also gets the related row's fields (only its id when that
  // row is missing) and `related_many` fields are replaced by the child rows, up to
  // `max_depth` levels; each level costs one query per related object. Throws
  // rpcforge::Internal when a stored value does not fit the message field's type (a
  // declaration mismatch) or a related_many declaration names an unknown model or a
  // field that is not a foreign key to this model.
  virtual void ToMessage(const db::Row& row, google::protobuf::Message* message) const;

  // Validate runs the custom field and object validators and throws one
  // rpcforge::ValidationError with every violation.
  virtual void Validate(const db::Values& values, bool partial) const;

  // IsSelected is true when `name` is within `fields` (or `fields` is empty).
  bool IsSelected(const std::string& name) const;
  // IsReadOnly is true for fields never read from messages.
  virtual bool IsReadOnly(const std::string& name) const;

  const SerializerOptions& options() const { return options_; }

 protected:
  // ValueFromField converts one set field of `message` (a scalar, enum, bytes,
  // Timestamp, wrapper or nested message) for `column` (null when there is no model).
  // Adds a violation and returns nullopt when it cannot. Override to change how every
  // field is read.
  virtual std::optional<db::Value> ValueFromField(const google::protobuf::Message& message,
                                                  const google::protobuf::FieldDescriptor& field,
                                                  const db::Field* column,
                                                  ValidationError& errors) const;
  // SetField writes the non-null `value` into `field` of `message`.
  virtual void SetField(const db::Value& value, const google::protobuf::FieldDescriptor& field,
                        const db::Field* column, google::protobuf::Message* message) const;
  // ColumnFor returns the model field for message field `name` (nullptr: none).
  virtual const db::Field* ColumnFor(const std::string& name) const { return nullptr; }
  // AcceptsUnmapped is true when fields without a model field are still converted
  // (the model-less ProtoSerializer).
  virtual bool AcceptsUnmapped() const { return true; }
  // RunCustomValidators adds the custom validators' violations to `errors`.
  void RunCustomValidators(const db::Values& values, bool partial, ValidationError& errors) const;

 private:
  SerializerOptions options_;
  std::set<std::string> read_only_;
};

// ModelProtoSerializer is a ProtoSerializer driven by a db::Model: columns give the
// types (enum by name into text columns, by number into integer ones; nested messages
// into foreign keys), the primary key and auto_now/auto_now_add fields are read-only,
// and Validate applies the model's constraints (required, max_length, null, choices,
// min/max, regex, custom field validators) plus the serializer's own validators,
// reporting every violation at once. The model must outlive the serializer.
class RPCFORGE_EXPORT ModelProtoSerializer : public ProtoSerializer {
 public:
  explicit ModelProtoSerializer(const db::Model& model, SerializerOptions options = {});

  // Validate throws rpcforge::ValidationError (INVALID_ARGUMENT with BadRequest field
  // violations) listing every problem of `values`; with `partial`, missing fields are
  // not required.
  void Validate(const db::Values& values, bool partial) const override;
  bool IsReadOnly(const std::string& name) const override;

  const db::Model& model() const { return *model_; }

 protected:
  const db::Field* ColumnFor(const std::string& name) const override;
  bool AcceptsUnmapped() const override { return false; }

 private:
  const db::Model* model_;
};

// ScopedRelatedDatabase makes `db` the database ToMessage loads related rows from, on
// this thread and for its scope, when a serializer's options name none. The generic
// services open one per call with the call's database, so a shared serializer loads
// related rows without being rebuilt per request. Nests; restores on destruction.
class ScopedRelatedDatabase {
 public:
  explicit ScopedRelatedDatabase(db::Database* db);
  ~ScopedRelatedDatabase();
  ScopedRelatedDatabase(const ScopedRelatedDatabase&) = delete;
  ScopedRelatedDatabase& operator=(const ScopedRelatedDatabase&) = delete;

 private:
  db::Database* previous_;
};

}  // namespace rpcforge::model

#endif  // RPCFORGE_MODEL_SERIALIZER_H_
