// SPDX-License-Identifier: Apache-2.0
// Fake Writer, Reader and Stream for calling streaming handlers directly.
//
//   rpcforge::testing::FakeWriter<HelloReply> writer;
//   greeter.LotsOfReplies(ctx, request, writer);
//   EXPECT_EQ(writer.messages().size(), 3);
//
//   rpcforge::testing::FakeReader<HelloRequest> reader({Req("a"), Req("b")});
//   HelloReply reply = greeter.LotsOfGreetings(ctx, reader);
#ifndef RPCFORGE_TESTING_FAKE_STREAMS_H_
#define RPCFORGE_TESTING_FAKE_STREAMS_H_

#include <cstddef>
#include <limits>
#include <utility>
#include <vector>

#include "rpcforge/server/streams.h"

namespace rpcforge::testing {

// FakeWriter collects what the handler writes. FailAfter(n) makes every write after
// the n-th return false, as when a client goes away mid-stream.
template <class T>
class FakeWriter : public Writer<T> {
 public:
  bool Write(const T& message) override {
    ++attempts_;
    if (messages_.size() >= fail_after_) return false;
    messages_.push_back(message);
    return true;
  }
  FakeWriter& FailAfter(size_t n) {
    fail_after_ = n;
    return *this;
  }
  const std::vector<T>& messages() const { return messages_; }
  // attempts counts every Write call, including the failed ones.
  size_t attempts() const { return attempts_; }
  void Clear() {
    messages_.clear();
    attempts_ = 0;
  }

 private:
  std::vector<T> messages_;
  size_t fail_after_ = std::numeric_limits<size_t>::max();
  size_t attempts_ = 0;
};

// FakeReader hands out the given messages in order, then reports the end of stream.
template <class T>
class FakeReader : public Reader<T> {
 public:
  FakeReader() = default;
  explicit FakeReader(std::vector<T> messages) : messages_(std::move(messages)) {}
  bool Read(T* message) override {
    if (next_ >= messages_.size()) return false;
    *message = messages_[next_++];
    return true;
  }
  // consumed counts the messages the handler has read.
  size_t consumed() const { return next_; }

 private:
  std::vector<T> messages_;
  size_t next_ = 0;
};

// FakeStream is both, for bidi handlers.
template <class Req, class Resp>
class FakeStream : public Stream<Req, Resp> {
 public:
  FakeStream() = default;
  explicit FakeStream(std::vector<Req> requests) : reader_(std::move(requests)) {}
  bool Read(Req* message) override { return reader_.Read(message); }
  bool Write(const Resp& message) override { return writer_.Write(message); }
  FakeStream& FailAfter(size_t n) {
    writer_.FailAfter(n);
    return *this;
  }
  const std::vector<Resp>& messages() const { return writer_.messages(); }
  size_t consumed() const { return reader_.consumed(); }

 private:
  FakeReader<Req> reader_;
  FakeWriter<Resp> writer_;
};

}  // namespace rpcforge::testing

#endif  // RPCFORGE_TESTING_FAKE_STREAMS_H_
