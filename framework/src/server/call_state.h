// SPDX-License-Identifier: Apache-2.0
// CallState is the one writer of a call's identity and environment on a Context. It
// lives in a header that is not installed: the dispatcher sets the environment, the
// auth middleware the identity, and the testing library's FakeContext both; a handler
// or an application's middleware only reads them.
#ifndef RPCFORGE_SERVER_CALL_STATE_H_
#define RPCFORGE_SERVER_CALL_STATE_H_

#include <optional>
#include <utility>

#include "rpcforge/context.h"

namespace rpcforge::context_internal {

class CallState {
 public:
  static void SetUser(Context& ctx, std::optional<auth::User> user) {
    ctx.SetUser(std::move(user));
  }
  static void SetApiKey(Context& ctx, std::optional<auth::ApiKey> key) {
    ctx.SetApiKey(std::move(key));
  }
  // SetEnvironment: what the dispatcher gives every call (null clock: the real one;
  // null limits: the defaults; null database: none).
  static void SetEnvironment(Context& ctx, const MethodInfo* method, const Clock* clock,
                             db::Database* database, const InputLimits* limits) {
    ctx.SetMethod(method);
    ctx.SetClock(clock);
    ctx.SetDatabase(database);
    ctx.SetLimits(limits);
  }
  static void SetMethod(Context& ctx, const MethodInfo* method) { ctx.SetMethod(method); }
  static void SetClock(Context& ctx, const Clock* clock) { ctx.SetClock(clock); }
  static void SetDatabase(Context& ctx, db::Database* database) { ctx.SetDatabase(database); }
};

}  // namespace rpcforge::context_internal

#endif  // RPCFORGE_SERVER_CALL_STATE_H_
