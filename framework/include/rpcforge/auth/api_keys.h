// SPDX-License-Identifier: Apache-2.0
// Users and API keys: the framework's own `rpcforge.user` and `rpcforge.apikey` rows.
// A key is 256 bits from OpenSSL's CSPRNG, shown once as 64 lower-case hex characters;
// the database keeps only its SHA-256 (hex) and a short public prefix for display.
// Verification looks the hash up and compares it again in constant time.
//
//   rpcforge::auth::User ada = rpcforge::auth::CreateUser(db, {"ada", "ada@x.io"});
//   rpcforge::auth::CreatedApiKey k =
//       rpcforge::auth::CreateApiKey(db, ada, "ci", std::chrono::hours(24 * 30));
//   std::cout << k.key;                          // the only time it is ever visible
//   auto who = rpcforge::auth::VerifyApiKey(db, k.key);   // std::optional<VerifiedKey>
//
// Every function here is thread-safe (each is one or a few units of work on `db`)
// and reads the time from the Clock it is given (default: `db.clock()`).
#ifndef RPCFORGE_AUTH_API_KEYS_H_
#define RPCFORGE_AUTH_API_KEYS_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "rpcforge/auth/identity.h"
#include "rpcforge/clock.h"
#include "rpcforge/db/group_commit.h"
#include "rpcforge/export.h"

namespace rpcforge::db {
class Database;
}  // namespace rpcforge::db

namespace rpcforge::auth {

// kApiKeyHexLength is the length of a key as shown to its owner (64 hex characters).
inline constexpr size_t kApiKeyHexLength = 64;
// kApiKeyPrefixLength is how many leading characters of a key are stored for display.
inline constexpr size_t kApiKeyPrefixLength = 8;

// NewUser is what CreateUser needs.
struct NewUser {
  std::string username;
  std::string email;
  bool is_staff = false;
  bool is_superuser = false;
  bool is_active = true;
};

// CreateUser inserts a user and returns its snapshot. Throws rpcforge::AlreadyExists
// "User 'x' already exists" for a taken username and rpcforge::ValidationError for a
// bad username or e-mail.
RPCFORGE_EXPORT User CreateUser(db::Database& db, const NewUser& user);

// FindUser returns the user named `username`, or nullopt.
RPCFORGE_EXPORT std::optional<User> FindUser(db::Database& db, std::string_view username);
// FindUserById returns the user with id `id`, or nullopt.
RPCFORGE_EXPORT std::optional<User> FindUserById(db::Database& db, int64_t id);
// ListUsers returns every user ordered by username.
RPCFORGE_EXPORT std::vector<User> ListUsers(db::Database& db);
// SetUserActive activates or deactivates a user (an inactive user's keys stop
// verifying at once). Returns false when no such user exists.
RPCFORGE_EXPORT bool SetUserActive(db::Database& db, int64_t user_id, bool active);

// ApiKeyInfo is everything about a key except the key: what `keys list` shows.
struct ApiKeyInfo {
  int64_t id = 0;
  std::string name;
  std::string prefix;
  int64_t user_id = 0;
  std::string username;
  Clock::TimePoint created_at;
  std::optional<Clock::TimePoint> expires_at;
  std::optional<Clock::TimePoint> revoked_at;
  std::optional<Clock::TimePoint> last_used_at;
  int64_t request_count = 0;

