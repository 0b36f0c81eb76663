// SPDX-License-Identifier: Apache-2.0
// Generic model services: CRUD handlers for a db::Model bound to a generated service
// base by name, as django-grpc-framework's generics and mixins do. A service whose
// .proto declares `List`, `Create`, `Retrieve`, `Update`, `PartialUpdate` and
// `Destroy` needs no handler code:
//
//   class PostService : public rpcforge::model::ModelService<blog::v1::PostControllerBase> {
//    public:
//     PostService() : ModelService(PostModel()) {}
//   };
//   RPCFORGE_REGISTER_SERVICE(PostService);
//
// The request and response types come from the generated signatures, and every
// message goes through the service's serializer (rpcforge/model/serializer.h), so any
// method shapes work as long as the field names match the model:
//
//   List          server streaming `(Req) returns (stream Resp)`: every row, streamed
//                 with QuerySet::ForEach (never the whole table in memory); or unary
//                 `(Req) returns (Page)` with `page_size`/`page_token` in Req and a
//                 repeated message field plus `next_page_token` (and optionally
//                 `total_size`) in Page. A `string filter` request field takes an
//                 AIP-160 subset (`title = "x" AND id > 3`) over the allowed fields,
//                 a `string order_by` field AIP-132 ordering (`title desc, id`).
//   Create        (Resource) returns (Resource)
//   Retrieve      (Req with the lookup field) returns (Resource)
//   Update        (Resource) returns (Resource)           every writable field
//   PartialUpdate (Req) returns (Resource)                 only what the client set:
//                 wrappers/optional presence, or `google.protobuf.FieldMask
//                 update_mask` (AIP-134)
//   Destroy       (Req with the lookup field) returns (google.protobuf.Empty)
//
// A request may also carry the resource nested in a field named after the model
// (`UpdatePostRequest { Post post = 1; FieldMask update_mask = 2; }`); the lookup
// field is then read from the request, or else from the nested resource.
//
// Status codes: NOT_FOUND "<Model>: <lookup> not found" (e.g. "Post: 7 not found");
// INVALID_ARGUMENT with BadRequest field violations for invalid data, or naming the
// problem for a bad filter, order_by, page token, page size or update_mask path (an
// unknown one, or the identifier), or the `limits` key a request exceeds; ALREADY_EXISTS /
// FAILED_PRECONDITION for unique and foreign-key conflicts (from QuerySet).
//
// Per-request state: a service object is shared by every call and thread, so its hooks
// are const and receive a `Call`, created fresh for each request; keep whatever one
// request computes in the Call (or the Context), never in members.
#ifndef RPCFORGE_MODEL_GENERIC_SERVICE_H_
#define RPCFORGE_MODEL_GENERIC_SERVICE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "rpcforge/context.h"
#include "rpcforge/db/model.h"
#include "rpcforge/db/query.h"
#include "rpcforge/db/value.h"
#include "rpcforge/export.h"
#include "rpcforge/model/serializer.h"
#include "rpcforge/server/streams.h"

namespace google::protobuf {
class Message;
}  // namespace google::protobuf

namespace rpcforge::model {

// Action names the generic action a Call runs.
enum class Action { kList, kCreate, kRetrieve, kUpdate, kPartialUpdate, kDestroy };

// Call is one request's state, created by the handler for that request only and
// passed to every hook. Not thread-safe; lives for the handler's duration.
struct Call {
  Call(Context& c, const google::protobuf::Message& r, Action a)
      : ctx(c), request(r), action(a), related(c.database()) {}
  Context& ctx;
  const google::protobuf::Message& request;
  Action action;
  // instance is the object GetObject found (Retrieve, Update, PartialUpdate,
  // Destroy), set before Perform*.
  std::optional<db::Row> instance;
  // Serializers load related rows (nested foreign keys, related_many) from the call's
  // database for the duration of the call.
  ScopedRelatedDatabase related;
};

// ServiceOptions configures a generic service. Copyable.
struct ServiceOptions {
  // model is required and must outlive the service.
  const db::Model* model = nullptr;
  // serializer converts requests and responses; default: a ModelProtoSerializer of
  // `model` over every field.
  std::shared_ptr<const ProtoSerializer> serializer;
  // queryset returns the base query for a call; default: `model->Objects(ctx.db())`.
  std::function<db::QuerySet(Call& call)> queryset;
  // lookup_field is the model field Retrieve/Update/Destroy look objects up by
  // (default the primary key, "id"); lookup_request_field the request field holding
  // the value (default: lookup_field).
  std::string lookup_field = "id";
  std::string lookup_request_field;
  // filter_fields are the model fields a List request may filter on, through a
  // `filter` string or through request fields of the same name (set ones only);
  // empty = `filter` may use every field of the serializer, and request fields are not
  // used as filters.
  std::vector<std::string> filter_fields;
  // display_name names the model in NOT_FOUND messages; default: the label's model
  // part in CamelCase ("blog.post" -> "Post").
  std::string display_name;
  // Page sizes of the unary (paginated) List: page_size 0 means default_page_size,
  // larger than max_page_size is reduced to it, negative is INVALID_ARGUMENT.
  int default_page_size = 50;
  int max_page_size = 1000;

