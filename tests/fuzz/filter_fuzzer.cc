// SPDX-License-Identifier: Apache-2.0
// filter_fuzzer feeds the input as an AIP-160 filter string to
// rpcforge::model::ApplyFilter over a model with a field of every filterable kind
// (integer, big integer, char, text, bool, float, datetime, date, foreign key, binary,
// nullable ones) on an in-memory database holding a few rows, then runs the resulting
// QuerySet (Count and All). Allowed outcomes: success, or an rpcforge::Error with code
// INVALID_ARGUMENT; anything else (SQLite::Exception, INTERNAL, another exception)
// aborts as a finding.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <sstream>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "rpcforge/db/database.h"
#include "rpcforge/db/migrate.h"
#include "rpcforge/db/model.h"
#include "rpcforge/db/query.h"
#include "rpcforge/db/registry.h"
#include "rpcforge/errors.h"
#include "rpcforge/model/generic_service.h"

namespace {

namespace db = rpcforge::db;

const db::Model& OwnerModel() {
  static const db::Model model("fuzz.owner", {db::CharField("name", 20)});
  return model;
}

const db::Model& ItemModel() {
  static const db::Model model(
      "fuzz.item", {
                       db::CharField("title", 50),
                       db::TextField("body").Blank().Default(""),
                       db::IntegerField("views").Default(0),
                       db::BigIntegerField("big").Null(),
                       db::FloatField("score").Null(),
                       db::BoolField("done").Default(false),
                       db::DateTimeField("due").Null(),
                       db::DateField("day").Null(),
                       db::BinaryField("blob").Null(),
                       db::JsonField("meta").Null(),
                       db::ForeignKey("owner", "fuzz.owner", db::OnDelete::kCascade).Null(),
                   });
  return model;
}

struct State {
  db::Database database{db::DatabaseOptions{}};
  db::Registry registry;
  // Every field, plus one name the model lacks (allowed, yet not a field).
  std::vector<std::string> allowed = {"id",  "title", "body", "views", "big",   "score",  "done",
                                      "due", "day",   "blob", "meta",  "owner", "missing"};

  State() {
    registry.app("fuzz").AddModel(OwnerModel()).AddModel(ItemModel());
    std::ostringstream out;
    db::Migrate(database, registry, out);
    const db::Row owner = OwnerModel().Objects(database).Create({{"name", "ada"}});
    auto items = ItemModel().Objects(database);
    items.Create({{"title", "a"}, {"views", 3}, {"done", true}, {"owner", owner["id"]}});
    items.Create({{"title", "b%_\\"},
                  {"body", "grpc"},
                  {"big", int64_t{1} << 40},
                  {"score", 2.5},
                  {"due", "2024-01-02T03:04:05Z"},
                  {"day", "2024-01-02"},
                  {"meta", "{\"k\": 1}"}});
    items.Create({{"title", "c"}, {"views", -7}, {"score", -0.0}});
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  rpcforge::fuzz::QuietLogs();
  static State* state = new State();  // leaked on purpose: lives for the whole run
  const std::string filter(reinterpret_cast<const char*>(data), size);
  try {
    const db::QuerySet qs =
        rpcforge::model::ApplyFilter(ItemModel().Objects(state->database), filter, state->allowed);
    const int64_t count = qs.Count();
    const std::vector<db::Row> rows = qs.All();
    if (count != static_cast<int64_t>(rows.size())) {
      rpcforge::fuzz::Finding("filter_fuzzer", "Count() is " + std::to_string(count) +
                                                   " but All() returned " +
                                                   std::to_string(rows.size()) + " rows");
    }
  } catch (const rpcforge::Error& e) {
    if (e.code() != grpc::StatusCode::INVALID_ARGUMENT) rpcforge::fuzz::Finding("filter_fuzzer", e);
  } catch (const std::exception& e) {
    rpcforge::fuzz::Finding("filter_fuzzer", e);
  }
  return 0;
}
