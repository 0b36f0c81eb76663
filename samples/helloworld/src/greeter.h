// SPDX-License-Identifier: Apache-2.0
// The helloworld Greeter: service logic only; main.cc has no logic of its own.
#ifndef SAMPLES_HELLOWORLD_SRC_GREETER_H_
#define SAMPLES_HELLOWORLD_SRC_GREETER_H_

#include "helloworld/v1/helloworld.rpcforge.h"

namespace helloworld {

// [greeter_class]
class Greeter : public v1::GreeterBase {
 public:
  v1::HelloReply SayHello(rpcforge::Context& ctx, const v1::HelloRequest& request) override;
  void LotsOfReplies(rpcforge::Context& ctx, const v1::HelloRequest& request,
                     rpcforge::Writer<v1::HelloReply>& writer) override;
  v1::HelloReply LotsOfGreetings(rpcforge::Context& ctx,
                                 rpcforge::Reader<v1::HelloRequest>& reader) override;
  void BidiHello(rpcforge::Context& ctx,
                 rpcforge::Stream<v1::HelloRequest, v1::HelloReply>& stream) override;
};
// [greeter_class end]

}  // namespace helloworld

#endif  // SAMPLES_HELLOWORLD_SRC_GREETER_H_
