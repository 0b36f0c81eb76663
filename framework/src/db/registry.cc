// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/db/registry.h"

#include <algorithm>

#include "rpcforge/db/database.h"
#include "rpcforge/db/framework_models.h"
#include "rpcforge/errors.h"

namespace rpcforge::db {

Migration Migration::Operations(std::string name, std::vector<Operation> operations) {
  return Migration{std::move(name), std::move(operations), false};
}

Migration Migration::Sql(std::string name, std::vector<std::string> statements) {
  return Operations(std::move(name), {Operation::RunSql(std::move(statements))});
}

Migration Migration::Code(std::string name, std::function<void(Database&)> fn) {
  return Operations(std::move(name), {Operation::RunCode(std::move(fn))});
}

Migration Migration::CreateModels(std::string name, std::vector<const Model*> models) {
  std::vector<Operation> ops;
  for (const Model* model : models) ops.push_back(Operation::CreateModel(*model));
  Migration m = Operations(std::move(name), std::move(ops));
  m.from_models = true;
  return m;
}

App::App(std::string label) : label_(std::move(label)) {}

App& App::AddModel(const Model& model) {
  if (model.app_label() != label_) {
    throw InvalidArgument("model " + model.label() + " does not belong to app '" + label_ + "'");
  }
  for (const Model* m : models_) {
    if (m->label() == model.label()) return *this;
  }
  models_.push_back(&model);
  return *this;
}

App& App::AddInitialMigration() {
  return AddMigration(Migration::CreateModels("0001_initial", models_));
}

App& App::AddMigration(Migration migration) {
  for (const auto& m : migrations_) {
    if (m.name == migration.name) {
      throw InvalidArgument("app '" + label_ + "' already has a migration named '" +
                            migration.name + "'");
    }
  }
  migrations_.push_back(std::move(migration));
  return *this;
}

App& App::AddMigrationFile(std::string source, std::string text) {
  files_.emplace_back(std::move(source), std::move(text));
  return *this;
}

App& App::SetMigrationsDir(std::string dir) {
  migrations_dir_ = std::move(dir);
  return *this;
}

std::vector<Migration> App::migrations() const {
  if (!has_migrations()) {
    if (models_.empty()) return {};
    return {Migration::CreateModels("0001_initial", models_)};
  }
  std::vector<Migration> out = migrations_;
  for (const auto& [source, text] : files_) {
    Migration m = ReadMigrationFile(text, source);
    for (const auto& other : out) {
      if (other.name == m.name) {
        throw InvalidArgument(source + ": app '" + label_ + "' already has a migration named '" +
                              m.name + "'");
      }
    }
    out.push_back(std::move(m));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Migration& a, const Migration& b) { return a.name < b.name; });
  return out;
}

Registry& Registry::Global() {
  static Registry* registry = [] {
    auto* r = new Registry();
    RegisterFrameworkApp(*r);
    return r;
  }();
  return *registry;
}

App& Registry::app(const std::string& label) {
  for (auto& a : apps_) {
    if (a->label() == label) return *a;
  }
  apps_.push_back(std::make_unique<App>(label));
  return *apps_.back();
}

const Model* Registry::FindModel(const std::string& label) const noexcept {
  for (const auto& a : apps_) {
    for (const Model* m : a->models()) {
      if (m->label() == label) return m;
    }
  }
  return nullptr;
}

const Model& Registry::GetModel(const std::string& label) const {
  const Model* m = FindModel(label);
  if (m == nullptr) throw InvalidArgument("unknown model '" + label + "'");
  return *m;
}

std::vector<const Model*> Registry::models() const {
  std::vector<const Model*> out;
  for (const auto& a : apps_) {
    for (const Model* m : a->models()) out.push_back(m);
  }
  return out;
}

db_internal::AppRegistrar::AppRegistrar(const char* label, const std::function<void(App&)>& fn) {
  fn(Registry::Global().app(label));
}

db_internal::MigrationFilesRegistrar::MigrationFilesRegistrar(const char* label, const char* dir,
                                                              std::initializer_list<File> files) {
  App& app = Registry::Global().app(label);
  app.SetMigrationsDir(dir);
  for (const File& f : files) app.AddMigrationFile(f.source, f.text);
}

}  // namespace rpcforge::db
