// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/model/serializer.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>
#include <string_view>
#include <utility>

#include "model/proto_util.h"
#include "rpcforge/db/query.h"
#include "rpcforge/db/registry.h"

namespace rpcforge::model {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

namespace {

using model_internal::Slot;

constexpr int64_t kMinTimestampSeconds = -62135596800;  // 0001-01-01T00:00:00Z
constexpr int64_t kMaxTimestampSeconds = 253402300799;  // 9999-12-31T23:59:59Z

// TimestampSeconds is the range of Timestamp.seconds that converts: protobuf's
// (0001-01-01 to 9999-12-31) narrowed to whole seconds Clock::TimePoint represents
// (libstdc++ counts 64-bit nanoseconds: 1677-09-21 to 2262-04-11), so that adding the
// nanos cannot overflow either; `message` names the range in violations.
struct TimestampSeconds {
  int64_t min;
  int64_t max;
  std::string message;
};

const TimestampSeconds& TimestampRange() {
  static const TimestampSeconds* range = [] {
    using std::chrono::duration_cast;
    using std::chrono::seconds;
    const int64_t min =
        std::max(kMinTimestampSeconds,
                 duration_cast<seconds>(Clock::TimePoint::duration::min()).count() + 1);
    const int64_t max =
        std::min(kMaxTimestampSeconds,
                 duration_cast<seconds>(Clock::TimePoint::duration::max()).count() - 1);
    auto day = [](int64_t s) {
      return FormatTimestamp(
                 Clock::TimePoint(duration_cast<Clock::TimePoint::duration>(seconds(s))))
          .substr(0, 10);
    };
    return new TimestampSeconds{min, max,
                                "Timestamp out of range (" + day(min) + " to " + day(max) + ")."};
  }();
  return *range;
}

bool IsTextColumn(const db::Field* column) {
  return column != nullptr &&
         (column->type() == db::FieldType::kChar || column->type() == db::FieldType::kText);
}

// Fail is a declaration mismatch found while writing a message: a server bug, reported
// as INTERNAL with a message naming the field.
[[noreturn]] void Fail(const FieldDescriptor& field, const std::string& why) {
  throw Internal("cannot write " + field.full_name() + ": " + why);
}

// The database set by ScopedRelatedDatabase on this thread, if any.
thread_local db::Database* related_database = nullptr;

// Database is where related rows come from: the options', else the scoped one.
db::Database* Database(const SerializerOptions& options) {
  return options.database != nullptr ? options.database : related_database;
}

// Loads is true when ToMessage may load related rows at this level.
bool Loads(const SerializerOptions& options) {
  return Database(options) != nullptr && options.max_depth > 0;
}

// NestedOptions configures the serializer of a related row: one level deeper, same
// database, default fields.
SerializerOptions NestedOptions(const SerializerOptions& options) {
  SerializerOptions nested;
  nested.database = Database(options);
  nested.max_depth = options.max_depth - 1;
  return nested;
}

// FillRelated writes the row foreign key `fk` = `id` points at into `sub` (which
// already holds the id); a missing row leaves it as is.
void FillRelated(const SerializerOptions& options, const FieldDescriptor& field,
                 const db::Field& fk, const db::Value& id, Message* sub) {
  if (!Loads(options)) return;
  const db::Model* target = db::Registry::Global().FindModel(fk.target());
  if (target == nullptr) Fail(field, "unknown model '" + fk.target() + "'");
  const std::optional<db::Row> related =
      target->Objects(*Database(options)).Filter("pk", id).First();
  if (!related) return;
  ModelProtoSerializer(*target, NestedOptions(options)).ToMessage(*related, sub);
}

// FillMany replaces the repeated `field` of `message` with the rows of `relation`
// pointing at `parent_id`, in primary key order.
void FillMany(const SerializerOptions& options, const ManyRelation& relation,
              const FieldDescriptor& field, const db::Value& parent_id, Message* message) {
  const Reflection* r = message->GetReflection();
  r->ClearField(message, &field);
  if (!Loads(options) || parent_id.is_null()) return;
  if (field.cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
    Fail(field, "related_many needs a repeated message field");
  }
  const db::Model* child = db::Registry::Global().FindModel(relation.model);
  if (child == nullptr) Fail(field, "unknown model '" + relation.model + "'");
  const db::Field* fk = child->FindField(relation.foreign_key);
  if (fk == nullptr || fk->type() != db::FieldType::kForeignKey) {
    Fail(field, relation.model + " has no foreign key '" + relation.foreign_key + "'");
  }
  const ModelProtoSerializer children(*child, NestedOptions(options));
  // All() rather than ForEach: the children's own nested reads run between statements.
  for (const db::Row& row : child->Objects(*Database(options))
                                .Filter(fk->name(), parent_id)
                                .OrderBy({child->pk().name()})
                                .All()) {
    children.ToMessage(row, r->AddMessage(message, &field));
  }
}

}  // namespace

ScopedRelatedDatabase::ScopedRelatedDatabase(db::Database* db) : previous_(related_database) {
  related_database = db;
}

ScopedRelatedDatabase::~ScopedRelatedDatabase() { related_database = previous_; }

// --- ProtoSerializer -------------------------------------------------------------------

ProtoSerializer::ProtoSerializer(SerializerOptions options) : options_(std::move(options)) {
  read_only_.insert(options_.read_only_fields.begin(), options_.read_only_fields.end());
  for (const auto& [name, relation] : options_.related_many) read_only_.insert(name);
}

ProtoSerializer::~ProtoSerializer() = default;

bool ProtoSerializer::IsSelected(const std::string& name) const {
  if (options_.fields.empty()) return true;
  for (const auto& f : options_.fields) {
    if (f == name) return true;
  }
  return false;
}

bool ProtoSerializer::IsReadOnly(const std::string& name) const {
  return read_only_.count(name) > 0;
}

db::Values ProtoSerializer::ToValues(const Message& message, WriteMode mode) const {
  return ToValues(
      message, mode,
      mode == WriteMode::kPartialUpdate ? model_internal::FindUpdateMask(message) : std::nullopt);
}

db::Values ProtoSerializer::ToValues(const Message& message, WriteMode mode,
                                     const std::optional<std::vector<std::string>>& mask) const {
  const Reflection* r = message.GetReflection();
  const std::vector<Slot> slots = model_internal::Slots(message.GetDescriptor());
  ValidationError errors;
  db::Values values;

  auto writable = [&](const Slot& s, const db::Field** column) {
    if (!IsSelected(s.name) || IsReadOnly(s.name)) return false;
    *column = ColumnFor(s.name);
    if (*column == nullptr && !AcceptsUnmapped() && options_.converters.count(s.name) == 0) {
      return false;
    }
    return !(s.field->is_repeated() && options_.converters.count(s.name) == 0);
  };

  std::set<std::string> masked;
  const bool use_mask = mode == WriteMode::kPartialUpdate && mask.has_value();
  if (use_mask) {
    std::vector<std::string> unknown;
    for (const std::string& path : *mask) {
      if (path == "*") {
        for (const Slot& s : slots) {
          const db::Field* column;
          if (writable(s, &column)) masked.insert(s.name);
        }
        continue;
      }
      const Slot* found = nullptr;
      for (const Slot& s : slots) {
        if (s.name == path) found = &s;
      }
      const db::Field* column = nullptr;
      if (found != nullptr && IsSelected(path) && IsReadOnly(path)) continue;  // AIP-134
      if (found == nullptr || !writable(*found, &column)) {
        unknown.push_back(path);
        continue;
      }
      masked.insert(path);
    }
    if (!unknown.empty()) {
      std::string names;
      for (const auto& u : unknown) names += (names.empty() ? "'" : ", '") + u + "'";
      throw InvalidArgument("update_mask: unknown field" +
                            std::string(unknown.size() > 1 ? "s " : " ") + names);
    }
  }

  for (const Slot& s : slots) {
    const db::Field* column = nullptr;
    if (!writable(s, &column)) continue;
    if (use_mask && masked.count(s.name) == 0) continue;
    const std::string& name = column != nullptr ? column->name() : s.name;

    if (auto it = options_.converters.find(s.name);
        it != options_.converters.end() && it->second.to_value) {
      try {
        if (auto v = it->second.to_value(message)) values.emplace_back(name, std::move(*v));
      } catch (const ValidationError& e) {
        for (const auto& v : e.violations()) errors.Add(v.field, v.description);
      }
      continue;
    }

    bool has_presence;
    bool is_set;
    bool is_null = false;
    const FieldDescriptor* value_field = s.field;
    if (s.oneof != nullptr) {
      has_presence = true;
      const FieldDescriptor* active = r->GetOneofFieldDescriptor(message, s.oneof);
      is_set = active != nullptr;
      is_null = active == model_internal::NullMember(s.oneof);
    } else {
      has_presence = s.field->has_presence();
      is_set = r->HasField(message, s.field);  // proto3 scalars: "non-default"
    }

    bool write;
    if (use_mask) {
      write = true;
      if (has_presence && !is_set) is_null = true;
    } else if (mode == WriteMode::kPartialUpdate) {
      write = is_set;
    } else {
      write = !has_presence || is_set;
      if (!write && mode == WriteMode::kUpdate && column != nullptr && column->null()) {
        write = true;
        is_null = true;
      }
    }
    if (!write) continue;
    if (is_null) {
      values.emplace_back(name, db::Value());
      continue;
    }
    if (auto v = ValueFromField(message, *value_field, column, errors)) {
      values.emplace_back(name, std::move(*v));
    }
  }
  errors.ThrowIfAny();
  return values;
}

std::optional<db::Value> ProtoSerializer::ValueFromField(const Message& message,
                                                         const FieldDescriptor& field,
                                                         const db::Field* column,
                                                         ValidationError& errors) const {
  const Reflection* r = message.GetReflection();
  const std::string name = column != nullptr ? column->name() : field.name();
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return db::Value(r->GetInt32(message, &field));
    case FieldDescriptor::CPPTYPE_INT64:
      return db::Value(r->GetInt64(message, &field));
    case FieldDescriptor::CPPTYPE_UINT32:
      return db::Value(r->GetUInt32(message, &field));
    case FieldDescriptor::CPPTYPE_UINT64: {
      const uint64_t v = r->GetUInt64(message, &field);
      if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        errors.Add(name, "Ensure this value is less than or equal to 9223372036854775807.");
        return std::nullopt;
      }
      return db::Value(static_cast<int64_t>(v));
    }
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return db::Value(r->GetDouble(message, &field));
    case FieldDescriptor::CPPTYPE_FLOAT:
      return db::Value(static_cast<double>(r->GetFloat(message, &field)));
    case FieldDescriptor::CPPTYPE_BOOL:
      return db::Value(r->GetBool(message, &field));
    case FieldDescriptor::CPPTYPE_ENUM: {
      const int number = r->GetEnumValue(message, &field);
      const auto* ev = field.enum_type()->FindValueByNumber(number);
      if (IsTextColumn(column)) {
        if (ev == nullptr) {
          errors.Add(name, "Unknown enum value " + std::to_string(number) + ".");
          return std::nullopt;
        }
        return db::Value(ev->name());
      }
      return db::Value(number);
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string s = r->GetString(message, &field);
      if (field.type() == FieldDescriptor::TYPE_BYTES)
        return db::Value(db::Blob(s.begin(), s.end()));
      return db::Value(std::move(s));
    }
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      const Message& sub = r->GetMessage(message, &field);
      const Descriptor* type = field.message_type();
      const Reflection* sr = sub.GetReflection();
      if (model_internal::IsTimestamp(type)) {
        const int64_t seconds = sr->GetInt64(sub, type->FindFieldByNumber(1));
        const int32_t nanos = sr->GetInt32(sub, type->FindFieldByNumber(2));
        const TimestampSeconds& range = TimestampRange();
        if (seconds < range.min || seconds > range.max || nanos < 0 || nanos > 999999999) {
          errors.Add(name, range.message);
          return std::nullopt;
        }
        const auto t = Clock::TimePoint(std::chrono::duration_cast<Clock::TimePoint::duration>(
            std::chrono::seconds(seconds) + std::chrono::nanoseconds(nanos)));
        return db::Value(t);
      }
      if (model_internal::IsWrapper(type)) {
        return ValueFromField(sub, *type->FindFieldByNumber(1), column, errors);
      }
      const FieldDescriptor* id = type->FindFieldByName("id");
      if (id != nullptr && !id->is_repeated() &&
          id->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
        return ValueFromField(sub, *id, nullptr, errors);  // a foreign key, by id
      }
      errors.Add(name, "Unsupported message type " + type->full_name() + ".");
      return std::nullopt;
    }
  }
  return std::nullopt;
}

