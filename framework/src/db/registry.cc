// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/db/registry.h"

#include "rpcforge/db/database.h"
#include "rpcforge/db/framework_models.h"
#include "rpcforge/errors.h"

namespace rpcforge::db {

Migration Migration::Sql(std::string name, std::vector<std::string> statements) {
  return Migration{std::move(name), [statements = std::move(statements)](Database& db) {
                     for (const auto& sql : statements) db.Execute(sql);
                   }};
}

Migration Migration::Code(std::string name, std::function<void(Database&)> fn) {
  return Migration{std::move(name), std::move(fn)};
}

Migration Migration::CreateModels(std::string name, std::vector<const Model*> models) {
  return Migration{std::move(name), [models = std::move(models)](Database& db) {
                     for (const Model* model : models) {
                       for (const auto& sql : model->CreateSql()) db.Execute(sql);
                     }
                   }};
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

std::vector<Migration> App::migrations() const {
  if (!migrations_.empty() || models_.empty()) return migrations_;
  return {Migration::CreateModels("0001_initial", models_)};
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

}  // namespace rpcforge::db
