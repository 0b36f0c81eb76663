// SPDX-License-Identifier: Apache-2.0
// Client-side code of the sample: what a caller of the Greeter writes. Tested with
// grpc's generated MockGreeterStub, no server needed.
#ifndef SAMPLES_HELLOWORLD_SRC_GREETING_CLIENT_H_
#define SAMPLES_HELLOWORLD_SRC_GREETING_CLIENT_H_

#include <string>
#include <vector>

#include "helloworld/v1/helloworld.grpc.pb.h"

namespace helloworld {

// GreetAll asks the Greeter to greet each name and returns the greetings; a refused
// name yields "(refused: <message>)" instead of failing the whole batch.
std::vector<std::string> GreetAll(v1::Greeter::StubInterface& stub,
                                  const std::vector<std::string>& names);

}  // namespace helloworld

#endif  // SAMPLES_HELLOWORLD_SRC_GREETING_CLIENT_H_
