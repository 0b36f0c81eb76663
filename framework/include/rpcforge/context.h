// SPDX-License-Identifier: Apache-2.0
// rpcforge::Context is what every handler receives: the request's metadata, peer,
// deadline and cancellation; the response's initial and trailing metadata; the
// authenticated identity; the database; and `Abort`.
//
//   helloworld::HelloReply SayHello(rpcforge::Context& ctx, const HelloRequest& req) {
//     if (req.name() == "John") ctx.Abort(grpc::StatusCode::INVALID_ARGUMENT, "...");
//     ctx.AddTrailingMetadata("x-greeted", req.name());
//     ...
//   }
//
// The server implements it over grpc::ServerContext; rpcforge::testing::FakeContext
// implements it for direct calls in tests.
#ifndef RPCFORGE_CONTEXT_H_
#define RPCFORGE_CONTEXT_H_

#include <grpcpp/support/status.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rpcforge/auth/identity.h"
#include "rpcforge/clock.h"
#include "rpcforge/export.h"
#include "rpcforge/limits.h"
#include "rpcforge/server/method.h"

namespace rpcforge {
namespace db {
class Database;
}  // namespace db
namespace context_internal {
class CallState;  // the framework's writer of call state: framework/src/server/call_state.h
}  // namespace context_internal

// Metadata is an ordered list of (key, value) pairs. Keys are lower case; values of
// keys ending in "-bin" are raw bytes (gRPC base64-encodes them on the wire).
using Metadata = std::vector<std::pair<std::string, std::string>>;

// Context is the per-request view a handler has of its call. One Context exists per
// RPC and is used by one handler thread at a time; it is not thread-safe. It lives
// until the call finishes; nothing obtained from it may be kept beyond the call.
class RPCFORGE_EXPORT Context {
 public:
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  virtual ~Context();

  // --- Request --------------------------------------------------------------------

  // GetMetadata returns the first value the client sent for `key` (compared
  // case-insensitively), or nullopt. Binary ("-bin") values are already decoded.
  // The view stays valid for the whole call.
  virtual std::optional<std::string_view> GetMetadata(std::string_view key) const = 0;

  // GetMetadataAll returns every value sent for `key`, in order.
  virtual std::vector<std::string_view> GetMetadataAll(std::string_view key) const = 0;

  // InvocationMetadata returns a copy of all the client's metadata (keys lower case).
  virtual Metadata InvocationMetadata() const = 0;

  // peer returns the transport's address of the client, e.g. "ipv4:127.0.0.1:5555",
  // "ipv6:[::1]:5555" or "inproc"; never a value taken from client metadata.
  virtual std::string peer() const = 0;

  // deadline returns the call's deadline, or nullopt when the client set none.
  virtual std::optional<std::chrono::system_clock::time_point> deadline() const = 0;

  // TimeRemaining returns the time left before the deadline (zero when past it), or
  // nullopt when there is no deadline.
  std::optional<std::chrono::milliseconds> TimeRemaining() const;

  // IsCancelled is true once the client cancelled or the deadline passed. On the
  // server it asks gRPC, which polls its completion queue (tens of microseconds): call
  // it between units of work, not per row.
  virtual bool IsCancelled() const = 0;

  // --- Response -------------------------------------------------------------------

  // AddInitialMetadata queues a header sent before the first response message (or
  // with the status when there is none). Keys are lower-cased; a key that is not valid
  // gRPC metadata ([0-9a-z_.-], not starting with "grpc-"), or a non-"-bin" value with
  // characters outside printable ASCII, throws std::invalid_argument (an INTERNAL
  // status for the client, the detail in the log). So does going over
  // kMaxResponseMetadataBytes of headers (or of trailers) in one call: clients refuse
  // responses whose metadata passes 8 KiB. Calls after the first message has been
  // sent are ignored by gRPC.
  virtual void AddInitialMetadata(std::string_view key, std::string_view value) = 0;

  // AddTrailingMetadata queues a trailer sent with the final status; same rules.
  virtual void AddTrailingMetadata(std::string_view key, std::string_view value) = 0;

