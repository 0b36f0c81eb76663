// SPDX-License-Identifier: Apache-2.0
// rpcforge::Service is the base of every generated `<Service>Base` class; an
// application registers instances of its subclasses on the `rpcforge::App`.
//
//   class Greeter : public helloworld::GreeterBase {
//     helloworld::HelloReply SayHello(rpcforge::Context&, const HelloRequest&) override;
//   };
//   RPCFORGE_REGISTER_SERVICE(Greeter);
#ifndef RPCFORGE_SERVER_SERVICE_H_
#define RPCFORGE_SERVER_SERVICE_H_

#include <memory>
#include <utility>
#include <vector>

#include "rpcforge/export.h"
#include "rpcforge/server/method.h"

namespace grpc {
class Service;
}  // namespace grpc

namespace rpcforge {

class Dispatcher;

// Service: one gRPC service implemented with rpcforge handlers. A service object is
// shared by all calls and all threads; handlers must not keep per-request state in
// members (use the Context). Owned by the App (shared_ptr); must outlive its servers.
class RPCFORGE_EXPORT Service {
 public:
  virtual ~Service();

  // service_full_name is the protobuf name, e.g. "helloworld.Greeter".
  virtual const char* service_full_name() const = 0;

  // methods describes every method, in .proto order. The vector lives forever.
  virtual const std::vector<MethodInfo>& methods() const = 0;

  // CreateAdapter returns the grpc::Service that routes each method through
  // `dispatcher` to this object's handlers. Generated; `dispatcher` and `*this` must
  // outlive the adapter.
  virtual std::unique_ptr<grpc::Service> CreateAdapter(Dispatcher& dispatcher) = 0;

  // implemented tells, per method (in methods() order), whether this object's class
  // overrides the handler; the others answer UNIMPLEMENTED. Empty when unknown (a
  // service added as a plain pointer rather than through App::AddService<T>).
  const std::vector<bool>& implemented() const { return implemented_; }
  void SetImplemented(std::vector<bool> implemented) { implemented_ = std::move(implemented); }

 private:
  std::vector<bool> implemented_;
};

}  // namespace rpcforge

#endif  // RPCFORGE_SERVER_SERVICE_H_
