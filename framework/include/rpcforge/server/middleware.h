// SPDX-License-Identifier: Apache-2.0
// Everything a middleware is written with: the pipeline (rpcforge/server/pipeline.h:
// ServerCall, Next, Middleware, MiddlewareEnv, Pipeline) and Signals
// (rpcforge/server/signals.h). The built-in middlewares have a header each in
// rpcforge/middleware/; rpcforge/middleware/builtins.h says which exist and in what
// order they run.
#ifndef RPCFORGE_SERVER_MIDDLEWARE_H_
#define RPCFORGE_SERVER_MIDDLEWARE_H_

#include "rpcforge/server/pipeline.h"
#include "rpcforge/server/signals.h"

#endif  // RPCFORGE_SERVER_MIDDLEWARE_H_