  // For is `ServiceOptions` with `model` set.
  static ServiceOptions For(const db::Model& model) {
    ServiceOptions options;
    options.model = &model;
    return options;
  }
};

// GenericService holds the configuration and implements every generic action over
// protobuf reflection. The concrete services below bind its actions to a generated
// base; hand-written handlers may call the actions (ListRows, CreateObject, ...) too.
// Override the hooks to customize; they are const because the service is shared by
// concurrent calls. Thread-safe.
class RPCFORGE_EXPORT GenericService {
 public:
  // GenericService throws rpcforge::InvalidArgument when `options.model` is null or
  // the lookup/filter fields are not fields of the model.
  explicit GenericService(ServiceOptions options);
  explicit GenericService(const db::Model& model);
  virtual ~GenericService();
  GenericService(const GenericService&) = delete;
  GenericService& operator=(const GenericService&) = delete;

  const ServiceOptions& service_options() const { return options_; }
  const db::Model& model() const { return *options_.model; }

  // --- Hooks --------------------------------------------------------------------------
  // GetQueryset returns the base query (options.queryset, or every row).
  virtual db::QuerySet GetQueryset(Call& call) const;
  // FilterQueryset narrows the base query for List and for lookups (default: List
  // applies the request's `filter` and filter fields; lookups use it unchanged).
  virtual db::QuerySet FilterQueryset(Call& call, db::QuerySet queryset) const;
  // OrderQueryset orders List: the request's `order_by` (AIP-132, see ApplyOrderBy)
  // when it has one, else the model's ordering, else the primary key.
  virtual db::QuerySet OrderQueryset(Call& call, db::QuerySet queryset) const;
  // GetObject returns the row the request's lookup value names. NOT_FOUND
  // "<Model>: <value> not found"; INVALID_ARGUMENT when the request has no lookup
  // value.
  virtual db::Row GetObject(Call& call) const;
  // GetSerializer returns the serializer for this call (options.serializer).
  virtual const ProtoSerializer& GetSerializer(Call& call) const;
  // PerformCreate inserts `values` (already validated) and returns the new row.
  virtual db::Row PerformCreate(Call& call, const db::Values& values) const;
  // PerformUpdate writes `values` to `instance` and returns the row as stored.
  virtual db::Row PerformUpdate(Call& call, const db::Row& instance,
                                const db::Values& values) const;
  // PerformDestroy deletes `instance`.
  virtual void PerformDestroy(Call& call, const db::Row& instance) const;

  // --- Actions ------------------------------------------------------------------------
  // ListRows passes every listed row to `emit`, in order, until it returns false.
  void ListRows(Call& call, const std::function<bool(const db::Row&)>& emit) const;
  // ListPage fills a paginated List response (see the file comment).
  void ListPage(Call& call, google::protobuf::Message* response) const;
  void CreateObject(Call& call, google::protobuf::Message* response) const;
  void RetrieveObject(Call& call, google::protobuf::Message* response) const;
  // UpdateObject runs Update (`partial` false) or PartialUpdate; it and DestroyObject
  // run GetObject and PerformUpdate / PerformDestroy in one Database::RunInTransaction
  // (started over after a deadlock or serialization failure, up to 4 attempts).
  void UpdateObject(Call& call, google::protobuf::Message* response, bool partial) const;
  void DestroyObject(Call& call) const;

 private:
  db::QuerySet ApplyListFilters(Call& call, db::QuerySet queryset) const;
  // QueryFields are the fields `filter` and `order_by` may name.
  std::vector<std::string> QueryFields() const;
  // CheckUpdateMask rejects a mask over the paths limit or naming the identifier.
  void CheckUpdateMask(Call& call, const std::vector<std::string>& paths) const;
  std::string DisplayName() const;

