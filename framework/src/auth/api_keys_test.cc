// SPDX-License-Identifier: Apache-2.0
// Users and API keys: creation (CSPRNG, hash + prefix only), verification (hash lookup,
// constant-time compare, revocation, expiry through the clock, inactive users) and
// the write-behind usage counts.
#include "rpcforge/auth/api_keys.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <thread>
#include <vector>

#include "rpcforge/db/database.h"
#include "rpcforge/db/framework_models.h"
#include "rpcforge/db/query.h"
#include "rpcforge/errors.h"
#include "rpcforge/fixtures/test_case.h"
#include "rpcforge/testing/fake_clock.h"

using rpcforge::auth::CreateApiKey;
using rpcforge::auth::CreateUser;
using rpcforge::auth::User;
using rpcforge::auth::VerifyApiKey;
using rpcforge::testing::FakeClock;

namespace {

class ApiKeysTest : public rpcforge::fixtures::TestCase {
 protected:
  User Ada() { return CreateUser(db(), {"ada", "ada@example.com"}); }
  FakeClock clock_;
};

bool IsLowerHex(const std::string& s) {
  return s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

}  // namespace

TEST(ApiKeys, GeneratedKeysAre64LowerHexAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    std::string key = rpcforge::auth::GenerateApiKey();
    ASSERT_EQ(key.size(), 64u);
    ASSERT_TRUE(IsLowerHex(key)) << key;
    seen.insert(key);
  }
  EXPECT_EQ(seen.size(), 200u);
}

TEST(ApiKeys, HashIsSha256Hex) {
  // SHA-256("abc"), FIPS 180-2 test vector.
  EXPECT_EQ(rpcforge::auth::HashApiKey("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(ApiKeys, SecretEqualsUsesConstantTimeCompare) {
  const int64_t before = rpcforge::auth::auth_internal::TEST_ConstantTimeCompares();
  EXPECT_TRUE(rpcforge::auth::SecretEquals("s3cret", "s3cret"));
  EXPECT_FALSE(rpcforge::auth::SecretEquals("s3cret", "s3creT"));
  EXPECT_FALSE(rpcforge::auth::SecretEquals("s3cret", "s3cre"));
  EXPECT_FALSE(rpcforge::auth::SecretEquals("", "x"));
  EXPECT_EQ(rpcforge::auth::auth_internal::TEST_ConstantTimeCompares() - before, 4);
}

TEST_F(ApiKeysTest, CreateUserFindAndList) {
  User ada = Ada();
  EXPECT_GT(ada.id, 0);
  EXPECT_TRUE(ada.is_active);
  EXPECT_FALSE(ada.is_staff);
  CreateUser(db(), {"bob", "", true, false});
  auto bob = rpcforge::auth::FindUser(db(), "bob");
  ASSERT_TRUE(bob);
  EXPECT_TRUE(bob->is_staff);
  EXPECT_FALSE(rpcforge::auth::FindUser(db(), "carol"));
  auto users = rpcforge::auth::ListUsers(db());
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(users[0].username, "ada");
  EXPECT_EQ(users[1].username, "bob");
}

TEST_F(ApiKeysTest, DuplicateUsernameIsAlreadyExists) {
  Ada();
  try {
    CreateUser(db(), {"ada", ""});
    FAIL() << "no exception";
  } catch (const rpcforge::AlreadyExists& e) {
    EXPECT_EQ(e.message(), "User 'ada' already exists");
  }
  EXPECT_THROW(CreateUser(db(), {"bad name!", ""}), rpcforge::ValidationError);
}

TEST_F(ApiKeysTest, KeyIsStoredAsHashAndPrefixOnly) {
  auto created = CreateApiKey(db(), Ada(), "ci", std::nullopt, clock_);
  ASSERT_EQ(created.key.size(), 64u);
  EXPECT_EQ(created.info.prefix, created.key.substr(0, 8));
  EXPECT_EQ(created.info.name, "ci");
  EXPECT_EQ(created.info.username, "ada");
  EXPECT_EQ(created.info.created_at, clock_.Now());
  EXPECT_FALSE(created.info.expires_at);
  EXPECT_EQ(created.info.request_count, 0);

  auto rows = db().Query("SELECT * FROM rpcforge_apikey");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["key_hash"].AsText(), rpcforge::auth::HashApiKey(created.key));
  for (const auto& v : rows[0].values()) {
    if (v.type() != rpcforge::db::Value::Type::kText) continue;
    EXPECT_EQ(v.AsText().find(created.key), std::string::npos) << "plaintext key stored";
  }
}

TEST_F(ApiKeysTest, VerifyReturnsTheIdentity) {
  User ada = CreateUser(db(), {"ada", "ada@example.com", true, true});
  auto created = CreateApiKey(db(), ada, "ci", std::nullopt, clock_);
  auto v = VerifyApiKey(db(), created.key, clock_);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->user.id, ada.id);
  EXPECT_EQ(v->user.username, "ada");
  EXPECT_TRUE(v->user.is_staff);
  EXPECT_TRUE(v->user.is_superuser);
  EXPECT_EQ(v->key.id, created.info.id);
  EXPECT_EQ(v->key.name, "ci");
  EXPECT_EQ(v->key.prefix, created.info.prefix);
  EXPECT_FALSE(v->key.is_secret_key);
  // Hex is case-insensitive.
  std::string upper = created.key;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_TRUE(VerifyApiKey(db(), upper, clock_));
}