  // IsUsable: not revoked and not expired at `now` (an expiry equal to `now` counts as
  // expired).
  bool IsUsable(Clock::TimePoint now) const {
    return !revoked_at && (!expires_at || now < *expires_at);
  }
};

// CreatedApiKey is CreateApiKey's result: the stored row and the plaintext key, which
// exists nowhere else (show it once, then drop it).
struct CreatedApiKey {
  ApiKeyInfo info;
  std::string key;
};

// kMaxApiKeyExpiry is the longest `expires_in` a key may have: 100 years (times end in
// 2262, where Clock::TimePoint does).
inline constexpr std::chrono::hours kMaxApiKeyExpiry{24 * (365 * 100 + 25)};

// CreateApiKey creates a key named `name` for `user`, expiring `expires_in` after
// clock.Now() (nullopt: never). Throws rpcforge::NotFound when the user does not
// exist, rpcforge::InvalidArgument for a non-positive `expires_in` or one beyond
// kMaxApiKeyExpiry, and
// rpcforge::ValidationError for a bad name (blank or over 100 characters).
RPCFORGE_EXPORT CreatedApiKey CreateApiKey(db::Database& db, const User& user, std::string name,
                                           std::optional<std::chrono::seconds> expires_in,
                                           const Clock& clock);
RPCFORGE_EXPORT CreatedApiKey
CreateApiKey(db::Database& db, const User& user, std::string name,
             std::optional<std::chrono::seconds> expires_in = std::nullopt);

// ListApiKeys returns the keys (all users', or `user_id`'s) ordered by id. Never keys.
RPCFORGE_EXPORT std::vector<ApiKeyInfo> ListApiKeys(db::Database& db,
                                                    std::optional<int64_t> user_id = {});
// GetApiKeyInfo returns one key's row, or nullopt.
RPCFORGE_EXPORT std::optional<ApiKeyInfo> GetApiKeyInfo(db::Database& db, int64_t id);

// RevokeApiKey marks key `id` revoked at clock.Now(). Returns false when there is no
// such key or it was already revoked (the first revocation time is kept).
RPCFORGE_EXPORT bool RevokeApiKey(db::Database& db, int64_t id, const Clock& clock);
RPCFORGE_EXPORT bool RevokeApiKey(db::Database& db, int64_t id);
// RevokeUserKeys revokes every unrevoked key of `user_id`; returns how many.
RPCFORGE_EXPORT int64_t RevokeUserKeys(db::Database& db, int64_t user_id, const Clock& clock);
RPCFORGE_EXPORT int64_t RevokeUserKeys(db::Database& db, int64_t user_id);

// VerifiedKey is the identity a valid key stands for.
struct VerifiedKey {
  User user;
  ApiKey key;
};

// VerifyApiKey returns the identity of `key` when it is well formed (64 hex
// characters, either case), known, not revoked, not expired at clock.Now(), and its
// user is active; otherwise nullopt. The lookup is by SHA-256; the stored hash is then
// compared with the computed one by CRYPTO_memcmp. One SELECT; never writes (usage is
// recorded by the caller, see UsageTracker).
RPCFORGE_EXPORT std::optional<VerifiedKey> VerifyApiKey(db::Database& db, std::string_view key,
                                                        const Clock& clock);
RPCFORGE_EXPORT std::optional<VerifiedKey> VerifyApiKey(db::Database& db, std::string_view key);

// GenerateApiKey returns 64 lower-case hex characters of fresh CSPRNG output
// (RAND_bytes). Throws rpcforge::Internal when the CSPRNG fails.
RPCFORGE_EXPORT std::string GenerateApiKey();
// HashApiKey returns the lower-case hex SHA-256 of `key` (what the database stores).
RPCFORGE_EXPORT std::string HashApiKey(std::string_view key);
// SecretEquals compares two secrets in constant time: both are hashed with SHA-256 and
// the digests compared with CRYPTO_memcmp, so the time depends on neither the contents
// nor where they differ.
RPCFORGE_EXPORT bool SecretEquals(std::string_view a, std::string_view b);

// UsageTracker counts the calls made with each key, with
// `UPDATE rpcforge_apikey SET request_count = request_count + ?, last_used_at = ...`.
// Two ways:
//  - on a shared db::GroupCommit (what the server's auth middleware does): every
//    Record is one submission, written in the transaction of the batch that holds it,
//    next to the request-log rows of the same calls; in durable mode a call waits
//    for it (ServerCall::RequireCommitted), so a crash loses no count of an answered
//    call. A batch that fails is retried once in its own transaction, then logged and
//    its counts lost.
//  - on its own (the other constructors): Record only adds to an in-memory
//    accumulator; a background thread flushes it every `flush_interval`, and Flush() /
//    the destructor flush what is left. A failed flush is logged and its counts put
//    back for the next one. A crash loses what was not flushed.
// Counts are exact: every Record() lands in exactly one write. Thread-safe. `db` (or
// the GroupCommit) must outlive the tracker.
class RPCFORGE_EXPORT UsageTracker {
 public:
  struct Options {
    // How often the background thread flushes; zero disables the thread (Flush()
    // and the destructor still write).
    std::chrono::milliseconds flush_interval{1000};
  };

  UsageTracker(db::Database& db, Options options);
  explicit UsageTracker(db::Database& db);
  explicit UsageTracker(db::GroupCommit& commit);
  // The destructor stops the thread and flushes.
  ~UsageTracker();
  UsageTracker(const UsageTracker&) = delete;
  UsageTracker& operator=(const UsageTracker&) = delete;

  // Record counts one call made with key `key_id` at `when`. Returns the ticket of the
  // submission on the shared GroupCommit (for ServerCall::RequireCommitted), or 0.
  // With a journal on that GroupCommit the use is journaled first, and `*journaled`
  // (when given) says whether that worked (then a crash cannot lose the count).
  uint64_t Record(int64_t key_id, Clock::TimePoint when, bool* journaled = nullptr);
  // Flush writes every pending count now and returns how many keys were updated (on
  // a shared GroupCommit: waits for them and returns 0).
  size_t Flush();
  // pending is the number of calls recorded and not yet written.
  int64_t pending() const;
  // commit is the shared GroupCommit, or null.
  db::GroupCommit* commit() const { return commit_; }

 private:
  struct Pending {
    int64_t count = 0;
    Clock::TimePoint last_used;
  };
  class Sink;
  void Run();

  db::Database& db_;
  Options options_;
  db::GroupCommit* commit_ = nullptr;
  std::unique_ptr<Sink> sink_;  // with commit_
  mutable std::mutex mu_;
  std::unordered_map<int64_t, Pending> pending_;  // guarded by mu_
  std::mutex flush_mu_;  // one flush at a time, so put-back counts stay exact
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  std::thread thread_;
};

namespace auth_internal {
// CredentialsGeneration changes whenever this process revokes a key or changes a
// user's active flag (RevokeApiKey, RevokeUserKeys, SetUserActive), so caches of
// verified keys can drop what such a change may have invalidated. Thread-safe.
RPCFORGE_EXPORT uint64_t CredentialsGeneration();
RPCFORGE_EXPORT void CredentialsChanged();
// EncodeKeyUse is the journal form of one use (db::kJournalApiKeyUse records).
RPCFORGE_EXPORT std::string EncodeKeyUse(int64_t key_id, Clock::TimePoint when);
// ApplyKeyUses adds the uses in `payloads` to their keys' counts on `db`, inside the
// caller's transaction. Payloads that are not key uses are logged and skipped.
RPCFORGE_EXPORT void ApplyKeyUses(db::Database& db, const std::vector<std::string>& payloads);
// TEST_ConstantTimeCompares counts the CRYPTO_memcmp comparisons VerifyApiKey and
// SecretEquals have made in this process. Test-only.
RPCFORGE_EXPORT int64_t TEST_ConstantTimeCompares();
}  // namespace auth_internal

}  // namespace rpcforge::auth

#endif  // RPCFORGE_AUTH_API_KEYS_H_
