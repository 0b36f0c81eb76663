// SPDX-License-Identifier: Apache-2.0
// CommitOptionsFromConfig: the group commit the config's `request_log` section
// describes (mode, queue size, batch size). The server's group commit, which the
// request log's rows and the API-key usage counts share, and a RequestLogWriter with a
// group commit of its own both take theirs from here. Private.
#ifndef RPCFORGE_SRC_SERVER_COMMIT_OPTIONS_H_
#define RPCFORGE_SRC_SERVER_COMMIT_OPTIONS_H_

#include "rpcforge/config/config.h"
#include "rpcforge/db/group_commit.h"

namespace rpcforge::server_internal {

// CommitOptionsFromConfig reads `config` (null = defaults); sizes are at least 1.
db::GroupCommit::Options CommitOptionsFromConfig(const config::v1::Config* config);

}  // namespace rpcforge::server_internal

#endif  // RPCFORGE_SRC_SERVER_COMMIT_OPTIONS_H_
