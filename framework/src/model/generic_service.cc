// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/model/generic_service.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <map>
#include <utility>

#include "core/strings.h"
#include "model/proto_util.h"
#include "rpcforge/db/database.h"
#include "rpcforge/errors.h"
#include "rpcforge/model/generate_proto.h"

namespace rpcforge::model {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

namespace {

// FieldReader reads request fields (lookup values, explicit filters) as values of the
// model fields they are mapped to, read-only or not.
// The request names need not be model fields (`lookup_request_field = "code"`), so it
// is a ProtoSerializer that maps each one to its model field itself.
class FieldReader : public ProtoSerializer {
 public:
  FieldReader(const db::Model& model, std::map<std::string, std::string> names)
      : ProtoSerializer(Options(names)), model_(model), names_(std::move(names)) {
    for (const auto& [request_name, field] : names_) model_.GetField(field);
  }
  bool IsReadOnly(const std::string&) const override { return false; }

 protected:
  const db::Field* ColumnFor(const std::string& name) const override {
    auto it = names_.find(name);
    return it == names_.end() ? nullptr : model_.FindField(it->second);
  }
  bool AcceptsUnmapped() const override { return false; }

 private:
  static SerializerOptions Options(const std::map<std::string, std::string>& names) {
    SerializerOptions o;
    for (const auto& [request_name, field] : names) o.fields.push_back(request_name);
    return o;
  }
  const db::Model& model_;
  std::map<std::string, std::string> names_;
};

std::string ModelName(const db::Model& model) {
  return model.label().substr(model.label().find('.') + 1);
}

// Resource returns the resource the request carries: a nested message field named
// after the model (`UpdatePostRequest.post`), or the request itself.
const Message& Resource(const db::Model& model, const Message& request) {
  const FieldDescriptor* f = request.GetDescriptor()->FindFieldByName(ModelName(model));
  if (f != nullptr && !f->is_repeated() && f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
      f->message_type()->file()->package() != "google.protobuf" &&
      model.FindField(f->name()) == nullptr) {
    return request.GetReflection()->GetMessage(request, f);
  }
  return request;
}

const FieldDescriptor* FieldOfType(const Message& m, const std::string& name,
                                   FieldDescriptor::CppType type) {
  const FieldDescriptor* f = m.GetDescriptor()->FindFieldByName(name);
  if (f == nullptr || f->is_repeated() || f->cpp_type() != type) return nullptr;
  return f;
}

}  // namespace

// --- GenericService --------------------------------------------------------------------

GenericService::GenericService(ServiceOptions options) : options_(std::move(options)) {
  if (options_.model == nullptr) throw InvalidArgument("GenericService: no model given");
  const db::Model& m = *options_.model;
  const db::Field& lookup = m.GetField(options_.lookup_field);
  if (options_.lookup_request_field.empty()) options_.lookup_request_field = lookup.name();
  for (const auto& name : options_.filter_fields) m.GetField(name);
  if (!options_.serializer) options_.serializer = std::make_shared<ModelProtoSerializer>(m);
  lookup_reader_ = std::make_shared<FieldReader>(
      m, std::map<std::string, std::string>{{options_.lookup_request_field, lookup.name()}});
  std::map<std::string, std::string> filters;
  for (const auto& name : options_.filter_fields) filters[name] = name;
  filter_reader_ = std::make_shared<FieldReader>(m, std::move(filters));
  if (options_.max_page_size < 1) options_.max_page_size = 1;
  if (options_.default_page_size < 1 || options_.default_page_size > options_.max_page_size) {
    options_.default_page_size = options_.max_page_size;
  }
}

GenericService::GenericService(const db::Model& model)
    : GenericService(ServiceOptions::For(model)) {}

GenericService::~GenericService() = default;

std::string GenericService::DisplayName() const {
  return options_.display_name.empty() ? MessageName(model()) : options_.display_name;
}

db::QuerySet GenericService::GetQueryset(Call& call) const {
  if (options_.queryset) return options_.queryset(call);
  return model().Objects(call.ctx.db());
}

db::QuerySet GenericService::FilterQueryset(Call& call, db::QuerySet queryset) const {
  if (call.action == Action::kList) return ApplyListFilters(call, std::move(queryset));
  return queryset;
}

const ProtoSerializer& GenericService::GetSerializer(Call&) const { return *options_.serializer; }

db::QuerySet GenericService::ApplyListFilters(Call& call, db::QuerySet queryset) const {
  if (const FieldDescriptor* f =
          FieldOfType(call.request, "filter", FieldDescriptor::CPPTYPE_STRING)) {
    const std::string text = call.request.GetReflection()->GetString(call.request, f);
    if (!text.empty()) queryset = ApplyFilter(queryset, text, QueryFields(), call.ctx.limits());
  }
  if (!options_.filter_fields.empty()) {
    for (const auto& [name, value] :
         filter_reader_->ToValues(call.request, WriteMode::kPartialUpdate, std::nullopt)) {
      queryset = queryset.Filter(name, value);
    }
  }
  return queryset;
}

std::vector<std::string> GenericService::QueryFields() const {
  std::vector<std::string> allowed = options_.filter_fields;
  if (allowed.empty()) {
    for (const auto& field : model().fields()) {
      if (options_.serializer->IsSelected(field.name())) allowed.push_back(field.name());
    }
  }
  return allowed;
}

db::QuerySet GenericService::OrderQueryset(Call& call, db::QuerySet queryset) const {
  std::string order_by;
  if (const FieldDescriptor* f =
          FieldOfType(call.request, "order_by", FieldDescriptor::CPPTYPE_STRING)) {
    order_by = call.request.GetReflection()->GetString(call.request, f);
  }
  if (!order_by.empty()) {
    return ApplyOrderBy(queryset, order_by, QueryFields(), call.ctx.limits());
  }
  // Pages and streams need a total order; the model's, else the primary key.
  if (model().ordering().empty()) return queryset.OrderBy({model().pk().name()});
  return queryset;
}

db::Row GenericService::GetObject(Call& call) const {
  db::Values lookup;
  try {
    lookup = lookup_reader_->ToValues(call.request, WriteMode::kPartialUpdate, std::nullopt);
    if (lookup.empty()) {
      lookup = lookup_reader_->ToValues(Resource(model(), call.request), WriteMode::kPartialUpdate,
                                        std::nullopt);
    }
  } catch (const ValidationError&) {
    throw InvalidArgument(options_.lookup_request_field + ": invalid value");
  }
  if (lookup.empty()) {
    // Either the field is absent from the request type or holds its default (0, "").
    const bool declared =
        call.request.GetDescriptor()->FindFieldByName(options_.lookup_request_field) != nullptr ||
        Resource(model(), call.request)
                .GetDescriptor()
                ->FindFieldByName(options_.lookup_request_field) != nullptr;
    if (!declared) {
      throw InvalidArgument("request " + call.request.GetDescriptor()->full_name() +
                            " has no lookup field '" + options_.lookup_request_field + "'");
    }
    // A default value (id 0, "") names no object.
    const db::Field& f = model().GetField(options_.lookup_field);
    const bool numeric =
        f.type() == db::FieldType::kAutoId || f.type() == db::FieldType::kInteger ||
        f.type() == db::FieldType::kBigInteger || f.type() == db::FieldType::kForeignKey;
    throw NotFound(DisplayName() + ": " + (numeric ? "0" : "''") + " not found");
  }
  const db::Value& value = lookup.front().second;
  std::optional<db::Row> row =
      FilterQueryset(call, GetQueryset(call)).Filter(options_.lookup_field, value).First();
  if (!row) throw NotFound(DisplayName() + ": " + value.ToString() + " not found");
  return *row;
}

db::Row GenericService::PerformCreate(Call& call, const db::Values& values) const {
  return model().Objects(call.ctx.db()).Create(values);
}

db::Row GenericService::PerformUpdate(Call& call, const db::Row& instance,
                                      const db::Values& values) const {
  const std::string& pk = model().pk().column();
  db::QuerySet one = model().Objects(call.ctx.db()).Filter(pk, instance[pk]);
  if (!values.empty()) one.Update(values);
  return one.Get();
}

void GenericService::PerformDestroy(Call& call, const db::Row& instance) const {
  const std::string& pk = model().pk().column();
  model().Objects(call.ctx.db()).Filter(pk, instance[pk]).Delete();
}

void GenericService::ListRows(Call& call, const std::function<bool(const db::Row&)>& emit) const {
  db::QuerySet queryset = OrderQueryset(call, FilterQueryset(call, GetQueryset(call)));
  try {
    queryset.ForEach([&](const db::Row& row) {
      if (!emit(row)) throw model_internal::StopListing{};
    });
  } catch (const model_internal::StopListing&) {
    // The client went away; nothing more to send.
  }
}

void GenericService::ListPage(Call& call, Message* response) const {
  const Message& request = call.request;
  const Reflection* rr = request.GetReflection();
  int64_t page_size = options_.default_page_size;
  if (const FieldDescriptor* f = request.GetDescriptor()->FindFieldByName("page_size")) {
    int64_t v = 0;
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_INT32) v = rr->GetInt32(request, f);
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_INT64) v = rr->GetInt64(request, f);
    if (v < 0) throw InvalidArgument("page_size: must not be negative");
    if (v > 0) page_size = std::min<int64_t>(v, options_.max_page_size);
  }
  int64_t offset = 0;
  if (const FieldDescriptor* f =
          FieldOfType(request, "page_token", FieldDescriptor::CPPTYPE_STRING)) {
    const std::string token = rr->GetString(request, f);
    const size_t max_token = call.ctx.limits().max_page_token_length;
    if (token.size() > max_token) {
      throw InvalidArgument("page_token: longer than " + std::to_string(max_token) +
                            " bytes (limits.max_page_token_length)");
    }
    if (!token.empty()) {
      char* end = nullptr;
      const long long v = std::strtoll(token.c_str(), &end, 10);
      if (end == token.c_str() || *end != '\0' || v < 0 || !std::isdigit(token[0])) {
        throw InvalidArgument("page_token: invalid token '" + token + "'");
      }
      offset = v;
    }
  }

  const google::protobuf::Descriptor* rd = response->GetDescriptor();
  const FieldDescriptor* items = nullptr;
  for (int i = 0; i < rd->field_count() && items == nullptr; ++i) {
    const FieldDescriptor* f = rd->field(i);
    if (f->is_repeated() && f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) items = f;
  }
  if (items == nullptr) {
    throw Unimplemented("List response " + rd->full_name() +
                        " has no repeated message field to hold the page");
  }
  db::QuerySet queryset = OrderQueryset(call, FilterQueryset(call, GetQueryset(call)));
  const ProtoSerializer& serializer = GetSerializer(call);
  const Reflection* r = response->GetReflection();
  int64_t seen = 0;
  queryset.Offset(offset).Limit(page_size + 1).ForEach([&](const db::Row& row) {
    if (++seen > page_size) return;
    serializer.ToMessage(row, r->AddMessage(response, items));
  });
  if (seen > page_size) {
    if (const FieldDescriptor* f =
            FieldOfType(*response, "next_page_token", FieldDescriptor::CPPTYPE_STRING)) {
      r->SetString(response, f, std::to_string(offset + page_size));
    }
  }
  if (const FieldDescriptor* f = response->GetDescriptor()->FindFieldByName("total_size")) {
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_INT32) {
      r->SetInt32(response, f, static_cast<int32_t>(queryset.Count()));
    } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_INT64) {
      r->SetInt64(response, f, queryset.Count());
    }
  }
}

