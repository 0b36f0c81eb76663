// SPDX-License-Identifier: Apache-2.0
// `app integration-test`: the IntegrationRunner as a command of every application.
#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "rpcforge/testing/integration_runner.h"

namespace rpcforge::cli_internal {

void RegisterIntegrationCommand() {
  RegisterCommand(
      {"integration-test",
       "Prove this build end to end: start it on a temporary database and check "
       "descriptors, readiness, keys, auth, request logs and shutdown",
       80, [](CLI::App& sub) {
         auto options = std::make_shared<testing::IntegrationOptions>();
         sub.add_option("--service", options->services,
                        "a service to exercise (repeatable; default: all)");
         sub.add_flag("--quiet", options->quiet, "print failures only");
         sub.add_option("--junit", options->junit_file, "write JUnit XML to this file");
         sub.add_flag("--keep", options->keep, "keep the temporary database directory");
         sub.add_option("--examples", options->examples_file,
                        "JSON file: {\"pkg.Service/Method\": {request}, ...}");
         sub.add_option("--binary", options->binary, "the binary to start (default: this one)");
         auto ready = std::make_shared<int>(30000);
         sub.add_option("--ready-timeout-ms", *ready,
                        "how long the server may take to become healthy (default 30000)");
         return [options, ready](CommandEnv& env) {
           testing::IntegrationOptions run = *options;
           run.config_file = env.config_file;
           run.ready_timeout = std::chrono::milliseconds(*ready);
           testing::IntegrationRunner runner(*env.app, env.config, run);
           return runner.Run(*env.out);
         };
       }});
}

}  // namespace rpcforge::cli_internal
