// SPDX-License-Identifier: Apache-2.0
#include "server/grpc_log.h"

#include <grpc/support/log.h>

#include <mutex>

#include "core/logging.h"

namespace rpcforge::server_internal {
namespace {

thread_local bool t_quiet = false;

void OnGrpcLog(gpr_log_func_args* args) {
  const char* message = args->message != nullptr ? args->message : "";
  if (args->severity == GPR_LOG_SEVERITY_ERROR && !t_quiet) {
    RPCFORGE_LOG_WARN("grpc", "{} ({}:{})", message, args->file, args->line);
  } else {
    RPCFORGE_LOG_DEBUG("grpc", "{} ({}:{})", message, args->file, args->line);
  }
}

}  // namespace

void RouteGrpcLogs() {
  static std::once_flag once;
  std::call_once(once, [] {
    gpr_set_log_verbosity(GPR_LOG_SEVERITY_DEBUG);  // the filtering is rpcforge's level
    gpr_set_log_function(&OnGrpcLog);
  });
}

QuietGrpcErrors::QuietGrpcErrors() : saved_(t_quiet) { t_quiet = true; }
QuietGrpcErrors::~QuietGrpcErrors() { t_quiet = saved_; }

}  // namespace rpcforge::server_internal