TEST_F(ApiKeysTest, VerifyRejectsUnknownAndMalformedKeys) {
  auto created = CreateApiKey(db(), Ada(), "ci", std::nullopt, clock_);
  std::string other = created.key;
  other[63] = other[63] == '0' ? '1' : '0';
  EXPECT_FALSE(VerifyApiKey(db(), other, clock_));
  EXPECT_FALSE(VerifyApiKey(db(), created.key.substr(0, 63), clock_));
  EXPECT_FALSE(VerifyApiKey(db(), created.key + "0", clock_));
  EXPECT_FALSE(VerifyApiKey(db(), "", clock_));
  EXPECT_FALSE(VerifyApiKey(db(), std::string(64, 'z'), clock_));
  EXPECT_FALSE(VerifyApiKey(db(), rpcforge::auth::HashApiKey(created.key), clock_))
      << "the stored hash is not a key";
  EXPECT_FALSE(VerifyApiKey(db(), "' OR 1=1 --", clock_));
}

TEST_F(ApiKeysTest, VerifyComparesInConstantTime) {
  auto created = CreateApiKey(db(), Ada(), "ci", std::nullopt, clock_);
  const int64_t before = rpcforge::auth::auth_internal::TEST_ConstantTimeCompares();
  ASSERT_TRUE(VerifyApiKey(db(), created.key, clock_));
  EXPECT_EQ(rpcforge::auth::auth_internal::TEST_ConstantTimeCompares() - before, 1);
}

TEST_F(ApiKeysTest, ExpiredKeyIsRejectedAfterTheClockMoves) {
  auto created = CreateApiKey(db(), Ada(), "ci", std::chrono::hours(24), clock_);
  ASSERT_TRUE(created.info.expires_at);
  EXPECT_EQ(*created.info.expires_at, clock_.Now() + std::chrono::hours(24));
  EXPECT_TRUE(VerifyApiKey(db(), created.key, clock_));
  clock_.Advance(std::chrono::hours(24) - std::chrono::seconds(1));
  EXPECT_TRUE(VerifyApiKey(db(), created.key, clock_));
  clock_.Advance(std::chrono::seconds(1));
  EXPECT_FALSE(VerifyApiKey(db(), created.key, clock_));
  EXPECT_FALSE(rpcforge::auth::GetApiKeyInfo(db(), created.info.id)->IsUsable(clock_.Now()));
}

TEST_F(ApiKeysTest, NonPositiveExpiryAndUnknownUserAreRefused) {
  User ada = Ada();
  EXPECT_THROW(CreateApiKey(db(), ada, "x", std::chrono::seconds(0), clock_),
               rpcforge::InvalidArgument);
  // An expiry past what Clock::TimePoint holds overflowed instead of being refused.
  EXPECT_THROW(CreateApiKey(db(), ada, "x", std::chrono::hours(24 * 365 * 300), clock_),
               rpcforge::InvalidArgument);
  EXPECT_NO_THROW(CreateApiKey(db(), ada, "x", std::chrono::hours(24 * 365 * 99), clock_));
  User ghost;
  ghost.id = 999999;
  EXPECT_THROW(CreateApiKey(db(), ghost, "x", std::nullopt, clock_), rpcforge::NotFound);
  EXPECT_THROW(CreateApiKey(db(), ada, "", std::nullopt, clock_), rpcforge::ValidationError);
}

