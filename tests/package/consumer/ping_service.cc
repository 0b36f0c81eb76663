// SPDX-License-Identifier: Apache-2.0
#include <rpcforge/app.h>
#include <rpcforge/errors.h>

#include "consumer/v1/ping.rpcforge.h"

namespace consumer {

class Pinger : public v1::PingerBase {
 public:
  v1::PingReply Ping(rpcforge::Context&, const v1::PingRequest& request) override {
    if (request.text().empty()) throw rpcforge::ValidationError("text", "required");
    v1::PingReply reply;
    reply.set_text("pong: " + request.text());
    return reply;
  }
};

RPCFORGE_REGISTER_SERVICE(Pinger);

}  // namespace consumer
