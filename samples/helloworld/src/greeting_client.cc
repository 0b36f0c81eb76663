// SPDX-License-Identifier: Apache-2.0
#include "greeting_client.h"

#include <grpcpp/client_context.h>

#include <chrono>

namespace helloworld {

std::vector<std::string> GreetAll(v1::Greeter::StubInterface& stub,
                                  const std::vector<std::string>& names) {
  std::vector<std::string> greetings;
  for (const std::string& name : names) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    v1::HelloRequest request;
    request.set_name(name);
    v1::HelloReply reply;
    grpc::Status status = stub.SayHello(&ctx, request, &reply);
    greetings.push_back(status.ok() ? reply.message()
                                    : "(refused: " + status.error_message() + ")");
  }
  return greetings;
}

}  // namespace helloworld
