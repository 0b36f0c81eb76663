// SPDX-License-Identifier: Apache-2.0
// rpcforge::db::Registry is where applications declare their models and migrations,
// app by app, the way Django's INSTALLED_APPS + migrations folders do. The framework's
// own app, "rpcforge", is always registered first in `Registry::Global()`.
//
//   RPCFORGE_REGISTER_APP(blog, [](rpcforge::db::App& app) {
//     app.AddModel(AuthorModel()).AddModel(PostModel());   // 0001_initial derived
//     app.AddMigration(rpcforge::db::Migration::Sql(
//         "0002_post_views", {"ALTER TABLE blog_post ADD COLUMN views INTEGER"}));
//   });
#ifndef RPCFORGE_DB_REGISTRY_H_
#define RPCFORGE_DB_REGISTRY_H_

#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "rpcforge/db/model.h"
#include "rpcforge/db/schema.h"
#include "rpcforge/export.h"

namespace rpcforge::db {

class Database;

// Migration is one named, ordered schema change of an app: a list of operations
// (rpcforge/db/schema.h). Migrate runs each migration in its own transaction, so a
// failing migration leaves the schema as it was (SQLite DDL is transactional).
// Migration files written by `makemigrations` (and embedded by the CMake helper
// rpcforge_add_migrations) are the usual source; these factories are for code.
// Copyable.
struct RPCFORGE_EXPORT Migration {
  std::string name;  // "0002_post_views"; unique within the app
  std::vector<Operation> operations;
  // from_models is true when the operations were taken from the models as they are
  // now (CreateModels, AddInitialMigration, the derived initial migration): a model
  // change then changes the migration too, so nothing can tell it is missing.
  bool from_models = false;

  // Operations runs `operations` in order.
  static Migration Operations(std::string name, std::vector<Operation> operations);
  // Sql runs `statements` in order (irreversible; use Operation::RunSql for a reverse).
  static Migration Sql(std::string name, std::vector<std::string> statements);
  // Code runs `fn` (data migrations; may use models and queries; irreversible).
  static Migration Code(std::string name, std::function<void(Database&)> fn);
  // CreateModels creates the tables (and indexes) of `models`, as they are now.
  static Migration CreateModels(std::string name, std::vector<const Model*> models);
};

// App groups the models and migrations of one application label ("blog").
// Its migrations are, in name order, those added with AddMigration and those of its
// migration files (AddMigrationFile; the CMake helper rpcforge_add_migrations embeds
// an app's `migrations/*.json` and calls it). When there are none, the app gets one
// "0001_initial" creating its models as they are now (`from_models`): fine for a first
// try, but `check` warns, because a later model change goes unnoticed; run
// `makemigrations` to write the first migration file.
class RPCFORGE_EXPORT App {
 public:
  explicit App(std::string label);

  // AddModel registers `model` (its app_label must equal this app's label; throws
  // rpcforge::InvalidArgument otherwise). `model` must outlive the registry.
  App& AddModel(const Model& model);
  // AddInitialMigration appends "0001_initial" creating every model added so far, as
  // it is now (see `from_models`; prefer makemigrations).
  App& AddInitialMigration();
  // AddMigration adds `migration` (names must be unique within the app).
  App& AddMigration(Migration migration);
  // AddMigrationFile adds the migration file `text`; `source` names it in errors. It is
  // parsed when the migrations are first read (a bad file throws
  // rpcforge::InvalidArgument from migrations(), naming `source`).
  App& AddMigrationFile(std::string source, std::string text);
  // SetMigrationsDir is where makemigrations writes this app's new migration files.
  App& SetMigrationsDir(std::string dir);
  const std::string& migrations_dir() const noexcept { return migrations_dir_; }

  const std::string& label() const noexcept { return label_; }
  const std::vector<const Model*>& models() const noexcept { return models_; }
  // migrations returns the migrations in name order, or the derived initial one.
  std::vector<Migration> migrations() const;
  // code_migrations are the migrations added with AddMigration (not from files).
  const std::vector<Migration>& code_migrations() const noexcept { return migrations_; }
  // has_migrations is false when migrations() is only the derived initial migration.
  bool has_migrations() const noexcept { return !migrations_.empty() || !files_.empty(); }

 private:
  std::string label_;
  std::vector<const Model*> models_;
  std::vector<Migration> migrations_;
  std::vector<std::pair<std::string, std::string>> files_;  // (source, text)
  std::string migrations_dir_;
};

// Registry holds apps in registration order (migrations run app by app in that order;
// register an app after the apps its foreign keys point to). Thread-compatible:
// register everything before serving, then read from any thread.
class RPCFORGE_EXPORT Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Global is the process-wide registry RPCFORGE_REGISTER_APP fills; the "rpcforge"
  // app (framework_models.h) is registered on first use.
  static Registry& Global();

  // app returns the app `label`, creating it at the end of the order if new.
  App& app(const std::string& label);
  const std::vector<std::unique_ptr<App>>& apps() const noexcept { return apps_; }

  // FindModel looks up a model by label ("blog.post"); nullptr when unknown.
  const Model* FindModel(const std::string& label) const noexcept;
  // GetModel is FindModel that throws rpcforge::InvalidArgument "unknown model 'x'".
  const Model& GetModel(const std::string& label) const;
  // models returns every registered model in app order.
  std::vector<const Model*> models() const;

 private:
  std::vector<std::unique_ptr<App>> apps_;
};

namespace db_internal {
struct AppRegistrar {
  AppRegistrar(const char* label, const std::function<void(App&)>& fn);
};
// MigrationFilesRegistrar is what the code rpcforge_add_migrations generates uses.
struct RPCFORGE_EXPORT MigrationFilesRegistrar {
  struct File {
    const char* source;
    const char* text;
  };
  MigrationFilesRegistrar(const char* label, const char* dir, std::initializer_list<File> files);
};
}  // namespace db_internal

}  // namespace rpcforge::db

// RPCFORGE_REGISTER_APP(label, fn) registers app `label` in Registry::Global() at static
// initialization, calling `fn(App&)` to add its models and migrations. Put it in a .cc
// file of the executable (or an object library): a static library's unreferenced
// object files are dropped by the linker, and their registrations with them.
#define RPCFORGE_REGISTER_APP(label, ...)                                                \
  static const ::rpcforge::db::db_internal::AppRegistrar rpcforge_app_registrar_##label( \
      #label, __VA_ARGS__)

#endif  // RPCFORGE_DB_REGISTRY_H_
