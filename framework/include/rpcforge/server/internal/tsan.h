// SPDX-License-Identifier: Apache-2.0
// Happens-before edges across gRPC for ThreadSanitizer builds (RPCFORGE_SANITIZE=
// thread). Debian's gRPC and abseil are not instrumented, so TSan cannot see that a
// client thread's writes before a call happen before the handler that serves it, or
// that the handler's writes happen before the client sees the answer. The dispatcher,
// the stream wrappers and the client interceptor below publish those edges on one
// process-wide token; in every other build they compile to nothing.
#ifndef RPCFORGE_SERVER_INTERNAL_TSAN_H_
#define RPCFORGE_SERVER_INTERNAL_TSAN_H_

#include <memory>
#include <vector>

#include "rpcforge/export.h"

#if defined(RPCFORGE_TSAN)
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
#endif

namespace grpc::experimental {
class ClientInterceptorFactoryInterface;
}  // namespace grpc::experimental

namespace rpcforge::server_internal {

inline char tsan_token;

// TsanRelease: what this thread wrote so far is visible to a later TsanAcquire.
inline void TsanRelease() noexcept {
#if defined(RPCFORGE_TSAN)
  __tsan_release(&tsan_token);
#endif
}
// TsanAcquire: see what threads published with TsanRelease before now.
inline void TsanAcquire() noexcept {
#if defined(RPCFORGE_TSAN)
  __tsan_acquire(&tsan_token);
#endif
}

// TsanChannelInterceptors returns client interceptors that release before sending
// and acquire after receiving; empty unless built with RPCFORGE_TSAN.
RPCFORGE_EXPORT std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>>
TsanChannelInterceptors();

}  // namespace rpcforge::server_internal

#endif  // RPCFORGE_SERVER_INTERNAL_TSAN_H_
