// SPDX-License-Identifier: Apache-2.0
// App's middleware registry: the built-ins in their order, replacement by name, and the
// state a registration carries (what AppRateLimiter reads for the built-in rate_limit).
#include "rpcforge/app.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <any>
#include <memory>
#include <string>

#include "rpcforge/errors.h"
#include "rpcforge/middleware/builtins.h"
#include "rpcforge/middleware/rate_limit.h"

namespace {

rpcforge::MiddlewareFactory NoMiddleware() {
  return [](const rpcforge::MiddlewareEnv&) { return std::shared_ptr<rpcforge::Middleware>(); };
}

TEST(App, RegistersTheBuiltinsInTheirOrderThenTheApplicationsOwn) {
  rpcforge::App app;
  app.RegisterMiddleware("mine", NoMiddleware());
  std::vector<std::string> expected = rpcforge::BuiltinMiddlewareNames();
  expected.push_back("mine");
  EXPECT_EQ(app.DefaultMiddlewares(), expected);
}

TEST(App, AMiddlewaresStateIsReachableByNameAndReplacedWithIt) {
  rpcforge::App app;
  auto counter = std::make_shared<int>(7);
  app.RegisterMiddleware("counted", NoMiddleware(), counter);
  const std::any* state = app.MiddlewareState("counted");
  ASSERT_NE(state, nullptr);
  EXPECT_EQ(*std::any_cast<std::shared_ptr<int>>(*state), 7);
  EXPECT_EQ(app.MiddlewareState("unknown"), nullptr);

  app.RegisterMiddleware("counted", NoMiddleware());  // replaced: no state now
  EXPECT_EQ(app.MiddlewareState("counted"), nullptr);
  EXPECT_TRUE(app.HasMiddleware("counted"));
}

TEST(App, TheBuiltinRateLimiterIsTheRateLimitRegistrationsState) {
  rpcforge::App app;
  const std::any* state = app.MiddlewareState("rate_limit");
  ASSERT_NE(state, nullptr);
  EXPECT_EQ(std::any_cast<std::shared_ptr<rpcforge::RateLimiter>>(*state),
            rpcforge::AppRateLimiter(app));
  // Another state under the name is not a limiter: AppRateLimiter says so.
  app.RegisterMiddleware("rate_limit", NoMiddleware(), std::string("not a limiter"));
  EXPECT_THROW(rpcforge::AppRateLimiter(app), rpcforge::FailedPrecondition);
}

}  // namespace
