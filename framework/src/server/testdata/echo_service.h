// SPDX-License-Identifier: Apache-2.0
// EchoImpl: the test service behind the framework's server tests.
#ifndef RPCFORGE_SRC_SERVER_TESTDATA_ECHO_SERVICE_H_
#define RPCFORGE_SRC_SERVER_TESTDATA_ECHO_SERVICE_H_

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#include "rpcforge/context.h"
#include "rpcforge/db/database.h"
#include "rpcforge/errors.h"
#include "server/testdata/echo.rpcforge.h"

namespace rpcforge_test {

using rpcforge::test::EchoRequest;
using rpcforge::test::EchoResponse;

class EchoImpl : public rpcforge::test::EchoServiceBase {
 public:
  EchoResponse Echo(rpcforge::Context& ctx, const EchoRequest& req) override {
    if (req.fail() == "slow_query") SlowQuery(ctx);
    // A handler that ignores cancellation (a blocking call into some library).
    if (req.fail() == "ignore_cancel") {
      std::this_thread::sleep_for(std::chrono::milliseconds(req.sleep_ms()));
    }
    Fail(ctx, req);
    if (req.wait_for_release()) WaitForRelease();
    SleepWatchingCancellation(ctx, req.sleep_ms());
    EchoResponse r;
    r.set_message(req.message());
    r.set_peer(ctx.peer());
    if (ctx.user()) r.set_user(ctx.user()->username);
    auto remaining = ctx.TimeRemaining();
    r.set_remaining_ms(remaining ? remaining->count() : -1);
    r.set_cancelled(ctx.IsCancelled());
    for (auto v : ctx.GetMetadataAll("x-echo")) ctx.AddTrailingMetadata("x-echo", v);
    if (auto b = ctx.GetMetadata("X-Data-Bin")) ctx.AddTrailingMetadata("x-data-bin", *b);
    ctx.AddInitialMetadata("x-initial", "yes");
    return r;
  }

  void Expand(rpcforge::Context& ctx, const EchoRequest& req,
              rpcforge::Writer<EchoResponse>& writer) override {
    Fail(ctx, req);
    for (int i = 0; i < req.count(); ++i) {
      if (req.abort_at() > 0 && i == req.abort_at()) {
        ctx.Abort(grpc::StatusCode::ABORTED, "stopped at " + std::to_string(i));
      }
      EchoResponse r;
      r.set_message(req.message());
      r.set_index(i);
      if (!writer.Write(r)) return;
    }
  }

  EchoResponse Collect(rpcforge::Context& ctx, rpcforge::Reader<EchoRequest>& reader) override {
    EchoResponse r;
    int n = 0;
    EchoRequest req;
    while (reader.Read(&req)) {
      Fail(ctx, req);
      if (req.abort_at() > 0 && n + 1 == req.abort_at()) {
        ctx.Abort(grpc::StatusCode::ABORTED, "stopped at " + std::to_string(n + 1));
      }
      r.mutable_message()->append(req.message());
      ++n;
    }
    r.set_index(n);
    return r;
  }

  void Chat(rpcforge::Context& ctx, rpcforge::Stream<EchoRequest, EchoResponse>& stream) override {
    EchoRequest req;
    int i = 0;
    while (stream.Read(&req)) {
      Fail(ctx, req);
      EchoResponse r;
      r.set_message(req.message());
      r.set_index(i++);
      if (!stream.Write(r)) return;
    }
  }

  // Tests hold handlers with wait_for_release and let them go with Release().
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    released_ = true;
    cv_.notify_all();
  }
  // WaitForWaiting blocks (at most 10 s) until `n` handlers wait for release.
  bool WaitForWaiting(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return waiting_ >= n; });
  }

 private:
  static void Fail(rpcforge::Context& ctx, const EchoRequest& req) {
    const std::string& f = req.fail();
    if (f.empty()) return;
    if (f == "runtime") throw std::runtime_error("database password is hunter2");
    if (f == "validation") {
      rpcforge::ValidationError err;
      err.Add("message", "This field may not be blank.");
      err.Add("count", "Ensure this value is greater than or equal to 1.");
      throw err;
    }
    if (f == "not_found") throw rpcforge::NotFound("Echo: 42 not found");
    if (f == "abort") ctx.Abort(grpc::StatusCode::FAILED_PRECONDITION, "aborted by request");
    if (f == "set_code") {
      ctx.SetCode(grpc::StatusCode::OUT_OF_RANGE);
      ctx.SetDetails("set without abort");
      return;
    }
    if (f == "bad_metadata") ctx.AddTrailingMetadata("Bad Key!", "v");
    if (f == "big_metadata") {  // 6 x 1 KiB fit the 7 KiB budget; count adds more
      for (int i = 0; i < 6 + req.count(); ++i) {
        ctx.AddTrailingMetadata("x-big-" + std::to_string(i), std::string(1000, 'a'));
      }
    }
    if (f == "int") throw 42;
  }

  void WaitForRelease() {
    std::unique_lock<std::mutex> lock(mu_);
    ++waiting_;
    cv_.notify_all();
    cv_.wait_for(lock, std::chrono::seconds(10), [&] { return released_; });
    --waiting_;
  }

  // SlowQuery runs a query that would take minutes (a recursive count to 10^10) and
  // records when and how it ended.
  void SlowQuery(rpcforge::Context& ctx) {
    struct Done {
      EchoImpl* self;
      std::string how = "returned";
      ~Done() {
        std::lock_guard<std::mutex> lock(self->mu_);
        self->slow_query_end_ = std::chrono::steady_clock::now();
        self->slow_query_outcome_ = how;
        self->cv_.notify_all();
      }
    } done{this};
    try {
      ctx.db().Query(
          "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 10000000000) "
          "SELECT count(*) FROM c");
    } catch (const rpcforge::Error& e) {
      done.how = rpcforge::StatusCodeName(e.code());
      throw;
    }
  }

 public:
  // WaitForSlowQuery waits (at most `timeout`) for a slow_query handler to end and
  // returns when it did and how ("returned" or the status code name of its error).
  std::optional<std::pair<std::chrono::steady_clock::time_point, std::string>> WaitForSlowQuery(
      std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return !slow_query_outcome_.empty(); })) {
      return std::nullopt;
    }
    return std::make_pair(slow_query_end_, slow_query_outcome_);
  }

 private:
  // Sleeps first: a call that ends in under a millisecond is logged with the handler's
  // status even when its client cancelled (request_log.h), so a cancelled sleeper
  // must take longer than that.
  static void SleepWatchingCancellation(rpcforge::Context& ctx, int ms) {
    if (ms <= 0) return;
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    do {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    } while (std::chrono::steady_clock::now() < end && !ctx.IsCancelled());
  }

  std::mutex mu_;
  std::condition_variable cv_;
  bool released_ = false;
  int waiting_ = 0;
  std::chrono::steady_clock::time_point slow_query_end_;
  std::string slow_query_outcome_;
};

}  // namespace rpcforge_test

#endif  // RPCFORGE_SRC_SERVER_TESTDATA_ECHO_SERVICE_H_
