// SPDX-License-Identifier: Apache-2.0
// migration_file_fuzzer feeds the input as a migration file (the JSON makemigrations
// writes) to rpcforge::db::ReadMigrationFile. A file that parses must write back to a
// file that parses to the same operations (WriteMigrationFile round trip). When it
// also replays on top of a first migration (fuzz.note, two rows), it is applied to a
// fresh in-memory database and, when reversible, unapplied again: the tables and
// columns must then be exactly those of before. RunSQL is parsed but never executed
// (the fuzzer would be running arbitrary SQL). Allowed outcomes: success, or an
// rpcforge::Error with code INVALID_ARGUMENT (a bad file or a change the schema does
// not allow) or FAILED_PRECONDITION (a migration the database refused); anything else
// aborts as a finding.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "fuzz_util.h"
#include "rpcforge/db/database.h"
#include "rpcforge/db/migrate.h"
#include "rpcforge/db/registry.h"
#include "rpcforge/db/schema.h"
#include "rpcforge/errors.h"

namespace {

namespace db = rpcforge::db;

const db::Model& Note() {
  static const db::Model* m =
      new db::Model("fuzz.note", {db::CharField("title", 50).Unique(), db::TextField("body").Null(),
                                  db::IntegerField("views").Default(0).Index()});
  return *m;
}

const std::string& Initial() {
  static const std::string* text = new std::string(
      db::WriteMigrationFile("fuzz", "0001_initial", {db::Operation::CreateModel(Note())}));
  return *text;
}

bool Allowed(const rpcforge::Error& e) {
  return e.code() == grpc::StatusCode::INVALID_ARGUMENT ||
         e.code() == grpc::StatusCode::FAILED_PRECONDITION;
}

std::string Described(const std::vector<db::Operation>& ops) {
  std::string out;
  for (const auto& op : ops) out += op.Describe() + "\n";
  return out;
}

// Schema is every table with its columns, in order.
std::map<std::string, std::string> Schema(db::Database& d) {
  std::map<std::string, std::string> out;
  for (const auto& t : d.Query("SELECT name FROM sqlite_master WHERE type = 'table' AND name "
                               "NOT LIKE 'sqlite_%' AND name != 'rpcforge_migrations'")) {
    std::string columns;
    for (const auto& c : d.Query("SELECT name FROM pragma_table_info(?)", {t["name"]})) {
      columns += c["name"].AsText() + ",";
    }
    out[t["name"].AsText()] = columns;
  }
  return out;
}

void ApplyAndUndo(const db::Migration& m) {
  db::Registry registry;
  db::App& app = registry.app("fuzz");
  app.AddMigrationFile("0001_initial.json", Initial());
  app.AddMigration(m);
  // Only an order that puts the input second is the case described above.
  if (app.migrations().back().name != m.name) return;
  (void)db::ReplayMigrations(app.migrations());  // INVALID_ARGUMENT ends it here
  db::Database d{db::DatabaseOptions{}};
  std::ostringstream out;
  db::MigrateApp(d, registry, "fuzz", "0001_initial", out);
  d.Execute("INSERT INTO fuzz_note (title, body, views) VALUES ('a', 'x', 1), ('b', NULL, 2)");
  const auto before = Schema(d);
  db::Migrate(d, registry, out);
  for (const auto& op : m.operations) {
    if (!op.reversible()) return;
  }
  db::MigrateApp(d, registry, "fuzz", "0001_initial", out);
  if (Schema(d) != before) {
    rpcforge::fuzz::Finding("migration_file_fuzzer",
                            "applying then unapplying the migration changed the schema");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  rpcforge::fuzz::QuietLogs();
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    db::Migration m;
    try {
      m = db::ReadMigrationFile(text, "fuzz.json");
    } catch (const rpcforge::Error& e) {
      if (!Allowed(e)) rpcforge::fuzz::Finding("migration_file_fuzzer", e);
      return 0;
    }
    std::string written;
    try {
      written = db::WriteMigrationFile("fuzz", m.name, m.operations);
    } catch (const rpcforge::InvalidArgument&) {
      return 0;  // a default JSON cannot carry
    }
    const db::Migration again = db::ReadMigrationFile(written, "written.json");
    if (Described(again.operations) != Described(m.operations) || again.name != m.name) {
      rpcforge::fuzz::Finding("migration_file_fuzzer",
                              "the written file reads back differently:\n" + written);
    }
    for (const auto& op : m.operations) {
      if (op.kind == db::Operation::Kind::kRunSql) return 0;
    }
    try {
      ApplyAndUndo(m);
    } catch (const rpcforge::Error& e) {
      if (!Allowed(e)) rpcforge::fuzz::Finding("migration_file_fuzzer", e);
    }
  } catch (const std::exception& e) {
    rpcforge::fuzz::Finding("migration_file_fuzzer", e);
  }
  return 0;
}