  // SetCode and SetDetails set the status the call ends with when the handler returns
  // normally (as Python's `context.set_code`). Ignored when the handler throws.
  void SetCode(grpc::StatusCode code) { code_ = code; }
  void SetDetails(std::string details) { details_ = std::move(details); }
  grpc::StatusCode code() const { return code_; }
  const std::string& details() const { return details_; }

  // Abort records (code, message) and throws rpcforge::AbortError, ending the call with
  // that status. `code` must not be OK (an OK abort is recorded as UNKNOWN).
  [[noreturn]] void Abort(grpc::StatusCode code, std::string message);
  bool aborted() const { return aborted_; }
  grpc::StatusCode abort_code() const { return abort_code_; }
  const std::string& abort_message() const { return abort_message_; }

  // --- Identity (set by the auth middleware; absent for anonymous calls) -----------
  // Identity and environment are read-only here: only the framework sets them (the
  // dispatcher, the auth middleware; FakeContext in tests), so neither a handler nor a
  // middleware of the application can make a call look authenticated.

  const std::optional<auth::User>& user() const { return user_; }
  const std::optional<auth::ApiKey>& api_key() const { return api_key_; }
  bool is_authenticated() const { return user_.has_value() || api_key_.has_value(); }

  // --- Environment ----------------------------------------------------------------

  // db returns the application's database; throws rpcforge::FailedPrecondition when
  // the application has none. The Database outlives the call.
  db::Database& db() const;
  db::Database* database() const { return database_; }

  // limits are the bounds on what this call may ask for (the config's `limits`).
  const InputLimits& limits() const { return *limits_; }

  // clock is the clock of the application (a FakeClock in tests).
  const Clock& clock() const { return *clock_; }

  // method describes the method being called.
  const MethodInfo& method() const { return *method_; }

 protected:
  Context();
  // ResetCommonState clears what the base class holds (status, abort, identity).
  void ResetCommonState();
  // DeadlineNow is the time TimeRemaining measures the deadline from: the system
  // clock on the server (gRPC's deadlines are real), the context's Clock in FakeContext.
  virtual std::chrono::system_clock::time_point DeadlineNow() const;

  void SetUser(std::optional<auth::User> user) { user_ = std::move(user); }
  void SetApiKey(std::optional<auth::ApiKey> key) { api_key_ = std::move(key); }
  void SetDatabase(db::Database* database) { database_ = database; }
  void SetLimits(const InputLimits* limits) { limits_ = limits ? limits : &InputLimits::Default(); }
  void SetClock(const Clock* clock) { clock_ = clock ? clock : &Clock::Real(); }
  void SetMethod(const MethodInfo* method);

 private:
  friend class context_internal::CallState;

  grpc::StatusCode code_ = grpc::StatusCode::OK;
  std::string details_;
  bool aborted_ = false;
  grpc::StatusCode abort_code_ = grpc::StatusCode::OK;
  std::string abort_message_;
  std::optional<auth::User> user_;
  std::optional<auth::ApiKey> api_key_;
  db::Database* database_ = nullptr;
  const Clock* clock_;
  const InputLimits* limits_;
  const MethodInfo* method_;
};

// kMaxResponseMetadataBytes bounds the headers, and separately the trailers, one call
// adds through Context, counted as HTTP/2 does (key + value + 32 per entry). It leaves
// room under the 8 KiB clients accept for gRPC's and the framework's own entries.
inline constexpr size_t kMaxResponseMetadataBytes = 7 * 1024;

namespace context_internal {
// ValidateMetadata lower-cases `key` and checks key and value as AddInitialMetadata
// documents, adding the entry's size to `*used` (bounded by kMaxResponseMetadataBytes);
// throws std::invalid_argument. Shared by every Context implementation.
RPCFORGE_EXPORT std::string ValidateMetadata(std::string_view key, std::string_view value,
                                             size_t* used);
// EqualsIgnoreCase compares ASCII strings case-insensitively.
RPCFORGE_EXPORT bool EqualsIgnoreCase(std::string_view a, std::string_view b);
}  // namespace context_internal

}  // namespace rpcforge

#endif  // RPCFORGE_CONTEXT_H_
