// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/auth/api_keys.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <atomic>
#include <utility>

#include "core/logging.h"
#include "rpcforge/db/database.h"
#include "rpcforge/db/framework_models.h"
#include "rpcforge/db/journal.h"
#include "rpcforge/db/query.h"
#include "rpcforge/errors.h"

namespace rpcforge::auth {
namespace {

std::atomic<int64_t> g_constant_time_compares{0};

constexpr char kHex[] = "0123456789abcdef";

std::string ToHex(const unsigned char* data, size_t n) {
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kHex[data[i] >> 4];
    out[2 * i + 1] = kHex[data[i] & 0xf];
  }
  return out;
}

using Digest = std::array<unsigned char, 32>;

Digest Sha256(std::string_view data) {
  Digest d{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), d.data(), &len, EVP_sha256(), nullptr) != 1 ||
      len != d.size()) {
    throw Internal("SHA-256 failed");
  }
  return d;
}

bool DigestEquals(const Digest& a, const Digest& b) {
  g_constant_time_compares.fetch_add(1, std::memory_order_relaxed);
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// Normalizes a presented key to lower case; nullopt unless exactly 64 hex characters.
std::optional<std::string> NormalizeKey(std::string_view key) {
  if (key.size() != kApiKeyHexLength) return std::nullopt;
  std::string out(key);
  for (char& c : out) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    if (!hex) return std::nullopt;
  }
  return out;
}

std::optional<Clock::TimePoint> OptTime(const db::Value& v) {
  if (v.is_null()) return std::nullopt;
  return v.AsTime();
}

User UserFromRow(const db::Row& row) {
  User u;
  u.id = row["id"].AsInt();
  u.username = row["username"].AsText();
  u.email = row["email"].AsText();
  u.is_active = row["is_active"].AsBool();
  u.is_staff = row["is_staff"].AsBool();
  u.is_superuser = row["is_superuser"].AsBool();
  return u;
}

constexpr char kKeyColumns[] =
    "SELECT k.id, k.name, k.prefix, k.user_id, u.username, k.created_at, k.expires_at, "
    "k.revoked_at, k.last_used_at, k.request_count FROM rpcforge_apikey k "
    "JOIN rpcforge_user u ON u.id = k.user_id";

ApiKeyInfo InfoFromRow(const db::Row& row) {
  ApiKeyInfo info;
  info.id = row.at(0).AsInt();
  info.name = row.at(1).AsText();
  info.prefix = row.at(2).AsText();
  info.user_id = row.at(3).AsInt();
  info.username = row.at(4).AsText();
  info.created_at = row.at(5).AsTime();
  info.expires_at = OptTime(row.at(6));
  info.revoked_at = OptTime(row.at(7));
  info.last_used_at = OptTime(row.at(8));
  info.request_count = row.at(9).AsInt();
  return info;
}

}  // namespace

namespace auth_internal {
int64_t TEST_ConstantTimeCompares() { return g_constant_time_compares.load(); }
}  // namespace auth_internal

// --- Users

User CreateUser(db::Database& db, const NewUser& user) {
  if (!user.username.empty() && FindUser(db, user.username)) {
    throw AlreadyExists("User '" + user.username + "' already exists");
  }
  db::Row row = db::UserModel().Objects(db).Create({{"username", user.username},
                                                    {"email", user.email},
                                                    {"is_active", user.is_active},
                                                    {"is_staff", user.is_staff},
                                                    {"is_superuser", user.is_superuser}});
  return UserFromRow(row);
}

std::optional<User> FindUser(db::Database& db, std::string_view username) {
  auto row = db::UserModel().Objects(db).Filter("username", username).First();
  if (!row) return std::nullopt;
  return UserFromRow(*row);
}

std::optional<User> FindUserById(db::Database& db, int64_t id) {
  auto row = db::UserModel().Objects(db).Filter("id", id).First();
  if (!row) return std::nullopt;
  return UserFromRow(*row);
}

std::vector<User> ListUsers(db::Database& db) {
  std::vector<User> users;
  for (const db::Row& row : db::UserModel().Objects(db).OrderBy({"username"}).All()) {
    users.push_back(UserFromRow(row));
  }
  return users;
}

bool SetUserActive(db::Database& db, int64_t user_id, bool active) {
  const bool changed =
      db::UserModel().Objects(db).Filter("id", user_id).Update({{"is_active", active}}) > 0;
  auth_internal::CredentialsChanged();
  return changed;
}

// --- Keys

