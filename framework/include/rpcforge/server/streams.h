// SPDX-License-Identifier: Apache-2.0
// The stream interfaces streaming handlers receive: Writer<T> (server streaming),
// Reader<T> (client streaming) and Stream<Req, Resp> (bidi). The server implements
// them over the gRPC sync streams; rpcforge::testing provides fakes.
//
//   void ListFeatures(Context& ctx, const Rect& req, Writer<Feature>& out) {
//     for (const auto& f : features) if (!out.Write(f)) return;  // client gone
//   }
#ifndef RPCFORGE_SERVER_STREAMS_H_
#define RPCFORGE_SERVER_STREAMS_H_

#include <optional>

namespace rpcforge {

// Writer sends response messages. Write blocks until the message is handed to the
// transport (flow control applies) and returns false once the stream is broken (the
// client cancelled or disconnected); later writes keep returning false. Used by the
// handler thread only; valid for the duration of the handler.
template <class T>
class Writer {
 public:
  virtual ~Writer() = default;
  virtual bool Write(const T& message) = 0;
};

// Reader receives request messages. Read blocks until a message arrives and returns
// true, or returns false at the end of the stream (the client half-closed, cancelled or
// disconnected). Used by the handler thread only.
template <class T>
class Reader {
 public:
  virtual ~Reader() = default;
  virtual bool Read(T* message) = 0;

  // Next is Read returning the message by value: nullopt at the end of the stream.
  std::optional<T> Next() {
    T message;
    if (!Read(&message)) return std::nullopt;
    return message;
  }
};

// Stream is both: a bidi handler reads requests and writes responses in any order.
template <class Req, class Resp>
class Stream : public Reader<Req>, public Writer<Resp> {};

}  // namespace rpcforge

#endif  // RPCFORGE_SERVER_STREAMS_H_
