// SPDX-License-Identifier: Apache-2.0
// rpcforge::testing::SignalRecorder records the request signals of an App while it
// lives: which method, which signal, which status.
//
//   rpcforge::testing::SignalRecorder signals(app);
//   ... make calls ...
//   EXPECT_EQ(signals.Count(SignalRecorder::kFinished, "/helloworld.Greeter/SayHello"), 1);
#ifndef RPCFORGE_TESTING_SIGNAL_RECORDER_H_
#define RPCFORGE_TESTING_SIGNAL_RECORDER_H_

#include <grpcpp/support/status.h>

#include <mutex>
#include <string>
#include <vector>

#include "rpcforge/app.h"

namespace rpcforge::testing {

// SignalRecorder is thread-safe (observers run on handler threads). It disconnects in
// its destructor; it must not outlive the App.
class SignalRecorder {
 public:
  enum Kind { kStarted, kFinished, kException };
  struct Event {
    Kind kind = kStarted;
    std::string method;                            // full name, "/pkg.Service/Method"
    grpc::StatusCode code = grpc::StatusCode::OK;  // for kFinished and kException
    std::string message;                           // status message, same
    std::string exception;           // what() of the exception for kException, if standard
    uint64_t messages_sent = 0;      // at kFinished: messages the server had sent
    uint64_t messages_received = 0;  // at kFinished
  };

  explicit SignalRecorder(App& app);
  explicit SignalRecorder(Signals& signals);
  ~SignalRecorder();
  SignalRecorder(const SignalRecorder&) = delete;
  SignalRecorder& operator=(const SignalRecorder&) = delete;

  std::vector<Event> events() const;
  // Count counts events of `kind` (for `method`, when not empty).
  size_t Count(Kind kind, const std::string& method = "") const;
  void Clear();

 private:
  void Add(Event e);
  Signals& signals_;
  int ids_[3];
  mutable std::mutex mu_;
  std::vector<Event> events_;
};

}  // namespace rpcforge::testing

#endif  // RPCFORGE_TESTING_SIGNAL_RECORDER_H_
