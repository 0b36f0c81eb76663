// SPDX-License-Identifier: Apache-2.0
// gRPC core's own log lines go through rpcforge's logger (component "grpc"), in its
// format and at its level, instead of gRPC's raw "E1201 15:51:00.187 ... chttp2" lines
// on stderr. Private.
#ifndef RPCFORGE_SRC_SERVER_GRPC_LOG_H_
#define RPCFORGE_SRC_SERVER_GRPC_LOG_H_

namespace rpcforge::server_internal {

// RouteGrpcLogs installs the routing (once per process; later calls do nothing):
// gRPC's errors become warnings, its info and debug lines debug lines.
void RouteGrpcLogs();

// QuietGrpcErrors demotes gRPC's errors logged on this thread to debug for its
// lifetime: the server start, whose bind failure the framework explains itself
// ("Cannot listen on HOST:PORT: address already in use").
class QuietGrpcErrors {
 public:
  QuietGrpcErrors();
  ~QuietGrpcErrors();
  QuietGrpcErrors(const QuietGrpcErrors&) = delete;
  QuietGrpcErrors& operator=(const QuietGrpcErrors&) = delete;

 private:
  bool saved_;
};

}  // namespace rpcforge::server_internal

#endif  // RPCFORGE_SRC_SERVER_GRPC_LOG_H_