namespace {

// SetTimestamp sets a google.protobuf.Timestamp: seconds floored (pre-1970 times have
// a negative seconds and positive nanos), then nanos.
void SetTimestamp(Clock::TimePoint t, Message* timestamp) {
  const auto since = t.time_since_epoch();
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since);
  if (seconds > since) seconds -= std::chrono::seconds(1);
  const auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(since - seconds);
  const Descriptor* type = timestamp->GetDescriptor();
  timestamp->GetReflection()->SetInt64(timestamp, type->FindFieldByNumber(1), seconds.count());
  timestamp->GetReflection()->SetInt32(timestamp, type->FindFieldByNumber(2),
                                       static_cast<int32_t>(nanos.count()));
}

}  // namespace

void ProtoSerializer::SetField(const db::Value& value, const FieldDescriptor& field,
                               const db::Field* column, Message* message) const {
  const Reflection* r = message->GetReflection();
  try {
    switch (field.cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32:
        r->SetInt32(message, &field, static_cast<int32_t>(value.AsInt()));
        return;
      case FieldDescriptor::CPPTYPE_INT64:
        r->SetInt64(message, &field, value.AsInt());
        return;
      case FieldDescriptor::CPPTYPE_UINT32:
        r->SetUInt32(message, &field, static_cast<uint32_t>(value.AsInt()));
        return;
      case FieldDescriptor::CPPTYPE_UINT64:
        r->SetUInt64(message, &field, static_cast<uint64_t>(value.AsInt()));
        return;
      case FieldDescriptor::CPPTYPE_DOUBLE:
        r->SetDouble(message, &field, value.AsDouble());
        return;
      case FieldDescriptor::CPPTYPE_FLOAT:
        r->SetFloat(message, &field, static_cast<float>(value.AsDouble()));
        return;
      case FieldDescriptor::CPPTYPE_BOOL:
        r->SetBool(message, &field, value.AsBool());
        return;
      case FieldDescriptor::CPPTYPE_ENUM:
        if (value.type() == db::Value::Type::kText) {
          const auto* ev = field.enum_type()->FindValueByName(value.AsText());
          if (ev == nullptr) Fail(field, "no enum value named '" + value.AsText() + "'");
          r->SetEnumValue(message, &field, ev->number());
        } else {
          r->SetEnumValue(message, &field, static_cast<int>(value.AsInt()));
        }
        return;
      case FieldDescriptor::CPPTYPE_STRING:
        switch (value.type()) {
          case db::Value::Type::kText:
            r->SetString(message, &field, value.AsText());
            return;
          case db::Value::Type::kBlob: {
            const db::Blob& b = value.AsBlob();
            r->SetString(message, &field, std::string(b.begin(), b.end()));
            return;
          }
          case db::Value::Type::kTime:
            r->SetString(message, &field, FormatTimestamp(value.AsTime()));
            return;
          default:
            r->SetString(message, &field, value.ToString());
            return;
        }
      case FieldDescriptor::CPPTYPE_MESSAGE: {
        Message* sub = r->MutableMessage(message, &field);
        const Descriptor* type = field.message_type();
        if (model_internal::IsTimestamp(type)) {
          SetTimestamp(value.AsTime(), sub);
          return;
        }
        if (model_internal::IsWrapper(type)) {
          SetField(value, *type->FindFieldByNumber(1), column, sub);
          return;
        }
        const FieldDescriptor* id = type->FindFieldByName("id");
        if (id == nullptr || id->is_repeated()) {
          Fail(field, "message type " + type->full_name() + " has no id field");
        }
        SetField(value, *id, nullptr, sub);
        return;
      }
    }
  } catch (const Internal&) {
    throw;
  } catch (const Error& e) {
    Fail(field, e.message());
  }
}

