// SPDX-License-Identifier: Apache-2.0
// The server's implementations of Writer/Reader/Stream over gRPC's sync streams of
// byte buffers, and the parse/serialize helpers of the generated adapters. The
// adapters move raw bytes so that a message that does not parse is an error of the
// call, seen by the whole pipeline (INVALID_ARGUMENT, logged), not one gRPC answers
// before any rpcforge code runs. Included by generated adapters only.
#ifndef RPCFORGE_SERVER_INTERNAL_GRPC_STREAMS_H_
#define RPCFORGE_SERVER_INTERNAL_GRPC_STREAMS_H_

#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/sync_stream.h>

#include <cstdint>

#include "rpcforge/export.h"
#include "rpcforge/server/internal/tsan.h"
#include "rpcforge/server/middleware.h"
#include "rpcforge/server/streams.h"

namespace google::protobuf {
class Message;
}  // namespace google::protobuf

namespace rpcforge::server_internal {

// ParseMessage parses `raw` into `message` (cleared first); false when the bytes are
// not a valid message of its type (bad wire format, invalid UTF-8 in a string).
RPCFORGE_EXPORT bool ParseMessage(const grpc::ByteBuffer& raw, google::protobuf::Message* message);
// SerializeMessage writes `message` into `out`; throws rpcforge::Internal when it
// cannot (a message missing required proto2 fields).
RPCFORGE_EXPORT void SerializeMessage(const google::protobuf::Message& message,
                                      grpc::ByteBuffer* out);
// ThrowUnparsable throws rpcforge::InvalidArgument naming the type of `message`
// and, for streams, the position (1-based) of the message that did not parse (0:
// the request of a unary or server-streaming call).
[[noreturn]] RPCFORGE_EXPORT void ThrowUnparsable(const google::protobuf::Message& message,
                                                  uint64_t position);
// RouteProtobufLogs sends protobuf's own log lines to the framework's log (parse
// complaints caused by clients at debug level). Server::Start calls it; idempotent.
RPCFORGE_EXPORT void RouteProtobufLogs();

template <class T>
class GrpcWriter final : public Writer<T> {
 public:
  GrpcWriter(grpc::ServerWriter<grpc::ByteBuffer>* writer, ServerCall* call)
      : writer_(writer), call_(call) {}
  bool Write(const T& message) override {
    if (broken_) return false;
    grpc::ByteBuffer bytes;
    SerializeMessage(message, &bytes);
    TsanRelease();
    if (!writer_->Write(bytes)) {
      broken_ = true;
      return false;
    }
    call_->RecordSent(message);
    return true;
  }

 private:
  grpc::ServerWriter<grpc::ByteBuffer>* writer_;
  ServerCall* call_;
  bool broken_ = false;
};

// Read throws rpcforge::InvalidArgument when a message does not parse (the call then
// ends with that status unless the handler catches it).
template <class T>
class GrpcReader final : public Reader<T> {
 public:
  GrpcReader(grpc::ServerReader<grpc::ByteBuffer>* reader, ServerCall* call)
      : reader_(reader), call_(call) {}
  bool Read(T* message) override {
    grpc::ByteBuffer bytes;
    if (done_ || !reader_->Read(&bytes)) {
      done_ = true;
      return false;
    }
    TsanAcquire();
    ++read_;
    if (!ParseMessage(bytes, message)) ThrowUnparsable(*message, read_);
    call_->RecordReceived(*message);
    return true;
  }

 private:
  grpc::ServerReader<grpc::ByteBuffer>* reader_;
  ServerCall* call_;
  bool done_ = false;
  uint64_t read_ = 0;
};

template <class Req, class Resp>
class GrpcStream final : public Stream<Req, Resp> {
 public:
  GrpcStream(grpc::ServerReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>* stream, ServerCall* call)
      : stream_(stream), call_(call) {}
  bool Read(Req* message) override {
    grpc::ByteBuffer bytes;
    if (read_done_ || !stream_->Read(&bytes)) {
      read_done_ = true;
      return false;
    }
    TsanAcquire();
    ++read_;
    if (!ParseMessage(bytes, message)) ThrowUnparsable(*message, read_);
    call_->RecordReceived(*message);
    return true;
  }
  bool Write(const Resp& message) override {
    if (broken_) return false;
    grpc::ByteBuffer bytes;
    SerializeMessage(message, &bytes);
    TsanRelease();
    if (!stream_->Write(bytes)) {
      broken_ = true;
      return false;
    }
    call_->RecordSent(message);
    return true;
  }

 private:
  grpc::ServerReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>* stream_;
  ServerCall* call_;
  bool read_done_ = false;
  bool broken_ = false;
  uint64_t read_ = 0;
};

}  // namespace rpcforge::server_internal

#endif  // RPCFORGE_SERVER_INTERNAL_GRPC_STREAMS_H_
