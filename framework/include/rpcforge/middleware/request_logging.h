// SPDX-License-Identifier: Apache-2.0
// The "request_logging" middleware: one request-log row per call
// (rpcforge/logging/request_log.h), configured in the config's `request_log` section.
// Registered on every App, third in the default chain, so its row records what the
// later middlewares (auth, rate limits) decided.
#ifndef RPCFORGE_MIDDLEWARE_REQUEST_LOGGING_H_
#define RPCFORGE_MIDDLEWARE_REQUEST_LOGGING_H_

#include <memory>

#include "rpcforge/export.h"
#include "rpcforge/logging/request_log.h"
#include "rpcforge/server/pipeline.h"

namespace rpcforge::logging {

// RequestLoggingMiddleware writes one row per call through a RequestLogWriter. It
// sets `call.stats().measure_sizes` before running the rest of the chain.
class RPCFORGE_EXPORT RequestLoggingMiddleware : public Middleware {
 public:
  RequestLoggingMiddleware(std::shared_ptr<RequestLogWriter> writer, const Clock* clock);
  // The writer flushes and stops when the last middleware holding it goes away.
  ~RequestLoggingMiddleware() override;

  grpc::Status Handle(ServerCall& call, Next next) override;
  // Flush writes every queued row (RequestLogWriter::Flush).
  void Flush() override;

  RequestLogWriter& writer() { return *writer_; }

  // FromEnv is the "request_logging" factory: null (the middleware is skipped) when
  // the env has no database or `request_log.enabled` is false. It writes through
  // `env.group_commit` when the server provides one.
  static std::shared_ptr<Middleware> FromEnv(const MiddlewareEnv& env);

 private:
  std::shared_ptr<RequestLogWriter> writer_;
  const Clock* clock_;
};

}  // namespace rpcforge::logging

#endif  // RPCFORGE_MIDDLEWARE_REQUEST_LOGGING_H_