void GenericService::CreateObject(Call& call, Message* response) const {
  const ProtoSerializer& serializer = GetSerializer(call);
  db::Values values = serializer.ToValues(Resource(model(), call.request), WriteMode::kCreate);
  serializer.Validate(values, /*partial=*/false);
  const db::Row row = PerformCreate(call, values);
  serializer.ToMessage(row, response);
}

void GenericService::RetrieveObject(Call& call, Message* response) const {
  call.instance = GetObject(call);
  GetSerializer(call).ToMessage(*call.instance, response);
}

void GenericService::UpdateObject(Call& call, Message* response, bool partial) const {
  const ProtoSerializer& serializer = GetSerializer(call);
  const Message& resource = Resource(model(), call.request);
  const std::optional<std::vector<std::string>> mask =
      partial ? model_internal::FindUpdateMask(call.request) : std::nullopt;
  if (mask) CheckUpdateMask(call, *mask);
  // Converting and validating first reports a bad request before touching the table.
  db::Values values = partial ? serializer.ToValues(resource, WriteMode::kPartialUpdate, mask)
                              : serializer.ToValues(resource, WriteMode::kUpdate, std::nullopt);
  serializer.Validate(values, /*partial=*/true);
  // A deadlock (PostgreSQL) loses the whole transaction: read and write again.
  db::Row row;
  call.ctx.db().RunInTransaction([&] {
    call.instance = GetObject(call);
    row = PerformUpdate(call, *call.instance, values);
  });
  serializer.ToMessage(row, response);
}