TEST_F(ApiKeysTest, RevokedKeysAndInactiveUsersAreRejected) {
  User ada = Ada();
  auto k1 = CreateApiKey(db(), ada, "one", std::nullopt, clock_);
  auto k2 = CreateApiKey(db(), ada, "two", std::nullopt, clock_);
  auto k3 = CreateApiKey(db(), ada, "three", std::nullopt, clock_);
  EXPECT_TRUE(rpcforge::auth::RevokeApiKey(db(), k1.info.id, clock_));
  EXPECT_FALSE(rpcforge::auth::RevokeApiKey(db(), k1.info.id, clock_)) << "already revoked";
  EXPECT_FALSE(rpcforge::auth::RevokeApiKey(db(), 424242, clock_));
  EXPECT_FALSE(VerifyApiKey(db(), k1.key, clock_));
  EXPECT_TRUE(VerifyApiKey(db(), k2.key, clock_));

  EXPECT_TRUE(rpcforge::auth::SetUserActive(db(), ada.id, false));
  EXPECT_FALSE(VerifyApiKey(db(), k2.key, clock_));
  EXPECT_TRUE(rpcforge::auth::SetUserActive(db(), ada.id, true));
  EXPECT_TRUE(VerifyApiKey(db(), k2.key, clock_));

  EXPECT_EQ(rpcforge::auth::RevokeUserKeys(db(), ada.id, clock_), 2);
  EXPECT_FALSE(VerifyApiKey(db(), k2.key, clock_));
  EXPECT_FALSE(VerifyApiKey(db(), k3.key, clock_));
  auto keys = rpcforge::auth::ListApiKeys(db(), ada.id);
  ASSERT_EQ(keys.size(), 3u);
  for (const auto& k : keys) {
    ASSERT_TRUE(k.revoked_at);
    EXPECT_EQ(*k.revoked_at, clock_.Now());
  }
}

TEST_F(ApiKeysTest, ListApiKeysFiltersByUser) {
  User ada = Ada();
  User bob = CreateUser(db(), {"bob", ""});
  CreateApiKey(db(), ada, "a", std::nullopt, clock_);
  CreateApiKey(db(), bob, "b", std::nullopt, clock_);
  EXPECT_EQ(rpcforge::auth::ListApiKeys(db()).size(), 2u);
  auto bobs = rpcforge::auth::ListApiKeys(db(), bob.id);
  ASSERT_EQ(bobs.size(), 1u);
  EXPECT_EQ(bobs[0].name, "b");
  EXPECT_EQ(bobs[0].username, "bob");
}

TEST_F(ApiKeysTest, UsageCountsAreExactUnderConcurrency) {
  User ada = Ada();
  auto k1 = CreateApiKey(db(), ada, "one", std::nullopt, clock_);
  auto k2 = CreateApiKey(db(), ada, "two", std::nullopt, clock_);
  constexpr int kThreads = 8;
  constexpr int kCalls = 500;
  {
    rpcforge::auth::UsageTracker tracker(db(), {std::chrono::milliseconds(1)});
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kCalls; ++i) {
          const auto id = (i % 2 == 0) ? k1.info.id : k2.info.id;
          tracker.Record(id, clock_.Now() + std::chrono::seconds(t));
          if (i % 100 == 0) tracker.Flush();  // flushes race with records
        }
      });
    }
    for (auto& th : threads) th.join();
  }  // the destructor flushes the rest
  auto one = rpcforge::auth::GetApiKeyInfo(db(), k1.info.id);
  auto two = rpcforge::auth::GetApiKeyInfo(db(), k2.info.id);
  EXPECT_EQ(one->request_count + two->request_count, kThreads * kCalls);
  EXPECT_EQ(one->request_count, kThreads * kCalls / 2);
  ASSERT_TRUE(one->last_used_at);
  EXPECT_EQ(*one->last_used_at, clock_.Now() + std::chrono::seconds(kThreads - 1));
}

TEST_F(ApiKeysTest, UsageIsWrittenBehindAndFlushedAtShutdown) {
  auto k = CreateApiKey(db(), Ada(), "ci", std::nullopt, clock_);
  {
    // No background thread: nothing reaches the database until Flush or destruction.
    rpcforge::auth::UsageTracker tracker(db(), {std::chrono::milliseconds(0)});
    for (int i = 0; i < 5; ++i) tracker.Record(k.info.id, clock_.Now());
    EXPECT_EQ(tracker.pending(), 5);
    EXPECT_EQ(rpcforge::auth::GetApiKeyInfo(db(), k.info.id)->request_count, 0);
    EXPECT_EQ(tracker.Flush(), 1u);
    EXPECT_EQ(tracker.pending(), 0);
    EXPECT_EQ(rpcforge::auth::GetApiKeyInfo(db(), k.info.id)->request_count, 5);
    tracker.Record(k.info.id, clock_.Now() + std::chrono::minutes(1));
  }
  auto info = rpcforge::auth::GetApiKeyInfo(db(), k.info.id);
  EXPECT_EQ(info->request_count, 6);
  EXPECT_EQ(*info->last_used_at, clock_.Now() + std::chrono::minutes(1));
}
