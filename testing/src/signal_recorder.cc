// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/testing/signal_recorder.h"

namespace rpcforge::testing {

SignalRecorder::SignalRecorder(App& app) : SignalRecorder(app.signals()) {}

SignalRecorder::SignalRecorder(Signals& signals) : signals_(signals) {
  ids_[0] = signals_.ConnectRequestStarted([this](const ServerCall& call) {
    Event e;
    e.kind = kStarted;
    e.method = call.method().full_name;
    Add(std::move(e));
  });
  ids_[1] =
      signals_.ConnectRequestFinished([this](const ServerCall& call, const grpc::Status& status) {
        Event e;
        e.kind = kFinished;
        e.method = call.method().full_name;
        e.code = status.error_code();
        e.message = status.error_message();
        e.messages_sent = call.stats().messages_sent;
        e.messages_received = call.stats().messages_received;
        Add(std::move(e));
      });
  ids_[2] = signals_.ConnectGotRequestException(
      [this](const ServerCall& call, std::exception_ptr ex, const grpc::Status& status) {
        Event e;
        e.kind = kException;
        e.method = call.method().full_name;
        e.code = status.error_code();
        e.message = status.error_message();
        try {
          std::rethrow_exception(ex);
        } catch (const std::exception& err) {
          e.exception = err.what();
        } catch (...) {
          e.exception = "(non-standard exception)";
        }
        Add(std::move(e));
      });
}

SignalRecorder::~SignalRecorder() {
  for (int id : ids_) signals_.Disconnect(id);
}

void SignalRecorder::Add(Event e) {
  std::lock_guard<std::mutex> lock(mu_);
  events_.push_back(std::move(e));
}

std::vector<SignalRecorder::Event> SignalRecorder::events() const {
  std::lock_guard<std::mutex> lock(mu_);
  return events_;
}

size_t SignalRecorder::Count(Kind kind, const std::string& method) const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (const auto& e : events_) {
    if (e.kind == kind && (method.empty() || e.method == method)) ++n;
  }
  return n;
}

void SignalRecorder::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  events_.clear();
}

}  // namespace rpcforge::testing
