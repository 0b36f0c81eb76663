// SPDX-License-Identifier: Apache-2.0
// FakeContext applies the same metadata rules as the server's Context, so a direct
// handler test fails where a real call would.
#include "rpcforge/testing/fake_context.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <string>

#include "rpcforge/testing/fake_clock.h"

namespace {

using rpcforge::kMaxResponseMetadataBytes;
using rpcforge::testing::FakeContext;
using ::testing::HasSubstr;

TEST(FakeContextMetadata, KeysAreLowerCasedAndCheckedAsGrpcWould) {
  FakeContext ctx;
  ctx.AddTrailingMetadata("X-Greeted", "Ada");
  EXPECT_EQ(ctx.trailing("x-greeted"), "Ada");
  EXPECT_THROW(ctx.AddTrailingMetadata("bad key", "v"), std::invalid_argument);
  EXPECT_THROW(ctx.AddInitialMetadata("grpc-status", "0"), std::invalid_argument);
  EXPECT_THROW(ctx.AddInitialMetadata("x-text", "line\nbreak"), std::invalid_argument);
  ctx.AddInitialMetadata("x-data-bin", std::string("\0\n", 2));
  EXPECT_EQ(ctx.initial("x-data-bin"), std::string("\0\n", 2));
}

TEST(FakeContextMetadata, HeadersAndTrailersEachHaveABudget) {
  FakeContext ctx;
  const std::string kilobyte(1000, 'a');
  for (int i = 0; i < 6; ++i) {
    ctx.AddInitialMetadata("x-h" + std::to_string(i), kilobyte);
    ctx.AddTrailingMetadata("x-t" + std::to_string(i), kilobyte);
  }
  try {
    ctx.AddTrailingMetadata("x-t6", kilobyte);
    ADD_FAILURE() << "a seventh kilobyte passed the " << kMaxResponseMetadataBytes << " budget";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("'x-t6' (1000 bytes)"));
    EXPECT_THAT(e.what(), HasSubstr(std::to_string(kMaxResponseMetadataBytes)));
  }
  EXPECT_EQ(ctx.trailing("x-t6"), std::nullopt);
  EXPECT_THROW(ctx.AddInitialMetadata("x-h6", kilobyte), std::invalid_argument);
  ctx.AddTrailingMetadata("x-small", "fits");  // what is left is still usable

  ctx.Reset();
  for (int i = 0; i < 6; ++i) ctx.AddTrailingMetadata("x-t" + std::to_string(i), kilobyte);
  EXPECT_EQ(ctx.trailing("x-t5"), kilobyte);
}

TEST(FakeContextMetadata, OneValueBiggerThanTheBudgetIsRefused) {
  FakeContext ctx;
  EXPECT_THROW(ctx.AddTrailingMetadata("x-huge", std::string(kMaxResponseMetadataBytes, 'a')),
               std::invalid_argument);
  EXPECT_TRUE(ctx.trailing_metadata().empty());
}

}  // namespace

namespace {

// The deadline is the context's clock's: a FakeClock ends the call, no sleeping.
TEST(FakeContextDeadline, AFakeClockDrivesTheDeadline) {
  rpcforge::testing::FakeClock clock;
  FakeContext ctx;
  ctx.SetClock(&clock).SetTimeout(std::chrono::seconds(5));
  EXPECT_FALSE(ctx.IsCancelled());
  EXPECT_EQ(ctx.TimeRemaining(), std::chrono::milliseconds(5000));
  clock.Advance(std::chrono::seconds(2));
  EXPECT_EQ(ctx.TimeRemaining(), std::chrono::milliseconds(3000));
  EXPECT_FALSE(ctx.IsCancelled());
  clock.Advance(std::chrono::seconds(3));
  EXPECT_TRUE(ctx.IsCancelled());
  EXPECT_EQ(ctx.TimeRemaining(), std::chrono::milliseconds(0));
}

TEST(FakeContextDeadline, WithoutAFakeClockTheDeadlineIsReal) {
  FakeContext ctx;
  ctx.SetTimeout(std::chrono::hours(1));
  EXPECT_FALSE(ctx.IsCancelled());
  EXPECT_GT(*ctx.TimeRemaining(), std::chrono::minutes(59));
  ctx.SetDeadline(std::chrono::system_clock::now() - std::chrono::seconds(1));
  EXPECT_TRUE(ctx.IsCancelled());
}

}  // namespace
