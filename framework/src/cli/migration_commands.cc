// SPDX-License-Identifier: Apache-2.0
// Schema evolution commands: migrate (forwards, or an app back to a migration),
// showmigrations, makemigrations (--check, --dry-run), sqlmigrate.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "rpcforge/config/config.h"
#include "rpcforge/db/database.h"
#include "rpcforge/db/migrate.h"
#include "rpcforge/db/registry.h"
#include "rpcforge/db/schema.h"
#include "rpcforge/errors.h"

namespace rpcforge::cli_internal {
namespace {

namespace fs = std::filesystem;

// DiskApp is `app` with its migration files read from its migrations directory as it
// is now, not as the binary embedded them: a file makemigrations wrote since the last
// build counts, so a second run does not write the same migration again.
std::unique_ptr<db::App> DiskApp(const db::App& app, const fs::path& dir) {
  auto out = std::make_unique<db::App>(app.label());
  for (const db::Model* m : app.models()) out->AddModel(*m);
  for (const db::Migration& m : app.code_migrations()) out->AddMigration(m);
  std::error_code ec;
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::ifstream in(f);
    std::stringstream text;
    text << in.rdbuf();
    out->AddMigrationFile(f.string(), text.str());
  }
  return out;
}

int NextNumber(const std::vector<db::Migration>& migrations) {
  int highest = 0;
  for (const auto& m : migrations) {
    try {
      highest = std::max(highest, std::stoi(m.name.substr(0, m.name.find('_'))));
    } catch (const std::exception&) {
      // A name without a number does not count.
    }
  }
  return highest + 1;
}

struct MakeOptions {
  std::string app;
  bool check = false;
  bool dry_run = false;
  bool rename = false;
  std::string name;
  std::string dir;
};

db::RenameQuestion Asker(const MakeOptions& o, CommandEnv& env) {
  if (o.rename) return [](const std::string&) { return true; };
  if (isatty(STDIN_FILENO) == 0) return nullptr;  // not asked: removed and added
  return [&env](const std::string& question) {
    *env.out << question << std::flush;
    std::string answer;
    std::getline(std::cin, answer);
    return !answer.empty() && (answer[0] == 'y' || answer[0] == 'Y');
  };
}

void WarnUnfillable(const std::vector<db::Operation>& ops, CommandEnv& env) {
  for (const auto& op : ops) {
    if (op.kind != db::Operation::Kind::kAddField) continue;
    const db::Field& f = op.fields.at(0);
    if (!f.null() && !f.default_value()) {
      *env.err << "warning: " << op.model << "." << f.name()
               << " is NOT NULL without a default: migrating a table that has rows fails; "
                  "give it .Default(...) or .Null()\n";
    }
  }
}

// MakeFor writes (or, with --check/--dry-run, only reports) app's next migration.
// Returns whether the models differ from the migrations.
bool MakeFor(const db::App& app, const MakeOptions& o, CommandEnv& env) {
  const std::string dir = !o.dir.empty() ? o.dir : app.migrations_dir();
  if (dir.empty() && !o.check) {
    throw FailedPrecondition("app '" + app.label() +
                             "' has no migrations directory: add rpcforge_add_migrations(<target> "
                             "APP " +
                             app.label() + ") to its CMakeLists.txt, or pass --dir");
  }
  std::unique_ptr<db::App> disk = dir.empty() ? nullptr : DiskApp(app, dir);
  const db::App& source = disk ? *disk : app;
  const std::vector<db::Migration> migrations =
      source.has_migrations() ? source.migrations() : std::vector<db::Migration>{};
  const db::SchemaState state = db::ReplayMigrations(migrations);
  const std::vector<db::Operation> ops = db::Autodetect(state, app.models(), Asker(o, env));
  if (ops.empty()) {
    *env.out << "No changes detected in app '" << app.label() << "'\n";
    return false;
  }
  const std::string name =
      o.name.empty() ? db::MigrationName(NextNumber(migrations), ops)
                     : db::MigrationName(NextNumber(migrations), {}).substr(0, 5) + o.name;
  const fs::path file = fs::path(dir.empty() ? "migrations" : dir) / (name + ".json");
  std::error_code ec;
  const fs::path shown = fs::relative(file, fs::current_path(ec), ec);
  *env.out << (o.check ? "Migrations missing for '" : "Migrations for '") << app.label() << "':\n  "
           << (ec || shown.empty() || *shown.begin() == ".." ? file : shown).string() << "\n";
  for (const auto& op : ops) *env.out << "    - " << op.Describe() << "\n";
  WarnUnfillable(ops, env);
  const std::string text = db::WriteMigrationFile(app.label(), name, ops);
  if (o.dry_run) *env.out << text;
  if (o.check || o.dry_run) return true;
  fs::create_directories(dir);
  std::ofstream out(file);
  out << text;
  out.close();
  if (!out) throw Unavailable("cannot write " + file.string());
  return true;
}

std::function<int(CommandEnv&)> SetupMake(CLI::App& sub) {
  auto o = std::make_shared<MakeOptions>();
  sub.add_option("app", o->app, "the app (default: every app with models)");
  sub.add_flag("--check", o->check,
               "write nothing; exit 1 when the models differ from the migrations");
  sub.add_flag("--dry-run", o->dry_run, "print the migration instead of writing it");
  sub.add_flag("--rename", o->rename,
               "treat a field (or model) that disappeared while one like it appeared as renamed "
               "(asked when stdin is a terminal)");
  sub.add_option("--name", o->name, "the migration's name after its number");
  sub.add_option("--dir", o->dir, "where to write it (default: the app's migrations directory)");
  return [o](CommandEnv& env) {
    const auto& registry = db::Registry::Global();
    bool changes = false;
    bool found = false;
    for (const auto& app : registry.apps()) {
      if (app->label() == "rpcforge" && o->app != "rpcforge") continue;
      if (!o->app.empty() && app->label() != o->app) continue;
      if (app->models().empty() && o->app.empty()) continue;
      found = true;
      if (app->models().empty()) continue;
      changes = MakeFor(*app, *o, env) || changes;
    }
    if (!found && !o->app.empty()) throw NotFound("no app '" + o->app + "'");
    if (!found) *env.out << "No changes detected (no app has models)\n";
    return o->check && changes ? 1 : 0;
  };
}

std::function<int(CommandEnv&)> SetupMigrate(CLI::App& sub) {
  auto list = std::make_shared<bool>(false);
  auto app = std::make_shared<std::string>();
  auto target = std::make_shared<std::string>();
  sub.add_option("app", *app, "migrate only this app");
  sub.add_option("target", *target,
                 "migrate the app forwards or backwards to this migration (a name or its number), "
                 "or `zero` to unapply them all");
  sub.add_flag("--list", *list, "list applied [X] and pending [ ] migrations");
  return [list, app, target](CommandEnv& env) {
    auto database = OpenDatabase(env, OpenMode::kCreate);
    const auto& registry = db::Registry::Global();
    *env.out << "Database: " << database->path() << "\n";
    if (*list) {
      db::PrintMigrations(*database, registry, *env.out);
    } else if (app->empty()) {
      db::Migrate(*database, registry, *env.out);
    } else {
      if (target->empty()) {
        const auto migrations = [&] {
          for (const auto& a : registry.apps()) {
            if (a->label() == *app) return a->migrations();
          }
          throw NotFound("no app '" + *app + "'");
        }();
        *target = migrations.empty() ? "zero" : migrations.back().name;
      }
      db::MigrateApp(*database, registry, *app, *target, *env.out);
    }
    return 0;
  };
}

}  // namespace

