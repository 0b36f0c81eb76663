// SPDX-License-Identifier: Apache-2.0
// Private: the admin port's JSON answers, as functions of the database and the query
// parameters (admin_server.cc routes to them; tests call them through HTTP).
#ifndef RPCFORGE_SRC_ADMIN_ADMIN_API_H_
#define RPCFORGE_SRC_ADMIN_ADMIN_API_H_

#include <chrono>
#include <functional>
#include <string>

#include "rpcforge/clock.h"

namespace rpcforge::db {
class Database;
}  // namespace rpcforge::db

namespace rpcforge::admin::admin_internal {

// Param returns a query parameter, or "" when absent.
using Param = std::function<std::string(const char* name)>;

// Each returns the JSON text of one answer. A bad parameter throws
// rpcforge::InvalidArgument naming it (HTTP 400).
std::string Health(const Clock& clock);
std::string Overview(db::Database& db, const Clock& clock, const Param& param);
std::string Requests(db::Database& db, const Param& param);
std::string Timeline(db::Database& db, const Clock& clock, const Param& param);
std::string Instances(db::Database& db, const Clock& clock,
                      std::chrono::milliseconds heartbeat_interval);
std::string Keys(db::Database& db, const Clock& clock);

}  // namespace rpcforge::admin::admin_internal

#endif  // RPCFORGE_SRC_ADMIN_ADMIN_API_H_
