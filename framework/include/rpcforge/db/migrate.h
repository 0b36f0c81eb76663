// SPDX-License-Identifier: Apache-2.0
// Applying and listing migrations (the `migrate` and `migrate --list` commands), and
// emptying every table (`flush`, TransactionTestCase).
//
//   auto db = rpcforge::db::Database::Open("app.sqlite3");
//   rpcforge::db::Migrate(*db, rpcforge::db::Registry::Global(), std::cout);
//   for (const auto& m : rpcforge::db::ListMigrations(*db, registry)) ...
#ifndef RPCFORGE_DB_MIGRATE_H_
#define RPCFORGE_DB_MIGRATE_H_

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "rpcforge/clock.h"
#include "rpcforge/db/database.h"
#include "rpcforge/db/registry.h"
#include "rpcforge/export.h"

namespace rpcforge::db {

// kMigrationsTable records applied migrations: (id, app, name, applied_at).
inline constexpr const char* kMigrationsTable = "rpcforge_migrations";

// MigrationStatus is one row of `ListMigrations`.
struct MigrationStatus {
  std::string app;
  std::string name;
  bool applied = false;
  std::optional<Clock::TimePoint> applied_at;
};

// Migrate applies every registered migration not yet recorded, app by app in registry
// order, each in its own transaction together with its record, and writes one line per
// migration to `out` ("Applying blog.0002_views... OK"). Idempotent: a second run
// applies nothing and writes "No migrations to apply.". Returns how many it applied.
// On failure it throws rpcforge::FailedPrecondition naming the migration and the
// cause; that migration's changes are rolled back, earlier ones stay applied.
// Thread-safe with respect to other Migrate calls (the first writer wins, the others
// see the records).
RPCFORGE_EXPORT int Migrate(Database& db, const Registry& registry, std::ostream& out);

// MigrateApp migrates app `app` to `target`: a migration name or a prefix of exactly
// one ("0001"), forwards (applying up to and including it) or backwards (unapplying
// every later one, newest first), or "zero" (unapplying all). Each migration runs in
// its own transaction with foreign keys checked before it commits. Writes one line per
// migration ("Unapplying blog.0003_post_sticky... OK"). Throws rpcforge::NotFound for an
// unknown app or target, rpcforge::FailedPrecondition when a migration fails or cannot
// be undone (RunSQL without reverse_sql, RunCode without a reverse). Returns how many
// migrations it applied or unapplied.
RPCFORGE_EXPORT int MigrateApp(Database& db, const Registry& registry, const std::string& app,
                               const std::string& target, std::ostream& out);

// MissingMigrations compares every app's models with the replay of its migrations and
// returns one line per difference, naming the model and field and the command to run:
// "blog.post: Add field pinned to blog.post (no migration has it; run `blog
// makemigrations blog`)". Apps with a migration taken from the models as they are now
// (`Migration::from_models`) are not compared (see UnwrittenMigrationApps). `binary`
// is the command name.
RPCFORGE_EXPORT std::vector<std::string> MissingMigrations(const Registry& registry,
                                                           const std::string& binary);

// UnwrittenMigrationApps are the apps with models (other than the framework's own) with
// a migration taken from the models as they are now (no migration file yet, or
// AddInitialMigration), so a model change goes unnoticed.
RPCFORGE_EXPORT std::vector<std::string> UnwrittenMigrationApps(const Registry& registry);

// UnappliedMigrations returns "app.name" for every registered migration `db` does not
// record as applied.
RPCFORGE_EXPORT std::vector<std::string> UnappliedMigrations(Database& db,
                                                             const Registry& registry);

// MigrationSql is the SQL migration `name` of `app` runs (backwards: to unapply it), as
// `sqlmigrate` prints it: BEGIN; the statements with their parameters inlined; COMMIT.
// RunCode shows as a comment. `database` (a path or URL, never opened) chooses the
// dialect: PostgreSQL's for a "postgresql://" URL, else SQLite's. Throws
// rpcforge::NotFound for an unknown migration.
RPCFORGE_EXPORT std::string MigrationSql(const Registry& registry, const std::string& app,
                                         const std::string& name, bool backwards,
                                         const std::string& database = "");

// ListMigrations returns every registered migration in order with whether it is
// applied. Recorded migrations no longer registered are listed last, applied.
RPCFORGE_EXPORT std::vector<MigrationStatus> ListMigrations(Database& db, const Registry& registry);

// PrintMigrations writes ListMigrations as "app\n [X] 0001_initial\n [ ] 0002_x\n".
RPCFORGE_EXPORT void PrintMigrations(Database& db, const Registry& registry, std::ostream& out);

// Flush deletes every row of every table except the migration records and makes the
// generated ids start again at 1, in one transaction (foreign keys deferred): DELETE and
// sqlite_sequence on SQLite, one TRUNCATE ... RESTART IDENTITY on PostgreSQL. Returns how
// many tables it emptied.
RPCFORGE_EXPORT int Flush(Database& db);

}  // namespace rpcforge::db

#endif  // RPCFORGE_DB_MIGRATE_H_
