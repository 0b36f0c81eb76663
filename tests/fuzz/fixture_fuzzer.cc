// SPDX-License-Identifier: Apache-2.0
// fixture_fuzzer feeds the input as the JSON text of one fixture document (Django's
// loaddata form) to rpcforge::db::LoadFixtures, into an in-memory database migrated
// once with the db module's test models (blog.author; blog.post with a field of every
// type and a nullable CASCADE foreign key to it; blog.editor with a PROTECT one).
// Each input runs inside an outer Atomic() scope that is rolled back afterwards, so
// the database never grows. After a successful load, DumpData's output of the same
// models must load again (dumpdata and loaddata round-trip). Allowed outcomes:
// success, or an rpcforge::Error with code INVALID_ARGUMENT (ValidationError),
// FAILED_PRECONDITION or ALREADY_EXISTS; anything else (a SQLite::Exception, another
// code, another exception) aborts as a finding.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <sstream>
#include <string>

#include "db/test_models.h"
#include "fuzz_util.h"
#include "rpcforge/db/database.h"
#include "rpcforge/db/fixture_data.h"
#include "rpcforge/db/migrate.h"
#include "rpcforge/db/query.h"
#include "rpcforge/db/registry.h"
#include "rpcforge/errors.h"

namespace {

namespace db = rpcforge::db;

struct State {
  db::Database database{db::DatabaseOptions{}};
  db::Registry registry;

  State() {
    db::testmodels::AddBlogApp(registry);
    std::ostringstream out;
    db::Migrate(database, registry, out);
    // One committed row, so inputs can update it, reference it or collide with it.
    db::testmodels::Author().Objects(database).Create(
        {{"name", "Ada"}, {"email", "ada@example.com"}});
  }
};

bool Allowed(const rpcforge::Error& e) {
  switch (e.code()) {
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::ALREADY_EXISTS:
      return true;
    default:
      return false;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  rpcforge::fuzz::QuietLogs();
  static State* state = new State();  // leaked on purpose: lives for the whole run
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    db::Transaction outer = state->database.Atomic();
    std::ostringstream out;
    bool loaded = false;
    try {
      db::LoadFixtures(state->database, state->registry, {{"fuzz.json", text}}, out);
      loaded = true;
    } catch (const rpcforge::Error& e) {
      if (!Allowed(e)) rpcforge::fuzz::Finding("fixture_fuzzer", e);
    }
    if (loaded) {
      std::ostringstream dump;
      db::DumpData(state->database, state->registry, {"blog"}, dump, -1);
      try {
        db::LoadFixtures(state->database, state->registry, {{"dump.json", dump.str()}}, out);
      } catch (const rpcforge::Error& e) {
        rpcforge::fuzz::Finding("fixture_fuzzer",
                                std::string("the dump of a loaded fixture does not load again: ") +
                                    e.what() + "\ndump: " + dump.str());
      }
    }
    outer.Rollback();
  } catch (const std::exception& e) {
    rpcforge::fuzz::Finding("fixture_fuzzer", e);
  }
  return 0;
}
