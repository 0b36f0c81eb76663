// SPDX-License-Identifier: Apache-2.0
// Parsing and serializing the messages of the generated adapters (grpc_streams.h).
#include <google/protobuf/message.h>
#include <google/protobuf/stubs/logging.h>
#include <grpcpp/impl/codegen/proto_utils.h>

#include <mutex>
#include <string>

#include "core/logging.h"
#include "rpcforge/errors.h"
#include "rpcforge/server/internal/grpc_streams.h"

namespace rpcforge::server_internal {

bool ParseMessage(const grpc::ByteBuffer& raw, google::protobuf::Message* message) {
  // Deserialize consumes its buffer; the copy shares the slices, not the bytes.
  grpc::ByteBuffer copy(raw);
  return grpc::SerializationTraits<google::protobuf::Message>::Deserialize(&copy, message).ok();
}

void SerializeMessage(const google::protobuf::Message& message, grpc::ByteBuffer* out) {
  bool own_buffer = false;
  const grpc::Status status =
      grpc::SerializationTraits<google::protobuf::Message>::Serialize(message, out, &own_buffer);
  if (!status.ok()) {
    throw Internal("Cannot serialize the response " + message.GetTypeName() + ": " +
                   status.error_message());
  }
}

void ThrowUnparsable(const google::protobuf::Message& message, uint64_t position) {
  const std::string what =
      position == 0 ? "The request" : "Message " + std::to_string(position) + " of the stream";
  throw InvalidArgument(what + " is not a valid " + message.GetTypeName() +
                        " (malformed protobuf or invalid UTF-8 in a string field)");
}

namespace {
// Protobuf reports a request with invalid UTF-8 as an ERROR on stderr, once per call:
// any client could flood the log with it. Parse complaints are the client's problem
// (the call already ends INVALID_ARGUMENT), so they go to the debug log.
void ProtobufLog(google::protobuf::LogLevel level, const char* file, int line,
                 const std::string& message) {
  const bool parsing = message.find("parsing") != std::string::npos;
  switch (level) {
    case google::protobuf::LOGLEVEL_INFO:
      RPCFORGE_LOG_DEBUG("protobuf", "{}:{}: {}", file, line, message);
      break;
    case google::protobuf::LOGLEVEL_WARNING:
    case google::protobuf::LOGLEVEL_ERROR:
      if (parsing) {
        RPCFORGE_LOG_DEBUG("protobuf", "{}:{}: {}", file, line, message);
      } else {
        RPCFORGE_LOG_WARN("protobuf", "{}:{}: {}", file, line, message);
      }
      break;
    default:
      RPCFORGE_LOG_ERROR("protobuf", "{}:{}: {}", file, line, message);
  }
}
}  // namespace

void RouteProtobufLogs() {
  static std::once_flag once;
  std::call_once(once, [] { google::protobuf::SetLogHandler(&ProtobufLog); });
}

}  // namespace rpcforge::server_internal
