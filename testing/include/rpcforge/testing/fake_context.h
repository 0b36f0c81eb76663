// SPDX-License-Identifier: Apache-2.0
// rpcforge::testing::FakeContext implements rpcforge::Context for calling a handler
// as an ordinary C++ method, with no server in between. No gtest dependency.
//
//   rpcforge::testing::FakeContext ctx;
//   ctx.AddMetadata("x-api-key", "...").SetPeer("ipv4:10.0.0.1:1234").SetUser(alice);
//   Greeter greeter;
//   EXPECT_THROW(greeter.SayHello(ctx, MakeRequest("John")), rpcforge::AbortError);
//   EXPECT_TRUE(ctx.aborted());
//   EXPECT_EQ(ctx.abort_status(), grpc::StatusCode::INVALID_ARGUMENT);
//   EXPECT_EQ(ctx.trailing("x-greeted"), "John");        // std::optional: no crash
#ifndef RPCFORGE_TESTING_FAKE_CONTEXT_H_
#define RPCFORGE_TESTING_FAKE_CONTEXT_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "rpcforge/app.h"
#include "rpcforge/context.h"
#include "rpcforge/server/middleware.h"

namespace google::protobuf {
class Message;
}  // namespace google::protobuf

namespace rpcforge::testing {

// FakeContext: one per direct call (or Reset() between calls). Not thread-safe,
// except IsCancelled/Cancel, which a test may call from another thread.
class FakeContext : public Context {
 public:
  FakeContext();
  ~FakeContext() override;

  // --- What the test sets (chainable) ---------------------------------------------
  // AddMetadata adds invocation metadata, as a client would send it (key lower-cased).
  FakeContext& AddMetadata(std::string key, std::string value);
  FakeContext& SetPeer(std::string peer);  // default "ipv4:127.0.0.1:50000"
  FakeContext& SetDeadline(std::chrono::system_clock::time_point deadline);
  // SetTimeout: deadline = clock().Now() + timeout. The deadline is measured on the
  // context's clock (SetClock): a FakeClock's Advance past it cancels the call and
  // TimeRemaining follows it.
  FakeContext& SetTimeout(std::chrono::milliseconds timeout);
  FakeContext& Cancel();
  // What the framework sets on a served call: the identity the auth middleware found
  // (a user, an API key), the application's database, clock and the method.
  FakeContext& SetUser(auth::User user);
  FakeContext& SetApiKey(auth::ApiKey key);
  FakeContext& SetDatabase(db::Database* database);
  FakeContext& SetClock(const Clock* clock);
  FakeContext& SetMethod(const MethodInfo* method);

  // --- Context --------------------------------------------------------------------
  std::optional<std::string_view> GetMetadata(std::string_view key) const override;
  std::vector<std::string_view> GetMetadataAll(std::string_view key) const override;
  Metadata InvocationMetadata() const override;
  std::string peer() const override { return peer_; }
  std::optional<std::chrono::system_clock::time_point> deadline() const override {
    return deadline_;
  }
  bool IsCancelled() const override;
  void AddInitialMetadata(std::string_view key, std::string_view value) override;
  void AddTrailingMetadata(std::string_view key, std::string_view value) override;

  // --- What the test reads --------------------------------------------------------
  // abort_status is the code passed to Abort (OK while not aborted; see aborted()).
  grpc::StatusCode abort_status() const { return abort_code(); }
  const std::multimap<std::string, std::string>& initial_metadata() const { return initial_; }
  const std::multimap<std::string, std::string>& trailing_metadata() const { return trailing_; }
  // initial / trailing return the first value set for `key`, or nullopt: compare with
  // EXPECT_EQ(ctx.trailing("k"), "v") for a readable failure when it is missing.
  std::optional<std::string> initial(std::string_view key) const;
  std::optional<std::string> trailing(std::string_view key) const;

  // Reset clears everything (metadata both ways, peer, deadline, cancellation, status,
  // abort, identity; database, clock and method stay) for reuse in another call.
  void Reset();

 protected:
  std::chrono::system_clock::time_point DeadlineNow() const override;

 private:
  std::vector<std::pair<std::string, std::string>> invocation_;
  std::multimap<std::string, std::string> initial_;
  std::multimap<std::string, std::string> trailing_;
  size_t initial_bytes_ = 0;
  size_t trailing_bytes_ = 0;
  std::string peer_;
  std::optional<std::chrono::system_clock::time_point> deadline_;
  std::atomic<bool> cancelled_{false};
};

// CallThroughPipeline runs a direct handler call through `app`'s middleware chain
// (the named middlewares, or the app's defaults), as the server would, and returns the
// final status: for testing middlewares without a server. `request` may be null.
//
//   auto status = CallThroughPipeline(app, ctx, greeter.methods()[0], &request,
//       [&](rpcforge::Context& c) { reply = greeter.SayHello(c, request); });
grpc::Status CallThroughPipeline(App& app, FakeContext& ctx, const MethodInfo& method,
                                 const google::protobuf::Message* request,
                                 const std::function<void(Context&)>& handler,
                                 const std::vector<std::string>& middlewares = {},
                                 MiddlewareEnv env = {});

// FindMethod returns the MethodInfo of `service`'s method `name`; throws
// rpcforge::NotFound when there is none.
const MethodInfo& FindMethod(const Service& service, std::string_view name);

}  // namespace rpcforge::testing

#endif  // RPCFORGE_TESTING_FAKE_CONTEXT_H_