void ProtoSerializer::ToMessage(const db::Row& row, Message* message) const {
  const Reflection* r = message->GetReflection();
  for (const Slot& s : model_internal::Slots(message->GetDescriptor())) {
    if (!IsSelected(s.name)) continue;
    if (auto it = options_.converters.find(s.name);
        it != options_.converters.end() && it->second.to_message) {
      it->second.to_message(row, message);
      continue;
    }
    if (s.field->is_repeated()) {
      auto rel = options_.related_many.find(s.name);
      if (rel == options_.related_many.end()) continue;
      const db::Field* pk = ColumnFor("pk");
      const std::string key = pk != nullptr ? pk->column() : "id";
      FillMany(options_, rel->second, *s.field, row.Has(key) ? row[key] : db::Value(), message);
      continue;
    }
    const db::Field* column = ColumnFor(s.name);
    if (column == nullptr && !AcceptsUnmapped()) continue;
    const std::string& key = column != nullptr ? column->column() : s.name;
    if (!row.Has(key)) continue;
    const db::Value& value = row[key];
    if (value.is_null()) {
      if (s.oneof != nullptr) {
        r->SetEnumValue(message, model_internal::NullMember(s.oneof), 0);
      } else {
        r->ClearField(message, s.field);
      }
      continue;
    }
    SetField(value, *s.field, column, message);
    if (column != nullptr && column->type() == db::FieldType::kForeignKey && s.oneof == nullptr &&
        s.field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
        !model_internal::IsTimestamp(s.field->message_type()) &&
        !model_internal::IsWrapper(s.field->message_type())) {
      FillRelated(options_, *s.field, *column, value, r->MutableMessage(message, s.field));
    }
  }
}