void GenericService::CheckUpdateMask(Call& call, const std::vector<std::string>& paths) const {
  const size_t max_paths = call.ctx.limits().max_update_mask_paths;
  if (paths.size() > max_paths) {
    throw InvalidArgument("update_mask: more than " + std::to_string(max_paths) +
                          " paths (limits.max_update_mask_paths)");
  }
  // AIP-134: the identifier names the resource; it cannot be one of its updates.
  const std::string& pk = model().pk().name();
  for (const std::string& path : paths) {
    if (path == pk) {
      throw InvalidArgument("update_mask: '" + pk + "' is the identifier and cannot be updated");
    }
  }
}

void GenericService::DestroyObject(Call& call) const {
  call.ctx.db().RunInTransaction([&] {
    call.instance = GetObject(call);
    PerformDestroy(call, *call.instance);
  });
}

// --- ApplyFilter (AIP-160 subset) --------------------------------------------------------

namespace {

class FilterParser {
 public:
  FilterParser(const std::string& text, const db::Model& model,
               const std::vector<std::string>& allowed, const InputLimits& limits)
      : text_(text), model_(model), allowed_(allowed), limits_(limits) {}

  db::QuerySet Apply(db::QuerySet qs) {
    if (text_.size() > limits_.max_filter_length) {
      throw InvalidArgument("filter: longer than " + std::to_string(limits_.max_filter_length) +
                            " bytes (limits.max_filter_length)");
    }
    SkipSpace();
    if (pos_ >= text_.size()) return qs;
    for (size_t terms = 1;; ++terms) {
      if (terms > limits_.max_filter_terms) {
        Fail("more than " + std::to_string(limits_.max_filter_terms) +
             " terms (limits.max_filter_terms)");
      }
      qs = Term(std::move(qs));
      SkipSpace();
      if (pos_ >= text_.size()) return qs;
      const std::string word = Word();
      if (word == "AND") continue;
      if (word == "OR") Fail("OR is not supported");
      Fail("expected AND");
    }
  }

