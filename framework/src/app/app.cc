// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/app.h"

#include <algorithm>

#include "core/logging.h"
#include "rpcforge/errors.h"
#include "rpcforge/middleware/builtins.h"
#include "rpcforge/middleware/rate_limit.h"

namespace rpcforge {

App::App() : clock_(&Clock::Real()) {
  middleware_internal::Builtins builtins = middleware_internal::MakeBuiltins();
  for (auto& b : builtins.middlewares) {
    RegisterMiddleware(std::move(b.name), std::move(b.factory), std::move(b.state));
  }
  for (auto& [kind, apply] : builtins.journal_appliers) {
    RegisterJournalApplier(kind, std::move(apply));
  }
}

App::~App() = default;

App& App::Default() {
  static App* app = new App();  // never destroyed: static registrars use it anytime
  return *app;
}

void App::AddService(std::shared_ptr<Service> service) {
  if (!service) throw InvalidArgument("AddService: null service");
  for (const auto& s : services_) {
    if (std::string(s->service_full_name()) == service->service_full_name()) {
      throw AlreadyExists(std::string("Service ") + service->service_full_name() +
                          " is already registered");
    }
  }
  services_.push_back(std::move(service));
}

void App::RegisterMiddleware(std::string name, MiddlewareFactory factory, std::any state) {
  for (Registered& m : middlewares_) {
    if (m.name == name) {
      m.factory = std::move(factory);
      m.state = std::move(state);
      return;
    }
  }
  middlewares_.push_back({std::move(name), std::move(factory), std::move(state)});
}

const std::any* App::MiddlewareState(const std::string& name) const {
  for (const Registered& m : middlewares_) {
    if (m.name == name) return m.state.has_value() ? &m.state : nullptr;
  }
  return nullptr;
}

void App::RegisterJournalApplier(uint8_t kind, JournalApplier apply) {
  journal_appliers_[kind] = std::move(apply);
}

bool App::HasMiddleware(const std::string& name) const {
  return std::any_of(middlewares_.begin(), middlewares_.end(),
                     [&](const Registered& m) { return m.name == name; });
}

std::vector<std::string> App::DefaultMiddlewares() const {
  std::vector<std::string> names;
  for (const std::string& builtin : BuiltinMiddlewareNames()) {
    if (HasMiddleware(builtin)) names.push_back(builtin);
  }
  for (const Registered& m : middlewares_) {
    if (std::find(names.begin(), names.end(), m.name) == names.end()) names.push_back(m.name);
  }
  return names;
}

void App::CheckMiddlewareNames(const std::vector<std::string>& names) const {
  for (const std::string& name : names) {
    if (HasMiddleware(name)) continue;
    std::string known;
    for (const Registered& m : middlewares_) known += (known.empty() ? "" : ", ") + m.name;
    throw InvalidArgument("unknown middleware '" + name + "' (known: " + known + ")");
  }
}

std::shared_ptr<const Pipeline> App::BuildPipeline(const std::vector<std::string>& names,
                                                   const MiddlewareEnv& env) const {
  CheckMiddlewareNames(names);
  std::vector<std::shared_ptr<Middleware>> chain;
  for (const std::string& name : names) {
    auto it = std::find_if(middlewares_.begin(), middlewares_.end(),
                           [&](const Registered& m) { return m.name == name; });
    auto middleware = it->factory(env);
    if (middleware) chain.push_back(std::move(middleware));
  }
  return std::make_shared<const Pipeline>(std::move(chain));
}

void App::OnShutdown(std::function<void()> hook) { shutdown_hooks_.push_back(std::move(hook)); }

void App::RunShutdownHooks() const {
  for (const auto& hook : shutdown_hooks_) {
    try {
      hook();
    } catch (const std::exception& e) {
      RPCFORGE_LOG_ERROR("server", "shutdown hook failed: {}", e.what());
    } catch (...) {
      RPCFORGE_LOG_ERROR("server", "shutdown hook failed");
    }
  }
}

// Declared with the rate-limit middleware (rpcforge/middleware/rate_limit.h), defined
// here because it reads the App (the middleware layer is below it).
std::shared_ptr<RateLimiter> AppRateLimiter(App& app) {
  const std::any* state = app.MiddlewareState("rate_limit");
  const auto* limiter = state ? std::any_cast<std::shared_ptr<RateLimiter>>(state) : nullptr;
  if (limiter == nullptr || *limiter == nullptr) {
    throw FailedPrecondition(
        "AppRateLimiter: the app's \"rate_limit\" middleware is not the built-in one "
        "(re-registered?); use RateLimitMiddlewareFactory with your own RateLimiter");
  }
  return *limiter;
}

void AddRateLimit(App& app, RateLimitRule rule) { AppRateLimiter(app)->AddRule(std::move(rule)); }

}  // namespace rpcforge
