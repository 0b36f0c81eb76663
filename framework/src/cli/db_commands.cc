// SPDX-License-Identifier: Apache-2.0
// Database commands: migrate, loaddata, dumpdata.
#include <CLI/CLI.hpp>

#include "cli/commands.h"

namespace rpcforge::cli_internal {

void RegisterDatabaseCommands() {}

}  // namespace rpcforge::cli_internal