std::vector<std::string> SchemaProblems(const CommandEnv& env, db::Database* database) {
  const auto& registry = db::Registry::Global();
  std::vector<std::string> out = db::MissingMigrations(registry, env.app->name());
  if (database == nullptr) return out;
  const auto unapplied = db::UnappliedMigrations(*database, registry);
  if (!unapplied.empty()) {
    std::string names;
    for (const auto& n : unapplied) names += (names.empty() ? "" : ", ") + n;
    out.push_back(std::to_string(unapplied.size()) + " migration(s) not applied to " +
                  database->path() + ": " + names + "; run `" + env.app->name() + " --database " +
                  database->path() + " migrate`");
  }
  return out;
}

void RegisterMigrationCommands() {
  RegisterCommand({"migrate",
                   "Apply pending migrations; `migrate APP NAME` moves one app forwards or back "
                   "(NAME or zero); --list shows them",
                   30, SetupMigrate});
  RegisterCommand({"showmigrations", "List every app's migrations, applied [X] and pending [ ]", 31,
                   [](CLI::App&) {
                     return [](CommandEnv& env) {
                       auto database = OpenDatabase(env);
                       db::PrintMigrations(*database, db::Registry::Global(), *env.out);
                       return 0;
                     };
                   }});
  RegisterCommand({"makemigrations",
                   "Write the next migration of each app whose models changed (--check: exit 1 "
                   "instead)",
                   32, SetupMake});
  RegisterCommand({"sqlmigrate", "Print the SQL of one migration (--backwards: of undoing it)", 33,
                   [](CLI::App& sub) {
                     auto app = std::make_shared<std::string>();
                     auto name = std::make_shared<std::string>();
                     auto backwards = std::make_shared<bool>(false);
                     sub.add_option("app", *app, "the app")->required();
                     sub.add_option("name", *name, "the migration's name")->required();
                     sub.add_flag("--backwards", *backwards, "the SQL that unapplies it");
                     return [app, name, backwards](CommandEnv& env) {
                       *env.out << db::MigrationSql(db::Registry::Global(), *app, *name, *backwards,
                                                    config::DatabasePath(env.config));
                       return 0;
                     };
                   }});
}

}  // namespace rpcforge::cli_internal
