// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/db/migrate.h"

#include <map>
#include <set>
#include <utility>

#include "core/logging.h"
#include "db/sql.h"
#include "rpcforge/errors.h"

namespace rpcforge::db {
namespace {

void EnsureTable(Database& db) {
  db.Execute(std::string("CREATE TABLE IF NOT EXISTS ") + kMigrationsTable +
             " (\"id\" INTEGER PRIMARY KEY AUTOINCREMENT, \"app\" VARCHAR(255) NOT NULL,"
             " \"name\" VARCHAR(255) NOT NULL, \"applied_at\" DATETIME NOT NULL,"
             " UNIQUE (\"app\", \"name\"))");
}

bool IsApplied(Database& db, const std::string& app, const std::string& name) {
  return !db.Query(std::string("SELECT 1 FROM ") + kMigrationsTable +
                       " WHERE \"app\" = ? AND \"name\" = ?",
                   {app, name})
              .empty();
}

}  // namespace

int Migrate(Database& db, const Registry& registry, std::ostream& out) {
  EnsureTable(db);
  int applied = 0;
  for (const auto& app : registry.apps()) {
    for (const Migration& migration : app->migrations()) {
      const std::string full = app->label() + "." + migration.name;
      Transaction tx = db.Atomic();
      // Checked inside the write transaction, so concurrent Migrate calls agree.
      if (IsApplied(db, app->label(), migration.name)) continue;
      out << "Applying " << full << "..." << std::flush;
      try {
        migration.apply(db);
        db.Execute(std::string("INSERT INTO ") + kMigrationsTable +
                       " (\"app\", \"name\", \"applied_at\") VALUES (?, ?, ?)",
                   {app->label(), migration.name, Value(db.clock().Now())});
        tx.Commit();
      } catch (const std::exception& e) {
        out << " FAILED\n";
        RPCFORGE_LOG_ERROR("db", "migration {} failed: {}", full, e.what());
        throw FailedPrecondition("migration " + full + " failed: " + e.what());
      }
      out << " OK\n";
      ++applied;
    }
  }
  if (applied == 0) out << "No migrations to apply.\n";
  return applied;
}

std::vector<MigrationStatus> ListMigrations(Database& db, const Registry& registry) {
  EnsureTable(db);
  std::map<std::pair<std::string, std::string>, Clock::TimePoint> recorded;
  for (const Row& row : db.Query(std::string("SELECT \"app\", \"name\", \"applied_at\" FROM ") +
                                 kMigrationsTable + " ORDER BY \"id\"")) {
    Clock::TimePoint t{};
    ParseTimestamp(row["applied_at"].AsText(), &t);
    recorded[{row["app"].AsText(), row["name"].AsText()}] = t;
  }
  std::vector<MigrationStatus> out;
  std::set<std::pair<std::string, std::string>> listed;
  for (const auto& app : registry.apps()) {
    for (const Migration& m : app->migrations()) {
      MigrationStatus status{app->label(), m.name, false, std::nullopt};
      auto it = recorded.find({app->label(), m.name});
      if (it != recorded.end()) {
        status.applied = true;
        status.applied_at = it->second;
      }
      listed.insert({app->label(), m.name});
      out.push_back(std::move(status));
    }
  }
  for (const auto& [key, t] : recorded) {
    if (listed.count(key) == 0) out.push_back({key.first, key.second, true, t});
  }
  return out;
}

void PrintMigrations(Database& db, const Registry& registry, std::ostream& out) {
  std::string current;
  for (const auto& m : ListMigrations(db, registry)) {
    if (m.app != current) {
      out << m.app << "\n";
      current = m.app;
    }
    out << " [" << (m.applied ? "X" : " ") << "] " << m.name << "\n";
  }
}

int Flush(Database& db) {
  std::vector<std::string> tables;
  for (const Row& row :
       db.Query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                "ORDER BY name")) {
    if (row["name"].AsText() != kMigrationsTable) tables.push_back(row["name"].AsText());
  }
  const bool has_sequence =
      !db.Query("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").empty();
  Transaction tx = db.Atomic();
  db.Execute("PRAGMA defer_foreign_keys = ON");
  for (const auto& t : tables) db.Execute("DELETE FROM " + sql::Quote(t));
  if (has_sequence) {
    db.Execute("DELETE FROM sqlite_sequence WHERE name != ?", {std::string(kMigrationsTable)});
  }
  db.Execute("PRAGMA defer_foreign_keys = OFF");  // in case the caller's transaction goes on
  tx.Commit();
  return static_cast<int>(tables.size());
}

}  // namespace rpcforge::db
