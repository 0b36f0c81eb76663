// SPDX-License-Identifier: Apache-2.0
// Database commands: loaddata, dumpdata, flush (migrations: migration_commands.cc).
#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>

#include "app/journal_replay.h"
#include "cli/commands.h"
#include "rpcforge/db/database.h"
#include "rpcforge/db/errors.h"
#include "rpcforge/db/fixture_data.h"
#include "rpcforge/db/migrate.h"
#include "rpcforge/db/registry.h"
#include "rpcforge/errors.h"

namespace rpcforge::cli_internal {

std::string MigrateHint(const CommandEnv& env) {
  return "run `" + env.app->name() + " --database " + config::DatabasePath(env.config) +
         " migrate`";
}

std::unique_ptr<db::Database> OpenDatabase(const CommandEnv& env, OpenMode mode) {
  db::DatabaseOptions options;
  options.path = config::DatabasePath(env.config);
  options.busy_timeout_ms = static_cast<int>(config::DatabaseBusyTimeout(env.config).count());
  options.max_connections = config::DatabaseMaxConnections(env.config);
  options.cache_kib = config::DatabaseCacheKib(env.config);
  options.journal_dir = config::DatabaseJournalDir(env.config);
  // Only a database file can be missing: a server's database is there or the open fails.
  const bool file =
      !options.path.empty() && options.path != ":memory:" && !db::IsPostgresUrl(options.path);
  if (mode == OpenMode::kExisting && file && !std::filesystem::exists(options.path)) {
    throw FailedPrecondition("no database at '" + options.path +
                             "' (database.path, or --database); to create it, " + MigrateHint(env));
  }
  std::unique_ptr<db::Database> database;
  try {
    database = std::make_unique<db::Database>(options);
  } catch (const db::DatabaseError& e) {
    throw Unavailable("Cannot open database '" + options.path + "': " + e.what());
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Unavailable("Cannot open database '" + options.path + "': " + e.what());
  }
  database->SetClock(env.app->clock());
  // Rows that a killed server journaled but did not commit go in before anyone reads.
  server_internal::ReplayJournals(*database, *env.app);
  return database;
}

namespace {

// Prints every field error of a ValidationError (what() only says "Invalid request").
int ReportValidation(const ValidationError& e, CommandEnv& env) {
  *env.err << "error: " << e.ToStatus().error_message() << "\n";
  return 1;
}

}  // namespace

void RegisterDatabaseCommands() {
  RegisterCommand({"loaddata", "Load fixture files (Django's JSON form), all or nothing", 40,
                   [](CLI::App& sub) {
                     auto files = std::make_shared<std::vector<std::string>>();
                     sub.add_option("files", *files, "fixture JSON files")->required();
                     return [files](CommandEnv& env) {
                       auto database = OpenDatabase(env);
                       try {
                         db::LoadData(*database, db::Registry::Global(), *files, *env.out);
                       } catch (const ValidationError& e) {
                         return ReportValidation(e, env);
                       }
                       return 0;
                     };
                   }});
  RegisterCommand({"dumpdata", "Write rows as fixture JSON (app or app.model labels; none = all)",
                   41, [](CLI::App& sub) {
                     auto labels = std::make_shared<std::vector<std::string>>();
                     auto indent = std::make_shared<int>(2);
                     sub.add_option("labels", *labels, "app or app.model");
                     sub.add_option("--indent", *indent, "JSON indent (-1: one line)");
                     return [labels, indent](CommandEnv& env) {
                       auto database = OpenDatabase(env);
                       db::DumpData(*database, db::Registry::Global(), *labels, *env.out, *indent);
                       *env.out << "\n";
                       return 0;
                     };
                   }});
  RegisterCommand(
      {"flush", "Delete every row (keeps the schema); needs --yes", 42, [](CLI::App& sub) {
         auto yes = std::make_shared<bool>(false);
         sub.add_flag("--yes", *yes, "really delete every row");
         return [yes](CommandEnv& env) {
           if (!*yes) {
             *env.err << "error: flush deletes every row of " << config::DatabasePath(env.config)
                      << "; run again with --yes\n";
             return 2;
           }
           auto database = OpenDatabase(env);
           const int tables = db::Flush(*database);
           *env.out << "Flushed " << tables << " table(s).\n";
           return 0;
         };
       }});
}

}  // namespace rpcforge::cli_internal