  ServiceOptions options_;
  std::shared_ptr<const ProtoSerializer> lookup_reader_;
  std::shared_ptr<const ProtoSerializer> filter_reader_;
};

namespace model_internal {

// Detection of a generated handler by name: `Sig` is the member-function-pointer type
// of P::Name, or void when P has no (or an overloaded) member of that name.
#define RPCFORGE_MODEL_INTERNAL_SIGNATURE(Name)                \
  template <class P, class = void>                             \
  struct Name##Signature {                                     \
    using type = void;                                         \
  };                                                           \
  template <class P>                                           \
  struct Name##Signature<P, std::void_t<decltype(&P::Name)>> { \
    using type = decltype(&P::Name);                           \
  };
RPCFORGE_MODEL_INTERNAL_SIGNATURE(List)
RPCFORGE_MODEL_INTERNAL_SIGNATURE(Create)
RPCFORGE_MODEL_INTERNAL_SIGNATURE(Retrieve)
RPCFORGE_MODEL_INTERNAL_SIGNATURE(Update)
RPCFORGE_MODEL_INTERNAL_SIGNATURE(PartialUpdate)
RPCFORGE_MODEL_INTERNAL_SIGNATURE(Destroy)
#undef RPCFORGE_MODEL_INTERNAL_SIGNATURE

// StopListing ends ListRows early when the client goes away.
struct StopListing {};

}  // namespace model_internal

// ServiceBase joins a generated base (e.g. blog::v1::PostControllerBase) and the
// GenericService configuration; the mixins below add handlers on top of it.
template <class Base>
class ServiceBase : public Base, public GenericService {
 public:
  explicit ServiceBase(ServiceOptions options) : GenericService(std::move(options)) {}
  explicit ServiceBase(const db::Model& model) : GenericService(model) {}
};

// --- Mixins: each overrides one generated handler, when the base declares it. -----------
// (The primary templates are pass-throughs for bases without the method.)

template <class Parent, class Sig = typename model_internal::ListSignature<Parent>::type>
class ListMixin : public Parent {
 public:
  using Parent::Parent;
};
template <class Parent, class C, class Req, class Resp>
class ListMixin<Parent, void (C::*)(Context&, const Req&, Writer<Resp>&)> : public Parent {
 public:
  using Parent::Parent;
  void List(Context& ctx, const Req& request, Writer<Resp>& writer) override {
    Call call(ctx, request, Action::kList);
    const ProtoSerializer& serializer = this->GetSerializer(call);
    Resp message;
    this->ListRows(call, [&](const db::Row& row) {
      message.Clear();
      serializer.ToMessage(row, &message);
      return writer.Write(message);
    });
  }
};
template <class Parent, class C, class Req, class Resp>
class ListMixin<Parent, Resp (C::*)(Context&, const Req&)> : public Parent {
 public:
  using Parent::Parent;
  Resp List(Context& ctx, const Req& request) override {
    Call call(ctx, request, Action::kList);
    Resp response;
    this->ListPage(call, &response);
    return response;
  }
};

