// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/db/migrate.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "core/logging.h"
#include "db/schema_postgres.h"
#include "db/schema_sqlite.h"
#include "db/sql.h"
#include "rpcforge/db/schema.h"
#include "rpcforge/errors.h"

namespace rpcforge::db {
namespace {

void EnsureTable(Database& db) {
  const db_internal::Dialect& dialect = db_internal::DialectOf(db);
  // Under the schema lock: two processes creating it at once would collide.
  Transaction tx = db.Atomic();
  if (const std::string lock = dialect.SchemaLockSql(); !lock.empty()) db.Query(lock);
  db.Execute(dialect.MigrationsTableSql(kMigrationsTable));
  tx.Commit();
}

bool IsApplied(Database& db, const std::string& app, const std::string& name) {
  return !db.Query(std::string("SELECT 1 FROM ") + kMigrationsTable +
                       " WHERE \"app\" = ? AND \"name\" = ?",
                   {app, name})
              .empty();
}

// Plan is one app's migrations with the state before each: states[i] is the schema
// after migrations[0..i).
struct Plan {
  std::vector<Migration> migrations;
  std::vector<SchemaState> states;
};

Plan PlanFor(const App& app) {
  Plan plan;
  plan.migrations = app.migrations();
  plan.states.emplace_back();
  for (const Migration& m : plan.migrations) {
    SchemaState next = plan.states.back();
    for (const Operation& op : m.operations) {
      try {
        op.ApplyState(next);
      } catch (const InvalidArgument& e) {
        throw FailedPrecondition("migration " + app.label() + "." + m.name + ": " + e.what());
      }
    }
    plan.states.push_back(std::move(next));
  }
  return plan;
}

// Step is one operation of a migration with the states around it.
struct Step {
  const Operation* op;
  SchemaState before;
  SchemaState after;
};

std::vector<Step> StepsOf(const Plan& plan, size_t i) {
  std::vector<Step> steps;
  SchemaState state = plan.states[i];
  for (const Operation& op : plan.migrations[i].operations) {
    SchemaState next = state;
    op.ApplyState(next);
    steps.push_back({&op, std::move(state), next});
    state = std::move(next);
  }
  return steps;
}

void RunStatements(Database& db, const std::vector<db_internal::SchemaStatement>& statements) {
  for (const auto& s : statements) db.Execute(s.sql, s.params);
}

void RecordApplied(Database& db, const std::string& app, const std::string& name) {
  db.Execute(std::string("INSERT INTO ") + kMigrationsTable +
                 " (\"app\", \"name\", \"applied_at\") VALUES (?, ?, ?)",
             {app, name, Value(db.clock().Now())});
}

// Run applies (or unapplies) migration `i` of `plan` in one schema-change transaction,
// unless another process did it first. Returns whether it did.
bool Run(Database& db, const App& app, const Plan& plan, size_t i, bool backwards,
         std::ostream& out) {
  const Migration& migration = plan.migrations[i];
  const std::string full = app.label() + "." + migration.name;
  const db_internal::Dialect& dialect = db_internal::DialectOf(db);
  bool done = false;
  try {
    db.AtomicSchemaChange([&] {
      // Checked inside the write transaction, so concurrent Migrate calls agree.
      if (IsApplied(db, app.label(), migration.name) == backwards) {
        out << (backwards ? "Unapplying " : "Applying ") << full << "..." << std::flush;
        std::vector<Step> steps = StepsOf(plan, i);
        if (backwards) {
          for (auto it = steps.rbegin(); it != steps.rend(); ++it) {
            RunStatements(db, dialect.Backward(*it->op, it->before, it->after));
            if (it->op->kind == Operation::Kind::kRunCode) it->op->reverse_code(db);
          }
          db.Execute(std::string("DELETE FROM ") + kMigrationsTable +
                         " WHERE \"app\" = ? AND \"name\" = ?",
                     {app.label(), migration.name});
        } else {
          for (const Step& step : steps) {
            RunStatements(db, dialect.Forward(*step.op, step.before, step.after));
            if (step.op->kind == Operation::Kind::kRunCode) step.op->code(db);
          }
          RecordApplied(db, app.label(), migration.name);
        }
        done = true;
      }
    });
  } catch (const std::exception& e) {
    out << " FAILED\n";
    RPCFORGE_LOG_ERROR("db", "migration {} failed: {}", full, e.what());
    throw FailedPrecondition("migration " + full + (backwards ? " (backwards)" : "") +
                             " failed: " + e.what());
  }
  if (done) out << " OK\n";
  return done;
}

const App& FindApp(const Registry& registry, const std::string& label) {
  for (const auto& app : registry.apps()) {
    if (app->label() == label) return *app;
  }
  throw NotFound("no app '" + label + "'");
}

// TargetIndex is how many of the plan's migrations stay applied for `target`.
size_t TargetIndex(const App& app, const Plan& plan, const std::string& target) {
  if (target == "zero") return 0;
  std::vector<size_t> matches;
  for (size_t i = 0; i < plan.migrations.size(); ++i) {
    const std::string& name = plan.migrations[i].name;
    if (name == target) return i + 1;
    if (name.rfind(target, 0) == 0) matches.push_back(i);
  }
  if (matches.size() == 1) return matches[0] + 1;
  std::string names;
  for (const auto& m : plan.migrations) names += (names.empty() ? "" : ", ") + m.name;
  throw NotFound(std::string(matches.empty() ? "no" : "more than one") + " migration of " +
                 app.label() + " matches '" + target + "' (" + (names.empty() ? "none" : names) +
                 ", or zero)");
}

void CheckReversible(const App& app, const Migration& m) {
  for (const Operation& op : m.operations) {
    if (!op.reversible()) {
      throw FailedPrecondition("migration " + app.label() + "." + m.name +
                               " cannot be unapplied: " + op.Describe() + " has no reverse");
    }
  }
}

// TakenFromModels: a migration follows the models as they are now, so nothing can be
// compared with them (Migration::from_models).
bool TakenFromModels(const std::vector<Migration>& migrations) {
  return std::any_of(migrations.begin(), migrations.end(),
                     [](const Migration& m) { return m.from_models; });
}

}  // namespace

int Migrate(Database& db, const Registry& registry, std::ostream& out) {
  EnsureTable(db);
  int applied = 0;
  for (const auto& app : registry.apps()) {
    const Plan plan = PlanFor(*app);
    for (size_t i = 0; i < plan.migrations.size(); ++i) {
      if (IsApplied(db, app->label(), plan.migrations[i].name)) continue;
      if (Run(db, *app, plan, i, /*backwards=*/false, out)) ++applied;
    }
  }
  if (applied == 0) out << "No migrations to apply.\n";
  return applied;
}

int MigrateApp(Database& db, const Registry& registry, const std::string& label,
               const std::string& target, std::ostream& out) {
  EnsureTable(db);
  const App& app = FindApp(registry, label);
  const Plan plan = PlanFor(app);
  const size_t keep = TargetIndex(app, plan, target);
  for (size_t i = plan.migrations.size(); i > keep; --i) {
    if (IsApplied(db, label, plan.migrations[i - 1].name))
      CheckReversible(app, plan.migrations[i - 1]);
  }
  int changed = 0;
  for (size_t i = plan.migrations.size(); i > keep; --i) {
    if (Run(db, app, plan, i - 1, /*backwards=*/true, out)) ++changed;
  }
  for (size_t i = 0; i < keep; ++i) {
    if (IsApplied(db, label, plan.migrations[i].name)) continue;
    if (Run(db, app, plan, i, /*backwards=*/false, out)) ++changed;
  }
  if (changed == 0) out << "No migrations to apply.\n";
  return changed;
}

std::vector<std::string> MissingMigrations(const Registry& registry, const std::string& binary) {
  std::vector<std::string> out;
  for (const auto& app : registry.apps()) {
    if (app->models().empty()) continue;
    const auto migrations = app->migrations();
    if (TakenFromModels(migrations)) {
      continue;  // taken from the models: nothing to compare (UnwrittenMigrationApps)
    }
    const SchemaState state = ReplayMigrations(migrations);
    for (const Operation& op : Autodetect(state, app->models(), nullptr)) {
      out.push_back(op.model + ": " + op.Describe() + " (no migration has it; run `" + binary +
                    " makemigrations " + app->label() + "`)");
    }
  }
  return out;
}

std::vector<std::string> UnwrittenMigrationApps(const Registry& registry) {
  std::vector<std::string> out;
  for (const auto& app : registry.apps()) {
    if (app->models().empty() || app->label() == "rpcforge") continue;
    const auto migrations = app->migrations();
    if (TakenFromModels(migrations)) {
      out.push_back(app->label());
    }
  }
  return out;
}

std::vector<std::string> UnappliedMigrations(Database& db, const Registry& registry) {
  std::vector<std::string> out;
  for (const auto& m : ListMigrations(db, registry)) {
    if (!m.applied) out.push_back(m.app + "." + m.name);
  }
  return out;
}

std::string MigrationSql(const Registry& registry, const std::string& label,
                         const std::string& name, bool backwards, const std::string& database) {
  const App& app = FindApp(registry, label);
  const Plan plan = PlanFor(app);
  // sqlmigrate opens no database: the URL alone chooses the dialect.
  const db_internal::Dialect& dialect =
      IsPostgresUrl(database) ? db_internal::PostgresDialect() : db_internal::SqliteDialect();
  for (size_t i = 0; i < plan.migrations.size(); ++i) {
    if (plan.migrations[i].name != name) continue;
    std::vector<Step> steps = StepsOf(plan, i);
    if (backwards) std::reverse(steps.begin(), steps.end());
    std::string out = "BEGIN;\n";
    for (const Step& step : steps) {
      out += "-- " + step.op->Describe() + "\n";
      if (step.op->kind == Operation::Kind::kRunCode) {
        out += "-- (code: runs in the binary, no SQL to show)\n";
        continue;
      }
      const auto statements = backwards ? dialect.Backward(*step.op, step.before, step.after)
                                        : dialect.Forward(*step.op, step.before, step.after);
      for (const auto& s : statements) {
        std::string sql;
        size_t p = 0;
        for (char c : s.sql) {
          if (c == '?' && p < s.params.size()) {
            sql += dialect.Literal(s.params[p++]);
          } else {
            sql += c;
          }
        }
        out += sql + ";\n";
      }
    }
    return out + "COMMIT;\n";
  }
  throw NotFound("app " + label + " has no migration '" + name + "'");
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
  const db_internal::Dialect& dialect = db_internal::DialectOf(db);
  std::vector<std::string> tables;
  for (std::string& name : dialect.TableNames(db)) {
    if (name != kMigrationsTable) tables.push_back(std::move(name));
  }
  Transaction tx = db.Atomic();
  db.Execute(dialect.DeferForeignKeysSql(true));
  dialect.EmptyTables(db, tables);
  db.Execute(dialect.DeferForeignKeysSql(false));  // in case the caller's transaction goes on
  tx.Commit();
  return static_cast<int>(tables.size());
}

}  // namespace rpcforge::db