std::string GenerateApiKey() {
  std::array<unsigned char, kApiKeyHexLength / 2> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    throw Internal("The random number generator failed; no key was created");
  }
  std::string key = ToHex(bytes.data(), bytes.size());
  OPENSSL_cleanse(bytes.data(), bytes.size());
  return key;
}

std::string HashApiKey(std::string_view key) {
  Digest d = Sha256(key);
  return ToHex(d.data(), d.size());
}

bool SecretEquals(std::string_view a, std::string_view b) {
  return DigestEquals(Sha256(a), Sha256(b));
}

CreatedApiKey CreateApiKey(db::Database& db, const User& user, std::string name,
                           std::optional<std::chrono::seconds> expires_in, const Clock& clock) {
  if (expires_in && expires_in->count() <= 0) {
    throw InvalidArgument("expires_in must be positive");
  }
  if (expires_in && *expires_in > kMaxApiKeyExpiry) {
    throw InvalidArgument("expires_in must be at most 100 years");
  }
  if (!FindUserById(db, user.id)) {
    throw NotFound("User " + std::to_string(user.id) + " ('" + user.username + "') not found");
  }
  CreatedApiKey created;
  created.key = GenerateApiKey();
  db::Values values = {{"name", name},
                       {"user", user.id},
                       {"prefix", created.key.substr(0, kApiKeyPrefixLength)},
                       {"key_hash", HashApiKey(created.key)},
                       {"created_at", clock.Now()}};
  if (expires_in) values.emplace_back("expires_at", clock.Now() + *expires_in);
  db::Row row = db::ApiKeyModel().Objects(db).Create(values);
  auto info = GetApiKeyInfo(db, row["id"].AsInt());
  if (!info) throw Internal("The new API key vanished");
  created.info = std::move(*info);
  return created;
}

CreatedApiKey CreateApiKey(db::Database& db, const User& user, std::string name,
                           std::optional<std::chrono::seconds> expires_in) {
  return CreateApiKey(db, user, std::move(name), expires_in, db.clock());
}

std::vector<ApiKeyInfo> ListApiKeys(db::Database& db, std::optional<int64_t> user_id) {
  std::vector<ApiKeyInfo> keys;
  std::string sql = kKeyColumns;
  std::vector<db::Value> params;
  if (user_id) {
    sql += " WHERE k.user_id = ?";
    params.emplace_back(*user_id);
  }
  sql += " ORDER BY k.id";
  for (const db::Row& row : db.Query(sql, params)) keys.push_back(InfoFromRow(row));
  return keys;
}

std::optional<ApiKeyInfo> GetApiKeyInfo(db::Database& db, int64_t id) {
  auto rows = db.Query(std::string(kKeyColumns) + " WHERE k.id = ?", {id});
  if (rows.empty()) return std::nullopt;
  return InfoFromRow(rows.front());
}

