// SPDX-License-Identifier: Apache-2.0
// rpcforge::db::QuerySet is a lazy, immutable query over one Model, in the manner of
// Django's QuerySet. Each refinement returns a new QuerySet; nothing runs until a
// terminal call (All, ForEach, Get, First, Count, Exists, Update, Delete). Every value
// is a bound parameter, and every field name is checked against the model.
//
//   auto posts = PostModel().Objects(db);
//   for (const Row& p : posts.Filter("title__icontains", "grpc")
//                           .Exclude("author", nullptr)
//                           .OrderBy({"-created_at", "id"})
//                           .Limit(10).All()) { ... }
//   Row post = posts.Get("slug", "hello");   // rpcforge::NotFound when absent
//   posts.Filter("id__in", std::vector<Value>{1, 2}).Update({{"views", 0}});
#ifndef RPCFORGE_DB_QUERY_H_
#define RPCFORGE_DB_QUERY_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rpcforge/db/database.h"
#include "rpcforge/db/model.h"
#include "rpcforge/db/value.h"
#include "rpcforge/errors.h"
#include "rpcforge/export.h"

namespace rpcforge::db {

// MultipleObjectsReturned is what `Get` throws when more than one row matches: a bug in
// the caller's query, so it maps to INTERNAL.
class RPCFORGE_EXPORT MultipleObjectsReturned : public Error {
 public:
  explicit MultipleObjectsReturned(std::string message)
      : Error(grpc::StatusCode::INTERNAL, std::move(message)) {}
};

// QuerySet holds a Database reference and a Model reference; both must outlive it.
// Copyable; a QuerySet may be used from any thread (each terminal call is one unit of
// work, see Database).
//
// Lookups are "field" or "field__op" where op is one of exact, iexact, lt, lte, gt,
// gte, in, contains, icontains, startswith, istartswith, isnull. "pk" names the
// primary key; foreign keys accept "author" and "author_id". An unknown field or op
// throws rpcforge::InvalidArgument naming it. Comparisons with NULL: `exact` with a
// null value means IS NULL; `isnull` takes a bool.
//
// Rows come back keyed by column name ("author_id" for a foreign key) with values
// converted per field (bool fields as bool, datetime fields as time).
class RPCFORGE_EXPORT QuerySet {
 public:
  QuerySet(Database& db, const Model& model);

  QuerySet Filter(std::string_view lookup, Value value) const;
  // Filter with a list is for `__in` lookups: `Filter("id__in", std::vector<Value>{1, 2})`.
  QuerySet Filter(std::string_view lookup, std::vector<Value> values) const;
  QuerySet Exclude(std::string_view lookup, Value value) const;
  QuerySet Exclude(std::string_view lookup, std::vector<Value> values) const;
  // OrderBy replaces the ordering; "-name" sorts descending. Default: the model's.
  QuerySet OrderBy(std::vector<std::string> fields) const;
  QuerySet Limit(int64_t n) const;
  QuerySet Offset(int64_t n) const;
  // Select restricts the returned columns to `fields` (in that order).
  QuerySet Select(std::vector<std::string> fields) const;

  // All runs the query and returns every row.
  std::vector<Row> All() const;
  // ForEach streams rows to `fn` without loading them all. `fn` may read the database
  // on the same thread; it should not write.
  void ForEach(const std::function<void(const Row&)>& fn) const;
  // Get returns the single matching row. Throws rpcforge::NotFound
  // "blog.post: object matching title='x' not found" or MultipleObjectsReturned.
  Row Get() const;
  Row Get(std::string_view lookup, Value value) const;
  // First returns the first row in order (by pk when unordered), if any.
  std::optional<Row> First() const;
  int64_t Count() const;
  bool Exists() const;

  // Create fills defaults and auto_now(_add), validates (rpcforge::ValidationError
  // listing every bad field), inserts and returns the full row with its id. A unique
  // conflict throws rpcforge::AlreadyExists, a dangling foreign key
  // rpcforge::FailedPrecondition; both name the model.
  Row Create(const Values& values) const;
  // BulkCreate validates every row first (errors prefixed "[i].field"), then inserts
  // all in one Atomic() scope. Returns the ids in order.
  std::vector<int64_t> BulkCreate(const std::vector<Values>& rows) const;
  // Update sets `values` (validated; auto_now fields refreshed) on matching rows and
  // returns how many changed.
  int64_t Update(const Values& values) const;
  // Delete removes matching rows (foreign keys cascade / set null / protect as
  // declared; protect throws rpcforge::FailedPrecondition). Returns how many.
  int64_t Delete() const;

  const Model& model() const noexcept { return *model_; }

 private:
  struct Condition {
    bool negate;
    std::string sql;  // e.g. "\"title\" LIKE ? ESCAPE '\\'"
    std::vector<Value> params;
    std::string description;  // e.g. "title__icontains='x'" for messages
  };
  // Conditions form a shared, immutable list from the newest back to the first, so
  // a refinement adds one node instead of copying every earlier condition (a chain
  // of N filters costs O(N), not O(N^2)).
  struct ConditionNode {
    Condition condition;
    std::shared_ptr<const ConditionNode> previous;
  };
  // Conditions returns the conditions oldest first.
  std::vector<const Condition*> Conditions() const;
  QuerySet AddCondition(bool negate, std::string_view lookup, std::vector<Value> values,
                        bool is_list) const;
  std::string SelectSql(std::vector<Value>* params, const std::string& columns,
                        bool with_order) const;
  std::string WhereSql(std::vector<Value>* params) const;
  // WriteWhereSql is the WHERE clause of an UPDATE or DELETE of exactly the rows this
  // query selects (through the primary key when it has a limit or offset).
  std::string WriteWhereSql(std::vector<Value>* params) const;
  std::string Describe() const;
  std::vector<const Field*> SelectedFields() const;

  Database* db_;
  const Model* model_;
  std::shared_ptr<const ConditionNode> conditions_;  // newest; null: none
  size_t condition_count_ = 0;
  std::optional<std::vector<std::string>> order_;
  std::optional<int64_t> limit_;
  std::optional<int64_t> offset_;
  std::vector<std::string> select_;
};

}  // namespace rpcforge::db

#endif  // RPCFORGE_DB_QUERY_H_
