// SPDX-License-Identifier: Apache-2.0
// rpcforge::Signals: observers of every call (request_started, request_finished,
// got_request_exception), sent by the `signals` middleware.
#ifndef RPCFORGE_SERVER_SIGNALS_H_
#define RPCFORGE_SERVER_SIGNALS_H_

#include <grpcpp/support/status.h>

#include <exception>
#include <functional>
#include <memory>
#include <mutex>

#include "rpcforge/export.h"

namespace rpcforge {

class ServerCall;

// Signals lets C++ observers follow every call (Django's request_started,
// request_finished and got_request_exception), for all four RPC kinds. Observers run
// on the handler's thread, must be thread-safe and must not throw (what they throw is
// logged and dropped). request_finished fires after the last message of a stream.
class RPCFORGE_EXPORT Signals {
 public:
  using StartedFn = std::function<void(const ServerCall&)>;
  using FinishedFn = std::function<void(const ServerCall&, const grpc::Status&)>;
  using ExceptionFn =
      std::function<void(const ServerCall&, std::exception_ptr, const grpc::Status&)>;

  Signals();
  ~Signals();
  Signals(const Signals&) = delete;
  Signals& operator=(const Signals&) = delete;

  // Connect* registers an observer and returns an id for Disconnect. Thread-safe.
  int ConnectRequestStarted(StartedFn fn);
  int ConnectRequestFinished(FinishedFn fn);
  int ConnectGotRequestException(ExceptionFn fn);
  void Disconnect(int id);

  void SendRequestStarted(const ServerCall& call) const;
  void SendRequestFinished(const ServerCall& call, const grpc::Status& status) const;
  void SendGotRequestException(const ServerCall& call, std::exception_ptr e,
                               const grpc::Status& status) const;

 private:
  struct Observers;
  std::shared_ptr<const Observers> Snapshot() const;
  mutable std::mutex mu_;
  std::shared_ptr<const Observers> observers_;
  int next_id_ = 1;
};

}  // namespace rpcforge

#endif  // RPCFORGE_SERVER_SIGNALS_H_