bool RevokeApiKey(db::Database& db, int64_t id, const Clock& clock) {
  const bool revoked =
      db.Execute("UPDATE rpcforge_apikey SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                 {FormatTimestamp(clock.Now()), id})
          .changes > 0;
  auth_internal::CredentialsChanged();
  return revoked;
}
bool RevokeApiKey(db::Database& db, int64_t id) { return RevokeApiKey(db, id, db.clock()); }

int64_t RevokeUserKeys(db::Database& db, int64_t user_id, const Clock& clock) {
  const int64_t revoked =
      db.Execute(
            "UPDATE rpcforge_apikey SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
            {FormatTimestamp(clock.Now()), user_id})
          .changes;
  auth_internal::CredentialsChanged();
  return revoked;
}
int64_t RevokeUserKeys(db::Database& db, int64_t user_id) {
  return RevokeUserKeys(db, user_id, db.clock());
}

std::optional<VerifiedKey> VerifyApiKey(db::Database& db, std::string_view key,
                                        const Clock& clock) {
  std::optional<std::string> normalized = NormalizeKey(key);
  if (!normalized) return std::nullopt;
  const Digest digest = Sha256(*normalized);
  const std::string hash = ToHex(digest.data(), digest.size());
  auto rows = db.Query(
      "SELECT k.id, k.name, k.prefix, k.user_id, k.expires_at, k.revoked_at, k.key_hash, "
      "u.username, u.email, u.is_active, u.is_staff, u.is_superuser "
      "FROM rpcforge_apikey k JOIN rpcforge_user u ON u.id = k.user_id WHERE k.key_hash = ?",
      {hash});
  if (rows.size() != 1) return std::nullopt;
  const db::Row& row = rows.front();
  // The index found the row; the comparison that decides is still constant-time.
  const std::string& stored = row.at(6).AsText();
  Digest stored_digest{};
  if (stored.size() != stored_digest.size() * 2) return std::nullopt;
  for (size_t i = 0; i < stored_digest.size(); ++i) {
    auto nibble = [](char c) {
      return static_cast<unsigned char>(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    };
    stored_digest[i] =
        static_cast<unsigned char>(nibble(stored[2 * i]) << 4 | nibble(stored[2 * i + 1]));
  }
  if (!DigestEquals(digest, stored_digest)) return std::nullopt;

  const Clock::TimePoint now = clock.Now();
  if (!row.at(5).is_null()) return std::nullopt;                                 // revoked
  if (!row.at(4).is_null() && !(now < row.at(4).AsTime())) return std::nullopt;  // expired
  if (!row.at(9).AsBool()) return std::nullopt;                                  // inactive user

  VerifiedKey v;
  v.key.id = row.at(0).AsInt();
  v.key.name = row.at(1).AsText();
  v.key.prefix = row.at(2).AsText();
  v.key.user_id = row.at(3).AsInt();
  v.key.expires_at = OptTime(row.at(4));
  v.user.id = v.key.user_id;
  v.user.username = row.at(7).AsText();
  v.user.email = row.at(8).AsText();
  v.user.is_active = true;
  v.user.is_staff = row.at(10).AsBool();
  v.user.is_superuser = row.at(11).AsBool();
  return v;
}

std::optional<VerifiedKey> VerifyApiKey(db::Database& db, std::string_view key) {
  return VerifyApiKey(db, key, db.clock());
}

// --- UsageTracker

namespace {

// UpdateUsage adds each key's calls and moves its last_used_at forward.
template <class Map>
void UpdateUsage(db::Database& db, const Map& counts) {
  for (const auto& [id, p] : counts) {
    const std::string when = FormatTimestamp(p.last_used);
    // RFC 3339 text in one fixed format sorts like time, so MAX keeps the latest.
    db.Execute(
        "UPDATE rpcforge_apikey SET request_count = request_count + ?, "
        "last_used_at = CASE WHEN last_used_at IS NULL OR last_used_at < ? THEN ? "
        "ELSE last_used_at END WHERE id = ?",
        {p.count, when, when, id});
  }
}

}  // namespace

// Sink: the counts of one tracker on a shared GroupCommit. `pending_` is guarded by
// the GroupCommit's lock; `taken_` belongs to its writer thread during a batch.
class UsageTracker::Sink final : public db::GroupCommit::Sink {
 public:
  void Add(int64_t key_id, Clock::TimePoint when) {
    Pending& p = pending_[key_id];
    ++p.count;
    if (p.count == 1 || p.last_used < when) p.last_used = when;
  }
  void TakePending() override {
    for (const auto& [id, p] : pending_) taken_calls_ += p.count;
    taken_.swap(pending_);
    pending_.clear();
  }
  void WriteTaken(db::Database& db) override { UpdateUsage(db, taken_); }
  void BatchCommitted() noexcept override { Finish(); }
  void BatchFailed(db::Database& db, const std::exception& error) noexcept override {
    if (!taken_.empty()) {
      try {
        db::Transaction tx = db.Atomic();
        UpdateUsage(db, taken_);
        tx.Commit();
      } catch (const std::exception& e) {
        RPCFORGE_LOG_ERROR("auth", "API key usage: {} call(s) not recorded: {} (after {})",
                           taken_calls_, e.what(), error.what());
      }
    }
    Finish();
  }

  std::atomic<int64_t> recorded_{0};
  std::atomic<int64_t> done_{0};

 private:
  void Finish() {
    done_.fetch_add(taken_calls_);
    taken_calls_ = 0;
    taken_.clear();
  }
  std::unordered_map<int64_t, Pending> pending_;
  std::unordered_map<int64_t, Pending> taken_;
  int64_t taken_calls_ = 0;
};

UsageTracker::UsageTracker(db::Database& db) : UsageTracker(db, Options{}) {}

UsageTracker::UsageTracker(db::Database& db, Options options) : db_(db), options_(options) {
  if (options_.flush_interval.count() > 0) thread_ = std::thread([this] { Run(); });
}

UsageTracker::UsageTracker(db::GroupCommit& commit)
    : db_(commit.database()), commit_(&commit), sink_(std::make_unique<Sink>()) {
  commit_->AddSink(sink_.get());
}

UsageTracker::~UsageTracker() {
  if (commit_ != nullptr) {
    commit_->RemoveSink(sink_.get());  // writes what is pending
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  try {
    Flush();
  } catch (const std::exception& e) {
    RPCFORGE_LOG_ERROR("auth", "API key usage: final flush failed, {} call(s) not recorded: {}",
                       pending(), e.what());
  }
}

uint64_t UsageTracker::Record(int64_t key_id, Clock::TimePoint when, bool* journaled) {
  if (journaled != nullptr) *journaled = false;
  if (commit_ != nullptr) {
    sink_->recorded_.fetch_add(1);
    if (commit_->options().journal == nullptr) {
      return commit_->Submit(*sink_, [&] { sink_->Add(key_id, when); });
    }
    return commit_->Submit(
        *sink_, [&] { sink_->Add(key_id, when); }, db::kJournalApiKeyUse,
        auth_internal::EncodeKeyUse(key_id, when), journaled);
  }
  std::lock_guard<std::mutex> lock(mu_);
  Pending& p = pending_[key_id];
  ++p.count;
  if (p.count == 1 || p.last_used < when) p.last_used = when;
  return 0;
}

namespace auth_internal {

namespace {
std::atomic<uint64_t> g_credentials_generation{1};
}  // namespace

uint64_t CredentialsGeneration() {
  return g_credentials_generation.load(std::memory_order_acquire);
}
void CredentialsChanged() { g_credentials_generation.fetch_add(1, std::memory_order_acq_rel); }

std::string EncodeKeyUse(int64_t key_id, Clock::TimePoint when) {
  const int64_t us =
      std::chrono::duration_cast<std::chrono::microseconds>(when.time_since_epoch()).count();
  std::string out(16, '\0');
  for (int i = 0; i < 8; ++i) {
    out[i] = static_cast<char>(static_cast<uint64_t>(key_id) >> (8 * i));
    out[8 + i] = static_cast<char>(static_cast<uint64_t>(us) >> (8 * i));
  }
  return out;
}

void ApplyKeyUses(db::Database& db, const std::vector<std::string>& payloads) {
  struct Use {
    int64_t count = 0;
    Clock::TimePoint last_used;
  };
  std::unordered_map<int64_t, Use> uses;
  for (const std::string& p : payloads) {
    if (p.size() != 16) {
      RPCFORGE_LOG_WARN("auth", "skipping a journal record that is not a key use");
      continue;
    }
    uint64_t id = 0, us = 0;
    for (int i = 0; i < 8; ++i) {
      id |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
      us |= static_cast<uint64_t>(static_cast<unsigned char>(p[8 + i])) << (8 * i);
    }
    const Clock::TimePoint when{std::chrono::microseconds(static_cast<int64_t>(us))};
    Use& u = uses[static_cast<int64_t>(id)];
    if (u.count++ == 0 || u.last_used < when) u.last_used = when;
  }
  UpdateUsage(db, uses);
}

}  // namespace auth_internal

int64_t UsageTracker::pending() const {
  if (commit_ != nullptr) return sink_->recorded_.load() - sink_->done_.load();
  std::lock_guard<std::mutex> lock(mu_);
  int64_t n = 0;
  for (const auto& [id, p] : pending_) n += p.count;
  return n;
}

size_t UsageTracker::Flush() {
  if (commit_ != nullptr) {
    commit_->Flush();
    return 0;
  }
  std::lock_guard<std::mutex> flush_lock(flush_mu_);
  std::unordered_map<int64_t, Pending> batch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    batch.swap(pending_);
  }
  if (batch.empty()) return 0;
  try {
    db::Transaction tx = db_.Atomic();
    UpdateUsage(db_, batch);
    tx.Commit();
  } catch (...) {
    // Put the counts back so the next flush writes them.
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, p] : batch) {
      Pending& q = pending_[id];
      q.count += p.count;
      if (q.last_used < p.last_used) q.last_used = p.last_used;
    }
    throw;
  }
  return batch.size();
}

void UsageTracker::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, options_.flush_interval, [this] { return stop_; });
    if (stop_) break;
    lock.unlock();
    try {
      Flush();
    } catch (const std::exception& e) {
      RPCFORGE_LOG_ERROR("auth", "API key usage flush failed (will retry): {}", e.what());
    }
    lock.lock();
  }
}

}  // namespace rpcforge::auth
