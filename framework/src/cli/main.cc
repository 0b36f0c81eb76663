// SPDX-License-Identifier: Apache-2.0
// App::Main: the command line every application binary shares.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>
#include <map>
#include <mutex>

#include "cli/commands.h"
#include "core/logging.h"
#include "core/strings.h"
#include "rpcforge/app.h"
#include "rpcforge/db/errors.h"
#include "rpcforge/errors.h"

namespace rpcforge {
namespace cli_internal {
namespace {
std::vector<Command>& Registry() {
  static auto* commands = new std::vector<Command>();
  return *commands;
}
}  // namespace

void RegisterCommand(Command command) {
  auto& commands = Registry();
  commands.erase(std::remove_if(commands.begin(), commands.end(),
                                [&](const Command& c) { return c.name == command.name; }),
                 commands.end());
  commands.push_back(std::move(command));
  std::stable_sort(commands.begin(), commands.end(),
                   [](const Command& a, const Command& b) { return a.order < b.order; });
}

const std::vector<Command>& Commands() { return Registry(); }

namespace {

// UnknownCommand returns the first non-flag argument when it names no command ("" when
// it does or there is none): CLI11 would only say that a command is required.
std::string UnknownCommand(int argc, char** argv, const std::map<std::string, CLI::App*>& subs) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-c" || arg == "--config" || arg == "--database" || arg == "--log-level") {
      ++i;  // the option's value
      continue;
    }
    if (arg.empty() || arg[0] == '-') continue;
    return subs.count(arg) == 0 ? arg : "";
  }
  return "";
}

// GlobalFlags are the options every command takes.
struct GlobalFlags {
  std::string config_file;
  std::string database;
  std::string log_level;
};

// ConfigSources: the file, then the flags that map to config keys (the global ones and
// the command's own "--address").
config::Sources ConfigSources(const GlobalFlags& flags, CLI::App* command) {
  config::Sources sources;
  sources.file = flags.config_file;
  if (!flags.database.empty()) {
    sources.overrides.push_back({"database.path", flags.database, "flag --database"});
  }
  if (!flags.log_level.empty()) {
    sources.overrides.push_back({"logging.level", flags.log_level, "flag --log-level"});
  }
  if (auto* opt = command ? command->get_option_no_throw("--address") : nullptr;
      opt && opt->count() > 0) {
    sources.overrides.push_back({"server.address", opt->as<std::string>(), "flag --address"});
  }
  return sources;
}

void RegisterBuiltinCommands() {
  static std::once_flag registered;
  std::call_once(registered, [] {
    RegisterServeCommands();
    RegisterDatabaseCommands();
    RegisterMigrationCommands();
    RegisterIntegrationCommand();
    RegisterInvokeCommand();
    RegisterObservabilityCommands();
    RegisterAuthCommands();
    RegisterModelCommands();
  });
}

}  // namespace

int RunMain(App& app, int argc, char** argv, std::ostream& out, std::ostream& err) {
  RegisterBuiltinCommands();
  std::vector<std::string> arg_strings =
      GrpcurlStyleArgs(std::vector<std::string>(argv, argv + argc));
  std::vector<char*> arg_pointers;
  for (std::string& a : arg_strings) arg_pointers.push_back(a.data());
  arg_pointers.push_back(nullptr);
  argv = arg_pointers.data();
  CLI::App cli(app.name() + ": an rpcforge application", app.name());
  cli.require_subcommand(1);
  cli.fallthrough();
  GlobalFlags flags;
  cli.add_option("-c,--config", flags.config_file, "YAML config file (see docs/configuration.md)");
  cli.add_option("--database", flags.database, "SQLite database path (database.path)");
  cli.add_option("--log-level", flags.log_level, "trace, debug, info, warn, error or off");

  std::map<std::string, std::function<int(CommandEnv&)>> runners;
  std::map<std::string, CLI::App*> subs;
  for (const Command& command : Commands()) {
    CLI::App* sub = cli.add_subcommand(command.name, command.description);
    runners[command.name] = command.setup(*sub);
    subs[command.name] = sub;
  }
  if (const std::string unknown = UnknownCommand(argc, argv, subs); !unknown.empty()) {
    std::vector<std::string> known;
    for (const auto& [name, sub] : subs) known.push_back(name);
    err << "error: unknown command '" << unknown << "' (commands: " << strings::Join(known)
        << ")\n";
    return 2;
  }
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {
      // --help (of the app or of a command) and --version: CLI11 prints the right one.
      return cli.exit(e, out, err);
    }
    err << "error: " << e.what() << "\n";
    err << "Run with --help for usage.\n";
    return 2;
  }
  std::string command_name;
  for (auto& [name, sub] : subs) {
    if (sub->parsed()) command_name = name;
  }

  config::LoadResult loaded = config::Load(ConfigSources(flags, subs[command_name]));
  if (!loaded.ok()) {
    err << "config error" << (loaded.errors.size() > 1 ? "s" : "") << ":\n" << loaded.ErrorText();
    return 2;
  }
  CommandEnv env;
  env.app = &app;
  env.config_file = flags.config_file;
  env.out = &out;
  env.err = &err;
  for (int i = 0; i < argc; ++i) env.argv.emplace_back(argv[i]);
  env.config = std::move(loaded.config);
  log::SetLevel(config::LoggingLevel(env.config));
  log::SetFormat(config::LoggingFormat(env.config));
  try {
    return runners[command_name](env);
  } catch (const db::DatabaseError& e) {
    // An operator's tool: the database's own message, and what to do about a schema
    // that is not there.
    err << "error: " << config::DatabasePath(env.config) << ": " << e.what();
    if (std::string_view(e.what()).find("no such table") != std::string_view::npos) {
      err << "; the database is not migrated: " << MigrateHint(env);
    }
    err << "\n";
    return 1;
  } catch (const Error& e) {
    err << "error: " << e.message() << "\n";
    return 1;
  } catch (const std::exception& e) {
    err << "error: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace cli_internal

int Main(int argc, char** argv) { return App::Default().Main(argc, argv); }

int App::Main(int argc, char** argv) {
  if (argc > 0 && name_ == "rpcforge") {
    std::string self = argv[0];
    auto slash = self.rfind('/');
    name_ = slash == std::string::npos ? self : self.substr(slash + 1);
  }
  return cli_internal::RunMain(*this, argc, argv, std::cout, std::cerr);
}

int App::Run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  std::vector<std::string> all;
  all.reserve(args.size() + 1);
  all.push_back(name_);
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  return cli_internal::RunMain(*this, static_cast<int>(argv.size()), argv.data(), out, err);
}

}  // namespace rpcforge