void ProtoSerializer::RunCustomValidators(const db::Values& values, bool partial,
                                          ValidationError& errors) const {
  for (const auto& [name, value] : values) {
    auto it = options_.field_validators.find(name);
    if (it == options_.field_validators.end() || value.is_null()) continue;
    for (const auto& validator : it->second) {
      if (auto message = validator(value)) errors.Add(name, *message);
    }
  }
  for (const auto& validator : options_.validators) validator(values, partial, errors);
}

void ProtoSerializer::Validate(const db::Values& values, bool partial) const {
  ValidationError errors;
  RunCustomValidators(values, partial, errors);
  errors.ThrowIfAny();
}

// --- ModelProtoSerializer --------------------------------------------------------------

ModelProtoSerializer::ModelProtoSerializer(const db::Model& model, SerializerOptions options)
    : ProtoSerializer(std::move(options)), model_(&model) {
  for (const auto& name : this->options().fields) {
    if (this->options().related_many.count(name) == 0) model.GetField(name);
  }
}

const db::Field* ModelProtoSerializer::ColumnFor(const std::string& name) const {
  return model_->FindField(name);
}

bool ModelProtoSerializer::IsReadOnly(const std::string& name) const {
  if (ProtoSerializer::IsReadOnly(name)) return true;
  const db::Field* f = model_->FindField(name);
  return f != nullptr && (f->primary_key() || f->auto_now() || f->auto_now_add());
}

void ModelProtoSerializer::Validate(const db::Values& values, bool partial) const {
  ValidationError errors;
  try {
    model_->Validate(values, partial);
  } catch (const ValidationError& e) {
    for (const auto& v : e.violations()) errors.Add(v.field, v.description);
  }
  RunCustomValidators(values, partial, errors);
  errors.ThrowIfAny();
}

}  // namespace rpcforge::model