 private:
  [[noreturn]] void Fail(const std::string& why) const {
    throw InvalidArgument("filter: " + why + " at position " + std::to_string(pos_ + 1));
  }
  void SkipSpace() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  static bool IsWordChar(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-' ||
           c == '+' || c == ':';
  }
  std::string Word() {
    SkipSpace();
    const size_t start = pos_;
    while (pos_ < text_.size() &&
           (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_')) {
      ++pos_;
    }
    return text_.substr(start, pos_ - start);
  }

  db::QuerySet Term(db::QuerySet qs) {
    SkipSpace();
    bool negate = false;
    if (text_.compare(pos_, 4, "NOT ") == 0) {
      negate = true;
      pos_ += 4;
      SkipSpace();
    } else if (pos_ < text_.size() && text_[pos_] == '-') {
      negate = true;
      ++pos_;
    }
    const size_t field_pos = pos_;
    const std::string name = Word();
    if (name.empty()) Fail("expected a field name");
    bool allowed = false;
    for (const auto& a : allowed_) allowed = allowed || a == name;
    const db::Field* field = model_.FindField(name);
    if (!allowed || field == nullptr) {
      std::string list;
      for (const auto& a : allowed_) list += (list.empty() ? "" : ", ") + a;
      pos_ = field_pos;
      Fail("unknown field '" + name + "' (allowed: " + list + ")");
    }
    SkipSpace();
    std::string op;
    static const char* const kOps[] = {"<=", ">=", "!=", "=", "<", ">", ":"};
    for (const char* o : kOps) {
      if (text_.compare(pos_, std::string(o).size(), o) == 0) {
        op = o;
        break;
      }
    }
    if (op.empty()) Fail("expected one of = != < <= > >= :");
    pos_ += op.size();
    SkipSpace();
    const db::Value value = ParseValue(*field);
    if (op == "!=") {
      negate = !negate;
      op = "=";
    }
    std::string lookup = field->name();
    const bool text_field =
        field->type() == db::FieldType::kChar || field->type() == db::FieldType::kText;
    if (op == ":" && text_field) {
      lookup += "__icontains";
    } else if (op == "<") {
      lookup += "__lt";
    } else if (op == "<=") {
      lookup += "__lte";
    } else if (op == ">") {
      lookup += "__gt";
    } else if (op == ">=") {
      lookup += "__gte";
    }
    if (value.is_null() && lookup != field->name()) Fail("null only compares with = and !=");
    return negate ? qs.Exclude(lookup, value) : qs.Filter(lookup, value);
  }

  db::Value ParseValue(const db::Field& field) {
    const size_t start = pos_;
    std::string raw;
    bool quoted = false;
    if (pos_ < text_.size() && (text_[pos_] == '"' || text_[pos_] == '\'')) {
      const char quote = text_[pos_++];
      quoted = true;
      while (pos_ < text_.size() && text_[pos_] != quote) {
        if (text_[pos_] == '\\' && pos_ + 1 < text_.size()) ++pos_;
        raw += text_[pos_++];
      }
      if (pos_ >= text_.size()) {
        pos_ = start;
        Fail("unterminated string");
      }
      ++pos_;
    } else {
      while (pos_ < text_.size() && IsWordChar(text_[pos_])) raw += text_[pos_++];
      if (raw.empty()) Fail("expected a value");
    }
    if (!quoted && raw == "null") return db::Value();
    auto bad = [&](const char* what) {
      pos_ = start;
      Fail(std::string("expected ") + what + " for field '" + field.name() + "'");
    };
    switch (field.type()) {
      case db::FieldType::kAutoId:
      case db::FieldType::kInteger:
      case db::FieldType::kBigInteger:
      case db::FieldType::kForeignKey: {
        char* end = nullptr;
        errno = 0;
        const long long v = std::strtoll(raw.c_str(), &end, 10);
        if (raw.empty() || *end != '\0' || errno != 0) bad("an integer");
        return db::Value(static_cast<int64_t>(v));
      }
      case db::FieldType::kFloat: {
        char* end = nullptr;
        const double v = std::strtod(raw.c_str(), &end);
        if (raw.empty() || *end != '\0') bad("a number");
        return db::Value(v);
      }
      case db::FieldType::kBool:
        if (raw == "true") return db::Value(true);
        if (raw == "false") return db::Value(false);
        bad("true or false");
        return db::Value();
      case db::FieldType::kDateTime: {
        Clock::TimePoint t;
        if (!ParseTimestamp(raw, &t)) bad("an RFC 3339 timestamp");
        return db::Value(t);
      }
      case db::FieldType::kBinary:
        bad("a comparable field (binary fields cannot be filtered)");
        return db::Value();
      default:
        return db::Value(raw);
    }
  }

  const std::string& text_;
  const db::Model& model_;
  const std::vector<std::string>& allowed_;
  const InputLimits& limits_;
  size_t pos_ = 0;
};

bool IsAllowed(const std::vector<std::string>& allowed, const std::string& name) {
  return std::find(allowed.begin(), allowed.end(), name) != allowed.end();
}

using strings::Lower;

}  // namespace

db::QuerySet ApplyFilter(const db::QuerySet& queryset, const std::string& filter,
                         const std::vector<std::string>& allowed, const InputLimits& limits) {
  FilterParser parser(filter, queryset.model(), allowed, limits);
  return parser.Apply(queryset);
}

db::QuerySet ApplyFilter(const db::QuerySet& queryset, const std::string& filter,
                         const std::vector<std::string>& allowed) {
  return ApplyFilter(queryset, filter, allowed, InputLimits::Default());
}

db::QuerySet ApplyOrderBy(const db::QuerySet& queryset, const std::string& order_by,
                          const std::vector<std::string>& allowed, const InputLimits& limits) {
  const db::Model& model = queryset.model();
  std::vector<std::string> order;
  bool has_pk = false;
  size_t start = 0;
  while (start <= order_by.size()) {
    size_t end = order_by.find(',', start);
    if (end == std::string::npos) end = order_by.size();
    std::vector<std::string> words;
    size_t i = start;
    while (i < end) {
      while (i < end && std::isspace(static_cast<unsigned char>(order_by[i]))) ++i;
      const size_t word = i;
      while (i < end && !std::isspace(static_cast<unsigned char>(order_by[i]))) ++i;
      if (i > word) words.push_back(order_by.substr(word, i - word));
    }
    const std::string at = " at position " + std::to_string(start + 1);
    if (words.empty()) throw InvalidArgument("order_by: expected a field name" + at);
    if (words.size() > 2 ||
        (words.size() == 2 && Lower(words[1]) != "asc" && Lower(words[1]) != "desc")) {
      throw InvalidArgument("order_by: expected \"field\", \"field asc\" or \"field desc\"" + at);
    }
    const db::Field* field = model.FindField(words[0]);
    if (field == nullptr || !IsAllowed(allowed, words[0])) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      throw InvalidArgument("order_by: unknown field '" + words[0] + "' (allowed: " + list + ")");
    }
    if (order.size() == limits.max_order_by_fields) {
      throw InvalidArgument("order_by: more than " + std::to_string(limits.max_order_by_fields) +
                            " fields (limits.max_order_by_fields)");
    }
    const bool desc = words.size() == 2 && Lower(words[1]) == "desc";
    has_pk = has_pk || field->primary_key();
    order.push_back((desc ? "-" : "") + field->name());
    start = end + 1;
  }
  // Rows equal in every named field keep one order from page to page.
  if (!has_pk) order.push_back(model.pk().name());
  return queryset.OrderBy(std::move(order));
}

}  // namespace rpcforge::model
