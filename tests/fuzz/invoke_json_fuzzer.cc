// SPDX-License-Identifier: Apache-2.0
// invoke_json_fuzzer feeds the input as the JSON request text of `app invoke` /
// DynamicClient::Call to rpcforge::client_internal::BuildRequests, the conversion
// Call runs before sending, twice: for a unary method (one JSON object) and for a
// client-streaming one (an array, or objects one after another). The request type is
// rpcforge.fuzz.v1.Everything (proto/rpcforge/fuzz/v1/fuzz.proto): every scalar kind,
// enums, maps, oneofs, `optional`, nesting and recursion, and the well-known types with
// special JSON forms (Timestamp, Duration, FieldMask, Struct/Value/ListValue, Any,
// wrappers, NullValue). Allowed outcomes: success, with every request parsing back as
// the request type, or an rpcforge::Error with code INVALID_ARGUMENT; anything else
// aborts as a finding.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/stubs/logging.h>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "rpcforge/client/dynamic_client.h"
#include "rpcforge/errors.h"
#include "rpcforge/fuzz/v1/fuzz.pb.h"

namespace {

void Run(const google::protobuf::MethodDescriptor& method, const std::string& json) {
  try {
    const std::vector<std::string> requests =
        rpcforge::client_internal::BuildRequests(method, json);
    if (!method.client_streaming() && requests.size() != 1) {
      rpcforge::fuzz::Finding("invoke_json_fuzzer", method.full_name() + " got " +
                                                        std::to_string(requests.size()) +
                                                        " requests, expected exactly one");
    }
    for (const std::string& bytes : requests) {
      rpcforge::fuzz::v1::Everything parsed;
      if (!parsed.ParseFromString(bytes)) {
        rpcforge::fuzz::Finding("invoke_json_fuzzer", "a built request does not parse back");
      }
    }
  } catch (const rpcforge::Error& e) {
    if (e.code() != grpc::StatusCode::INVALID_ARGUMENT) {
      rpcforge::fuzz::Finding("invoke_json_fuzzer", e);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  rpcforge::fuzz::QuietLogs();
  // protobuf logs a CHECK failure before throwing it (see ParseRequest); drop its logs.
  static const bool quiet_protobuf = [] {
    google::protobuf::SetLogHandler(nullptr);
    return true;
  }();
  (void)quiet_protobuf;
  static const google::protobuf::ServiceDescriptor* service =
      rpcforge::fuzz::v1::Everything::descriptor()->file()->FindServiceByName("FuzzService");
  const std::string json(reinterpret_cast<const char*>(data), size);
  try {
    Run(*service->FindMethodByName("Unary"), json);
    Run(*service->FindMethodByName("ClientStream"), json);
  } catch (const std::exception& e) {
    rpcforge::fuzz::Finding("invoke_json_fuzzer", e);
  }
  return 0;
}
