// SPDX-License-Identifier: Apache-2.0
// App::Main: the command line every application binary shares.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>
#include <map>
#include <mutex>

#include "cli/commands.h"
#include "core/logging.h"
#include "rpcforge/app.h"
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

int RunMain(App& app, int argc, char** argv, std::ostream& out, std::ostream& err) {
  static std::once_flag registered;
  std::call_once(registered, [] {
    RegisterServeCommands();
    RegisterDatabaseCommands();
    RegisterIntegrationCommand();
    RegisterInvokeCommand();
    RegisterObservabilityCommands();
    RegisterAuthCommands();
    RegisterModelCommands();
  });
  CLI::App cli(app.name() + ": an rpcforge application", app.name());
  cli.require_subcommand(1);
  cli.fallthrough();
  std::string config_file;
  std::string database;
  std::string log_level;
  cli.add_option("-c,--config", config_file, "YAML config file (see docs/configuration.md)");
  cli.add_option("--database", database, "SQLite database path (database.path)");
  cli.add_option("--log-level", log_level, "trace, debug, info, warn, error or off");

  std::map<std::string, std::function<int(CommandEnv&)>> runners;
  std::map<std::string, CLI::App*> subs;
  for (const Command& command : Commands()) {
    CLI::App* sub = cli.add_subcommand(command.name, command.description);
    runners[command.name] = command.setup(*sub);
    subs[command.name] = sub;
  }

  // Name an unknown command plainly (CLI11 would only say one is required).
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-c" || arg == "--config" || arg == "--database" || arg == "--log-level") {
      ++i;  // the option's value
      continue;
    }
    if (arg.empty() || arg[0] == '-') continue;
    if (subs.count(arg) == 0) {
      std::string known;
      for (const auto& [name, sub] : subs) known += (known.empty() ? "" : ", ") + name;
      err << "error: unknown command '" << arg << "' (commands: " << known << ")\n";
      return 2;
    }
    break;
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

  CommandEnv env;
  env.app = &app;
  env.config_file = config_file;
  env.out = &out;
  env.err = &err;
  for (int i = 0; i < argc; ++i) env.argv.emplace_back(argv[i]);

  config::Sources sources;
  sources.file = config_file;
  if (!database.empty())
    sources.overrides.push_back({"database.path", database, "flag --database"});
  if (!log_level.empty()) {
    sources.overrides.push_back({"logging.level", log_level, "flag --log-level"});
  }
  std::string command_name;
  for (auto& [name, sub] : subs) {
    if (sub->parsed()) command_name = name;
  }
  // Command-specific flags that map to config keys ("serve --address").
  for (const Command& command : Commands()) {
    if (command.name != command_name) continue;
    CLI::App* sub = subs[command.name];
    if (auto* opt = sub->get_option_no_throw("--address"); opt && opt->count() > 0) {
      sources.overrides.push_back({"server.address", opt->as<std::string>(), "flag --address"});
    }
  }
  config::LoadResult loaded = config::Load(sources);
  if (!loaded.ok()) {
    err << "config error" << (loaded.errors.size() > 1 ? "s" : "") << ":\n" << loaded.ErrorText();
    return 2;
  }
  env.config = std::move(loaded.config);
  log::SetLevel(config::LoggingLevel(env.config));
  log::SetFormat(config::LoggingFormat(env.config));

  try {
    return runners[command_name](env);
  } catch (const Error& e) {
    err << "error: " << e.message() << "\n";
    return 1;
  } catch (const std::exception& e) {
    err << "error: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace cli_internal

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
