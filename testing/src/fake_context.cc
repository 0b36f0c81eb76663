// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/testing/fake_context.h"

#include <string>

#include "core/strings.h"
#include "rpcforge/errors.h"
#include "rpcforge/server/service.h"
#include "server/call_state.h"

namespace rpcforge::testing {

using context_internal::EqualsIgnoreCase;

namespace {
constexpr const char* kDefaultPeer = "ipv4:127.0.0.1:50000";

using strings::Lower;

std::optional<std::string> First(const std::multimap<std::string, std::string>& m,
                                 std::string_view key) {
  auto it = m.find(Lower(std::string(key)));
  if (it == m.end()) return std::nullopt;
  return it->second;
}
}  // namespace

FakeContext::FakeContext() : peer_(kDefaultPeer) {}
FakeContext::~FakeContext() = default;

FakeContext& FakeContext::AddMetadata(std::string key, std::string value) {
  invocation_.emplace_back(Lower(std::move(key)), std::move(value));
  return *this;
}

FakeContext& FakeContext::SetPeer(std::string peer) {
  peer_ = std::move(peer);
  return *this;
}

FakeContext& FakeContext::SetDeadline(std::chrono::system_clock::time_point deadline) {
  deadline_ = deadline;
  return *this;
}

FakeContext& FakeContext::SetTimeout(std::chrono::milliseconds timeout) {
  deadline_ = clock().Now() + timeout;
  return *this;
}

FakeContext& FakeContext::Cancel() {
  cancelled_ = true;
  return *this;
}

FakeContext& FakeContext::SetUser(auth::User user) {
  context_internal::CallState::SetUser(*this, std::move(user));
  return *this;
}

FakeContext& FakeContext::SetApiKey(auth::ApiKey key) {
  context_internal::CallState::SetApiKey(*this, std::move(key));
  return *this;
}

FakeContext& FakeContext::SetDatabase(db::Database* database) {
  context_internal::CallState::SetDatabase(*this, database);
  return *this;
}

FakeContext& FakeContext::SetClock(const Clock* clock) {
  context_internal::CallState::SetClock(*this, clock);
  return *this;
}

FakeContext& FakeContext::SetMethod(const MethodInfo* method) {
  context_internal::CallState::SetMethod(*this, method);
  return *this;
}

std::optional<std::string_view> FakeContext::GetMetadata(std::string_view key) const {
  for (const auto& [k, v] : invocation_) {
    if (EqualsIgnoreCase(k, key)) return std::string_view(v);
  }
  return std::nullopt;
}

std::vector<std::string_view> FakeContext::GetMetadataAll(std::string_view key) const {
  std::vector<std::string_view> values;
  for (const auto& [k, v] : invocation_) {
    if (EqualsIgnoreCase(k, key)) values.emplace_back(v);
  }
  return values;
}

Metadata FakeContext::InvocationMetadata() const { return invocation_; }

bool FakeContext::IsCancelled() const {
  if (cancelled_) return true;
  return deadline_ && clock().Now() >= *deadline_;
}

std::chrono::system_clock::time_point FakeContext::DeadlineNow() const { return clock().Now(); }

void FakeContext::AddInitialMetadata(std::string_view key, std::string_view value) {
  initial_.emplace(context_internal::ValidateMetadata(key, value, &initial_bytes_),
                   std::string(value));
}

void FakeContext::AddTrailingMetadata(std::string_view key, std::string_view value) {
  trailing_.emplace(context_internal::ValidateMetadata(key, value, &trailing_bytes_),
                    std::string(value));
}

std::optional<std::string> FakeContext::initial(std::string_view key) const {
  return First(initial_, key);
}

std::optional<std::string> FakeContext::trailing(std::string_view key) const {
  return First(trailing_, key);
}

void FakeContext::Reset() {
  ResetCommonState();
  invocation_.clear();
  initial_.clear();
  trailing_.clear();
  initial_bytes_ = 0;
  trailing_bytes_ = 0;
  peer_ = kDefaultPeer;
  deadline_.reset();
  cancelled_ = false;
}

grpc::Status CallThroughPipeline(App& app, FakeContext& ctx, const MethodInfo& method,
                                 const google::protobuf::Message* request,
                                 const std::function<void(Context&)>& handler,
                                 const std::vector<std::string>& middlewares, MiddlewareEnv env) {
  if (env.clock == nullptr) env.clock = &ctx.clock();
  if (env.signals == nullptr) env.signals = &app.signals();
  if (env.database == nullptr) env.database = ctx.database();
  auto pipeline =
      app.BuildPipeline(middlewares.empty() ? app.DefaultMiddlewares() : middlewares, env);
  ctx.SetMethod(&method);  // FakeContext's own
  ServerCall call(ctx, method, request, *env.clock);
  if (request != nullptr) call.RecordReceived(*request);
  return pipeline->Run(call, [&](ServerCall& c) { handler(c.context()); });
}

const MethodInfo& FindMethod(const Service& service, std::string_view name) {
  for (const MethodInfo& m : service.methods()) {
    if (m.method == name) return m;
  }
  throw NotFound(std::string("Service ") + service.service_full_name() + " has no method " +
                 std::string(name));
}

}  // namespace rpcforge::testing