#define RPCFORGE_MODEL_INTERNAL_UNARY_MIXIN(Mixin, Name, Body)                                \
  template <class Parent, class Sig = typename model_internal::Name##Signature<Parent>::type> \
  class Mixin : public Parent {                                                               \
   public:                                                                                    \
    using Parent::Parent;                                                                     \
  };                                                                                          \
  template <class Parent, class C, class Req, class Resp>                                     \
  class Mixin<Parent, Resp (C::*)(Context&, const Req&)> : public Parent {                    \
   public:                                                                                    \
    using Parent::Parent;                                                                     \
    Resp Name(Context& ctx, const Req& request) override {                                    \
      Call call(ctx, request, Action::k##Name);                                               \
      Resp response;                                                                          \
      Body;                                                                                   \
      return response;                                                                        \
    }                                                                                         \
  };
RPCFORGE_MODEL_INTERNAL_UNARY_MIXIN(CreateMixin, Create, this->CreateObject(call, &response))
RPCFORGE_MODEL_INTERNAL_UNARY_MIXIN(RetrieveMixin, Retrieve, this->RetrieveObject(call, &response))
RPCFORGE_MODEL_INTERNAL_UNARY_MIXIN(UpdateMixin, Update, this->UpdateObject(call, &response, false))
RPCFORGE_MODEL_INTERNAL_UNARY_MIXIN(PartialUpdateMixin, PartialUpdate,
                                    this->UpdateObject(call, &response, true))
RPCFORGE_MODEL_INTERNAL_UNARY_MIXIN(DestroyMixin, Destroy, this->DestroyObject(call))
#undef RPCFORGE_MODEL_INTERNAL_UNARY_MIXIN

// --- Concrete services ------------------------------------------------------------------
// Each takes a model (or ServiceOptions) and provides the named handlers; the others
// keep the generated default (UNIMPLEMENTED) unless written by hand.

#define RPCFORGE_MODEL_INTERNAL_SERVICE(Name, ...)                       \
  template <class Base>                                                  \
  class Name : public __VA_ARGS__ {                                      \
    using Chain = __VA_ARGS__;                                           \
                                                                         \
   public:                                                               \
    explicit Name(const db::Model& model) : Chain(model) {}              \
    explicit Name(ServiceOptions options) : Chain(std::move(options)) {} \
  };

// CreateService: Create.
RPCFORGE_MODEL_INTERNAL_SERVICE(CreateService, CreateMixin<ServiceBase<Base>>)
// ListService: List.
RPCFORGE_MODEL_INTERNAL_SERVICE(ListService, ListMixin<ServiceBase<Base>>)
// RetrieveService: Retrieve.
RPCFORGE_MODEL_INTERNAL_SERVICE(RetrieveService, RetrieveMixin<ServiceBase<Base>>)
// UpdateService: Update and PartialUpdate.
RPCFORGE_MODEL_INTERNAL_SERVICE(UpdateService, PartialUpdateMixin<UpdateMixin<ServiceBase<Base>>>)
// DestroyService: Destroy.
RPCFORGE_MODEL_INTERNAL_SERVICE(DestroyService, DestroyMixin<ServiceBase<Base>>)
// ReadOnlyModelService: List and Retrieve.
RPCFORGE_MODEL_INTERNAL_SERVICE(ReadOnlyModelService, RetrieveMixin<ListMixin<ServiceBase<Base>>>)
// ModelService: List, Create, Retrieve, Update, PartialUpdate and Destroy.
RPCFORGE_MODEL_INTERNAL_SERVICE(
    ModelService,
    DestroyMixin<
        PartialUpdateMixin<UpdateMixin<RetrieveMixin<CreateMixin<ListMixin<ServiceBase<Base>>>>>>>)
#undef RPCFORGE_MODEL_INTERNAL_SERVICE

// ApplyFilter parses an AIP-160 subset filter over `model`'s `allowed` fields and
// applies it to `queryset`: comparisons `field OP value` (OP one of = != < <= > >= :)
// joined by AND, each optionally negated with NOT or '-'; values are numbers, "quoted"
// or 'quoted' strings, true, false, null, or bare words. `:` means "contains" for text
// fields and "=" otherwise. Throws rpcforge::InvalidArgument "filter: ..." naming the
// problem (unknown field, syntax error at a position, bad value for the field's type).
// The text may be at most `limits.max_filter_length` bytes with at most
// `limits.max_filter_terms` comparisons (INVALID_ARGUMENT naming the limit); parsing
// and the query it builds cost time linear in the text.
RPCFORGE_EXPORT db::QuerySet ApplyFilter(const db::QuerySet& queryset, const std::string& filter,
                                         const std::vector<std::string>& allowed,
                                         const InputLimits& limits);
// ApplyFilter with the default limits.
RPCFORGE_EXPORT db::QuerySet ApplyFilter(const db::QuerySet& queryset, const std::string& filter,
                                         const std::vector<std::string>& allowed);

// ApplyOrderBy parses an AIP-132 `order_by` ("count desc, name": comma-separated
// fields of `allowed`, each optionally followed by `asc` or `desc`, case-insensitive)
// and replaces the ordering of `queryset` with it, adding the primary key last unless
// named, so equal rows keep one order across pages. Throws rpcforge::InvalidArgument
// "order_by: ..." for an unknown field, a bad direction, an empty item, or more than
// `limits.max_order_by_fields` fields.
RPCFORGE_EXPORT db::QuerySet ApplyOrderBy(const db::QuerySet& queryset, const std::string& order_by,
                                          const std::vector<std::string>& allowed,
                                          const InputLimits& limits);

}  // namespace rpcforge::model

#endif  // RPCFORGE_MODEL_GENERIC_SERVICE_H_
