// SPDX-License-Identifier: Apache-2.0
// The server's implementations of Writer/Reader/Stream over gRPC's sync streams.
// Included by generated adapters only.
#ifndef RPCFORGE_SERVER_INTERNAL_GRPC_STREAMS_H_
#define RPCFORGE_SERVER_INTERNAL_GRPC_STREAMS_H_

#include <grpcpp/support/sync_stream.h>

#include "rpcforge/server/internal/tsan.h"
#include "rpcforge/server/middleware.h"
#include "rpcforge/server/streams.h"

namespace rpcforge::server_internal {

template <class T>
class GrpcWriter final : public Writer<T> {
 public:
  GrpcWriter(grpc::ServerWriter<T>* writer, ServerCall* call) : writer_(writer), call_(call) {}
  bool Write(const T& message) override {
    if (broken_) return false;
    TsanRelease();
    if (!writer_->Write(message)) {
      broken_ = true;
      return false;
    }
    call_->RecordSent(message);
    return true;
  }

 private:
  grpc::ServerWriter<T>* writer_;
  ServerCall* call_;
  bool broken_ = false;
};

template <class T>
class GrpcReader final : public Reader<T> {
 public:
  GrpcReader(grpc::ServerReader<T>* reader, ServerCall* call) : reader_(reader), call_(call) {}
  bool Read(T* message) override {
    if (done_ || !reader_->Read(message)) {
      done_ = true;
      return false;
    }
    TsanAcquire();
    call_->RecordReceived(*message);
    return true;
  }

 private:
  grpc::ServerReader<T>* reader_;
  ServerCall* call_;
  bool done_ = false;
};

template <class Req, class Resp>
class GrpcStream final : public Stream<Req, Resp> {
 public:
  GrpcStream(grpc::ServerReaderWriter<Resp, Req>* stream, ServerCall* call)
      : stream_(stream), call_(call) {}
  bool Read(Req* message) override {
    if (read_done_ || !stream_->Read(message)) {
      read_done_ = true;
      return false;
    }
    TsanAcquire();
    call_->RecordReceived(*message);
    return true;
  }
  bool Write(const Resp& message) override {
    if (broken_) return false;
    TsanRelease();
    if (!stream_->Write(message)) {
      broken_ = true;
      return false;
    }
    call_->RecordSent(message);
    return true;
  }

 private:
  grpc::ServerReaderWriter<Resp, Req>* stream_;
  ServerCall* call_;
  bool read_done_ = false;
  bool broken_ = false;
};

}  // namespace rpcforge::server_internal

#endif  // RPCFORGE_SERVER_INTERNAL_GRPC_STREAMS_H_
