// SPDX-License-Identifier: Apache-2.0
// Private logging helpers for framework code: fmt-style formatting, evaluated only
// when the level is enabled.
#ifndef RPCFORGE_SRC_CORE_LOGGING_H_
#define RPCFORGE_SRC_CORE_LOGGING_H_

#include <spdlog/fmt/fmt.h>

#include "rpcforge/log.h"

#define RPCFORGE_LOG(level, component, ...)                                 \
  do {                                                                      \
    if (::rpcforge::log::ShouldLog(level)) {                                \
      ::rpcforge::log::Write(level, ::fmt::format(__VA_ARGS__), component); \
    }                                                                       \
  } while (false)

#define RPCFORGE_LOG_DEBUG(component, ...) \
  RPCFORGE_LOG(::rpcforge::log::Level::kDebug, component, __VA_ARGS__)
#define RPCFORGE_LOG_INFO(component, ...) \
  RPCFORGE_LOG(::rpcforge::log::Level::kInfo, component, __VA_ARGS__)
#define RPCFORGE_LOG_WARN(component, ...) \
  RPCFORGE_LOG(::rpcforge::log::Level::kWarn, component, __VA_ARGS__)
#define RPCFORGE_LOG_ERROR(component, ...) \
  RPCFORGE_LOG(::rpcforge::log::Level::kError, component, __VA_ARGS__)

#endif  // RPCFORGE_SRC_CORE_LOGGING_H_
