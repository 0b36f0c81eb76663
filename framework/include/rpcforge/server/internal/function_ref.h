// SPDX-License-Identifier: Apache-2.0
// FunctionRef: a non-owning reference to a callable (like absl::FunctionRef), so the
// per-call path never allocates for a lambda. The callable must outlive the ref.
#ifndef RPCFORGE_SERVER_INTERNAL_FUNCTION_REF_H_
#define RPCFORGE_SERVER_INTERNAL_FUNCTION_REF_H_

#include <memory>
#include <type_traits>
#include <utility>

namespace rpcforge::server_internal {

template <class Sig>
class FunctionRef;

template <class R, class... Args>
class FunctionRef<R(Args...)> {
 public:
  template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, FunctionRef>>>
  FunctionRef(F&& f) noexcept  // NOLINT(google-explicit-constructor): used like a lambda
      : obj_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
        call_([](void* obj, Args... args) -> R {
          return (*static_cast<std::remove_reference_t<F>*>(obj))(std::forward<Args>(args)...);
        }) {}

  R operator()(Args... args) const { return call_(obj_, std::forward<Args>(args)...); }

 private:
  void* obj_;
  R (*call_)(void*, Args...);
};

}  // namespace rpcforge::server_internal

#endif  // RPCFORGE_SERVER_INTERNAL_FUNCTION_REF_H_
