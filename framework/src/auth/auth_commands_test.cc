// SPDX-License-Identifier: Apache-2.0
// `users` and `keys` commands through RunMain on a temporary database file, and the
// promise that the key is never stored: the database file's bytes are scanned for it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "rpcforge/app.h"
#include "rpcforge/auth/api_keys.h"
#include "rpcforge/db/database.h"
#include "rpcforge/testing/command.h"

using ::testing::HasSubstr;
using ::testing::Not;

namespace {

using Result = rpcforge::testing::CommandResult;

class AuthCommands : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("rpcforge_auth_cmd_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    db_path_ = (dir_ / "app.sqlite3").string();
    ASSERT_EQ(Run({"migrate"}).exit_code, 0);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  Result Run(std::vector<std::string> args) {
    args.insert(args.begin(), {"--database", db_path_});
    rpcforge::App app;
    return rpcforge::testing::RunCommand(app, args);
  }

  static std::string KeyIn(const std::string& text) {
    std::smatch m;
    static const std::regex re("\\b[0-9a-f]{64}\\b");
    return std::regex_search(text, m, re) ? m.str() : "";
  }

  std::string FileBytes() const {
    std::string all;
    for (const char* suffix : {"", "-wal", "-journal"}) {
      std::ifstream in(db_path_ + suffix, std::ios::binary);
      all.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    return all;
  }

  std::filesystem::path dir_;
  std::string db_path_;
};

}  // namespace

TEST_F(AuthCommands, UsersCreateAndList) {
  Result r = Run({"users", "create", "ada", "--email", "ada@example.com", "--staff"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Created user 'ada'"));
  ASSERT_EQ(Run({"users", "create", "root", "--superuser"}).exit_code, 0);
  r = Run({"users", "list"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("USERNAME"));
  EXPECT_THAT(r.out, HasSubstr("ada@example.com"));
  EXPECT_THAT(r.out, HasSubstr("root"));
}

TEST_F(AuthCommands, DuplicateUsernameAndBadInputAreClearErrors) {
  ASSERT_EQ(Run({"users", "create", "ada"}).exit_code, 0);
  Result r = Run({"users", "create", "ada"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("User 'ada' already exists"));
  r = Run({"users", "create", "bad name!"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("username"));
  r = Run({"users", "create", "bob", "--email", "not-an-email"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("email"));
}

TEST_F(AuthCommands, KeysCreatePrintsTheKeyOnceAndNeverStoresIt) {
  ASSERT_EQ(Run({"users", "create", "ada"}).exit_code, 0);
  Result r = Run({"keys", "create", "--name", "ci", "--user", "ada", "--expires-in", "30d"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string key = KeyIn(r.out);
  ASSERT_EQ(key.size(), 64u) << r.out;
  EXPECT_THAT(r.out, HasSubstr("will not be shown again"));

  {
    auto database = rpcforge::db::Database::Open(db_path_);
    auto verified = rpcforge::auth::VerifyApiKey(*database, key);
    ASSERT_TRUE(verified);
    EXPECT_EQ(verified->user.username, "ada");
    ASSERT_TRUE(verified->key.expires_at);
    auto days = std::chrono::duration_cast<std::chrono::hours>(*verified->key.expires_at -
                                                               std::chrono::system_clock::now());
    EXPECT_GT(days.count(), 29 * 24);
    EXPECT_LE(days.count(), 30 * 24);
  }

  // Listing never shows keys: only the prefix.
  r = Run({"keys", "list"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, Not(HasSubstr(key)));
  EXPECT_THAT(r.out, HasSubstr(key.substr(0, 8) + "..."));
  EXPECT_THAT(r.out, HasSubstr("ada"));
  for (const char* column :
       {"PREFIX", "USER", "CREATED", "EXPIRES", "REVOKED", "LAST USED", "REQUESTS"}) {
    EXPECT_THAT(r.out, HasSubstr(column));
  }

  // The database file holds the hash, never the key (in any case or as raw bytes).
  const std::string bytes = FileBytes();
  ASSERT_THAT(bytes, HasSubstr(rpcforge::auth::HashApiKey(key))) << "scan found nothing at all";
  EXPECT_EQ(bytes.find(key), std::string::npos);
  std::string upper = key;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(bytes.find(upper), std::string::npos);
  std::string raw;
  for (size_t i = 0; i < key.size(); i += 2) {
    raw += static_cast<char>(std::stoi(key.substr(i, 2), nullptr, 16));
  }
  EXPECT_EQ(bytes.find(raw), std::string::npos);
}

TEST_F(AuthCommands, KeysCreateForUnknownUserOrBadExpiryFails) {
  Result r = Run({"keys", "create", "--name", "ci", "--user", "zed"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("Unknown user 'zed'"));
  ASSERT_EQ(Run({"users", "create", "ada"}).exit_code, 0);
  r = Run({"keys", "create", "--name", "ci", "--user", "ada", "--expires-in", "soon"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--expires-in"));
  EXPECT_EQ(KeyIn(r.out), "");
  // 300 years parses as a duration but ends after any time the server can hold: it
  // overflowed the expiry (UBSan) instead of being refused.
  r = Run({"keys", "create", "--name", "ci", "--user", "ada", "--expires-in", "109500d"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--expires-in: at most 100 years"));
  EXPECT_EQ(KeyIn(r.out), "");
}

TEST_F(AuthCommands, KeysRevokeByIdAndByUser) {
  ASSERT_EQ(Run({"users", "create", "ada"}).exit_code, 0);
  ASSERT_EQ(Run({"users", "create", "bob"}).exit_code, 0);
  const std::string k1 = KeyIn(Run({"keys", "create", "--name", "a1", "--user", "ada"}).out);
  const std::string k2 = KeyIn(Run({"keys", "create", "--name", "a2", "--user", "ada"}).out);
  const std::string k3 = KeyIn(Run({"keys", "create", "--name", "b1", "--user", "bob"}).out);
  ASSERT_FALSE(k1.empty());
  ASSERT_FALSE(k3.empty());

  Result r = Run({"keys", "revoke", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Revoked API key 1"));
  EXPECT_THAT(Run({"keys", "revoke", "1"}).out, HasSubstr("already revoked"));
  r = Run({"keys", "revoke", "99"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("no API key with id 99"));
  r = Run({"keys", "revoke", "--user", "bob"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Revoked 1 key(s) of bob"));
  r = Run({"keys", "revoke", "--user", "zed"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("Unknown user 'zed'"));
  EXPECT_EQ(Run({"keys", "revoke"}).exit_code, 2);

  auto database = rpcforge::db::Database::Open(db_path_);
  EXPECT_FALSE(rpcforge::auth::VerifyApiKey(*database, k1));
  EXPECT_TRUE(rpcforge::auth::VerifyApiKey(*database, k2));
  EXPECT_FALSE(rpcforge::auth::VerifyApiKey(*database, k3));
}
