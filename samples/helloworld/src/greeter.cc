// SPDX-License-Identifier: Apache-2.0
#include "greeter.h"

#include <rpcforge/app.h>
#include <rpcforge/errors.h>

#include <string>
#include <vector>

namespace helloworld {
namespace {

void CheckName(rpcforge::Context& ctx, const std::string& name) {
  if (name.empty()) {
    throw rpcforge::ValidationError("name", "This field may not be blank.");
  }
  // The name goes back in a trailer, and clients refuse metadata beyond 8-16 KiB.
  if (name.size() > 100) {
    throw rpcforge::ValidationError("name", "Ensure this field has no more than 100 characters.");
  }
  if (name == "John") {
    ctx.Abort(grpc::StatusCode::INVALID_ARGUMENT, "Cannot say hello to John");
  }
}

v1::HelloReply Reply(std::string message) {
  v1::HelloReply reply;
  reply.set_message(std::move(message));
  return reply;
}

}  // namespace

// [say_hello]
v1::HelloReply Greeter::SayHello(rpcforge::Context& ctx, const v1::HelloRequest& request) {
  CheckName(ctx, request.name());
  ctx.AddTrailingMetadata("x-greeted", request.name());
  return Reply("Hello, " + request.name() + "!");
}
// [say_hello end]

void Greeter::LotsOfReplies(rpcforge::Context& ctx, const v1::HelloRequest& request,
                            rpcforge::Writer<v1::HelloReply>& writer) {
  CheckName(ctx, request.name());
  const int count = request.count() == 0 ? 3 : request.count();
  if (count < 0 || count > 100) {
    throw rpcforge::ValidationError("count", "Ensure this value is between 0 and 100.");
  }
  for (int i = 1; i <= count; ++i) {
    if (!writer.Write(Reply("Hello, " + request.name() + "! (" + std::to_string(i) + ")"))) {
      return;  // the client went away
    }
  }
}

v1::HelloReply Greeter::LotsOfGreetings(rpcforge::Context& ctx,
                                        rpcforge::Reader<v1::HelloRequest>& reader) {
  std::vector<std::string> names;
  v1::HelloRequest request;
  while (reader.Read(&request)) {
    CheckName(ctx, request.name());
    names.push_back(request.name());
  }
  if (names.empty()) return Reply("Hello, nobody!");
  std::string all = names[0];
  for (size_t i = 1; i < names.size(); ++i) {
    all += (i + 1 == names.size() ? " and " : ", ") + names[i];
  }
  return Reply("Hello, " + all + "!");
}

void Greeter::BidiHello(rpcforge::Context& ctx,
                        rpcforge::Stream<v1::HelloRequest, v1::HelloReply>& stream) {
  v1::HelloRequest request;
  while (stream.Read(&request)) {
    CheckName(ctx, request.name());
    if (!stream.Write(Reply("Hello, " + request.name() + "!"))) return;
  }
}

// [register]
RPCFORGE_REGISTER_SERVICE(Greeter);
// [register end]

}  // namespace helloworld
