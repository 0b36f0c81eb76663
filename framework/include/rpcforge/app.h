// SPDX-License-Identifier: Apache-2.0
// rpcforge::App is an application: its services, middlewares, signals and shutdown
// hooks, and the command line every application binary shares (`serve`, `check`,
// `migrate`, ...). Most applications use the process-wide App::Default() through the
// registration macro and `rpcforge::Main`:
//
//   class Greeter : public helloworld::GreeterBase { ... };
//   RPCFORGE_REGISTER_SERVICE(Greeter);
//
//   int main(int argc, char** argv) { return rpcforge::Main(argc, argv); }
#ifndef RPCFORGE_APP_H_
#define RPCFORGE_APP_H_

#include <any>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "rpcforge/clock.h"
#include "rpcforge/export.h"
#include "rpcforge/server/middleware.h"
#include "rpcforge/server/service.h"

namespace rpcforge {

class App;
namespace db {
class Database;
}  // namespace db

namespace app_internal {
// kHasImplementedBy<T>: T derives from a generated base with ImplementedBy<T>().
template <class T, class = void>
inline constexpr bool kHasImplementedBy = false;
template <class T>
inline constexpr bool kHasImplementedBy<T, std::void_t<decltype(T::template ImplementedBy<T>())>> =
    true;
}  // namespace app_internal

// App: configure it (add services and middlewares) before starting servers; after
// that it is read concurrently by the servers and must not be changed. The App must
// outlive every server built from it.
class RPCFORGE_EXPORT App {
 public:
  App();
  ~App();
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  // Default is the process-wide App used by RPCFORGE_REGISTER_SERVICE and Main.
  static App& Default();

  // AddService registers a service. Throws rpcforge::AlreadyExists when a service of
  // the same full name is already registered.
  void AddService(std::shared_ptr<Service> service);
  // AddService<T>(args...) also records which handlers T implements, for `check`.
  template <class T, class... Args>
  std::shared_ptr<T> AddService(Args&&... args) {
    auto service = std::make_shared<T>(std::forward<Args>(args)...);
    if constexpr (app_internal::kHasImplementedBy<T>) {
      service->SetImplemented(T::template ImplementedBy<T>());
    }
    AddService(service);
    return service;
  }
  const std::vector<std::shared_ptr<Service>>& services() const { return services_; }

  // RegisterMiddleware makes `name` usable in the config's `middlewares` list. `state`
  // is what the factory's middlewares share and others may reach through the App (the
  // built-in "rate_limit" registers its RateLimiter, see AppRateLimiter). A later
  // registration of the same name replaces the earlier one, state included.
  void RegisterMiddleware(std::string name, MiddlewareFactory factory, std::any state = {});
  bool HasMiddleware(const std::string& name) const;
  // MiddlewareState is the state registered with `name`; null when `name` is not
  // registered or has none.
  const std::any* MiddlewareState(const std::string& name) const;

  // DefaultMiddlewares is the chain used when the config names none: the built-ins
  // still registered, in their order (rpcforge/middleware/builtins.h), then the
  // application's own middlewares in registration order.
  std::vector<std::string> DefaultMiddlewares() const;

  // CheckMiddlewareNames throws rpcforge::InvalidArgument naming the first unknown
  // middleware in `names` and listing the known ones.
  void CheckMiddlewareNames(const std::vector<std::string>& names) const;

  // BuildPipeline instantiates the named middlewares in order. Throws
  // rpcforge::InvalidArgument naming an unknown middleware and listing the known ones.
  std::shared_ptr<const Pipeline> BuildPipeline(const std::vector<std::string>& names,
                                                const MiddlewareEnv& env) const;

  // JournalApplier applies the payloads of one batch of journal records of one kind
  // (rpcforge/db/journal.h), in order, inside the replay's transaction.
  using JournalApplier =
      std::function<void(db::Database& db, const std::vector<std::string>& payloads)>;
  // RegisterJournalApplier says how records of `kind` are applied when a server starts
  // (or a command opens the database) and finds the journal of a process that died.
  // The built-in middlewares register theirs (request-log rows, API-key uses); a later
  // registration of the same kind replaces the earlier one.
  void RegisterJournalApplier(uint8_t kind, JournalApplier apply);
  // journal_appliers are the registered appliers, by kind.
  const std::map<uint8_t, JournalApplier>& journal_appliers() const { return journal_appliers_; }

  // signals are the app's request signals (all servers of the app send them).
  Signals& signals() { return signals_; }

  // OnShutdown adds a hook every server of this app runs once when it shuts down.
  void OnShutdown(std::function<void()> hook);
  void RunShutdownHooks() const;

  // SetClock replaces the clock the app's servers and components read (tests pass a
  // FakeClock). The clock must outlive the app's servers.
  void SetClock(const Clock* clock) { clock_ = clock ? clock : &Clock::Real(); }
  const Clock& clock() const { return *clock_; }

  // name is shown by --help and in logs; defaults to the binary's name.
  void set_name(std::string name) { name_ = std::move(name); }
  const std::string& name() const { return name_; }

  // Main runs the command line (see docs/commands.md) and returns the exit code.
  int Main(int argc, char** argv);

  // Run runs one command line in this process, `args` without the program name
  // (e.g. {"--database", "x.db", "migrate"}), writing to `out` and `err` instead of
  // stdout/stderr; returns the exit code. For tests of an application's commands.
  int Run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

 private:
  std::vector<std::shared_ptr<Service>> services_;
  struct Registered {
    std::string name;
    MiddlewareFactory factory;
    std::any state;
  };
  std::vector<Registered> middlewares_;
  std::vector<std::function<void()>> shutdown_hooks_;
  std::map<uint8_t, JournalApplier> journal_appliers_;
  Signals signals_;
  const Clock* clock_;
  std::string name_ = "rpcforge";
};

// Main is App::Default().Main(argc, argv): the whole main() of an application.
RPCFORGE_EXPORT int Main(int argc, char** argv);

namespace app_internal {
template <class T>
struct ServiceRegistrar {
  ServiceRegistrar() { App::Default().AddService<T>(); }
};
}  // namespace app_internal

}  // namespace rpcforge

#define RPCFORGE_INTERNAL_CONCAT2(a, b) a##b
#define RPCFORGE_INTERNAL_CONCAT(a, b) RPCFORGE_INTERNAL_CONCAT2(a, b)

// RPCFORGE_REGISTER_SERVICE(Type) registers a default-constructed `Type` on
// App::Default() at static-initialization time (put it in the .cc defining Type; link
// that file as an OBJECT library or into the binary so the linker keeps it).
#define RPCFORGE_REGISTER_SERVICE(Type)                                                   \
  static const ::rpcforge::app_internal::ServiceRegistrar<Type> RPCFORGE_INTERNAL_CONCAT( \
      rpcforge_service_registrar_, __COUNTER__)

#endif  // RPCFORGE_APP_H_
