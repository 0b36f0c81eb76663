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
#include <memory>
#include <string>
#include <vector>

#include "rpcforge/db/model.h"
#include "rpcforge/export.h"

namespace rpcforge::db {

class Database;

// Migration is one named, ordered schema change of an app. Migrate runs each in its
// own Atomic() scope, so a failing migration leaves the schema as it was (SQLite DDL is
// transactional). Copyable.
struct RPCFORGE_EXPORT Migration {
  std::string name;                      // "0002_post_views"; unique within the app
  std::function<void(Database&)> apply;  // runs inside the migration's transaction

  // Sql runs `statements` in order.
  static Migration Sql(std::string name, std::vector<std::string> statements);
  // Code runs `fn` (data migrations; may use models and queries).
  static Migration Code(std::string name, std::function<void(Database&)> fn);
  // CreateModels creates the tables (and indexes) of `models`, in order. The models
  // must outlive the migration.
  static Migration CreateModels(std::string name, std::vector<const Model*> models);
};

// App groups the models and migrations of one application label ("blog").
// When no migration is added explicitly, the app's migrations are one
// "0001_initial" = CreateModels(all its models). Once you add migrations explicitly,
// the first must create the tables (AddInitialMigration does that), because a derived
// initial migration would follow later model edits and clash with your ALTERs.
class RPCFORGE_EXPORT App {
 public:
  explicit App(std::string label);

  // AddModel registers `model` (its app_label must equal this app's label; throws
  // rpcforge::InvalidArgument otherwise). `model` must outlive the registry.
  App& AddModel(const Model& model);
  // AddInitialMigration appends "0001_initial" creating every model added so far.
  App& AddInitialMigration();
  // AddMigration appends `migration` (names must be unique within the app).
  App& AddMigration(Migration migration);

  const std::string& label() const noexcept { return label_; }
  const std::vector<const Model*>& models() const noexcept { return models_; }
  // migrations returns the explicit migrations, or the derived initial one.
  std::vector<Migration> migrations() const;

 private:
  std::string label_;
  std::vector<const Model*> models_;
  std::vector<Migration> migrations_;
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
