// SPDX-License-Identifier: Apache-2.0
//
// File format: a sequence of records, each a 21-byte header (payload length u32,
// kind u8, sequence u64, FNV-1a-64 checksum of kind, sequence and payload u64; all
// little-endian) followed by the payload. A process appends with O_APPEND, one
// write(2) per record under a mutex, and holds an exclusive flock on its file while it
// lives; the lock is what tells a replaying process that the owner is gone. A record
// torn by a crash in the middle of its write fails its checksum, and reading stops
// there: only that record's call can be affected, and it was never answered.
#include "rpcforge/db/journal.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/logging.h"
#include "rpcforge/db/database.h"
#include "rpcforge/errors.h"

namespace rpcforge::db {
namespace {

constexpr size_t kHeaderSize = 4 + 1 + 8 + 8;
constexpr uint64_t kTruncateAt = 4u << 20;
constexpr uint32_t kMaxPayload = 16u << 20;  // a record larger than this is corrupt
constexpr size_t kReplayChunk = 1000;
constexpr const char* kExtension = ".journal";

uint64_t Checksum(uint8_t kind, uint64_t seq, std::string_view payload) {
  uint64_t h = 1469598103934665603ULL;
  auto mix = [&h](unsigned char c) {
    h ^= c;
    h *= 1099511628211ULL;
  };
  mix(kind);
  for (int i = 0; i < 8; ++i) mix(static_cast<unsigned char>(seq >> (8 * i)));
  for (unsigned char c : payload) mix(c);
  return h;
}

void PutLe(unsigned char* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out[i] = static_cast<unsigned char>(v >> (8 * i));
}

uint64_t GetLe(const unsigned char* in, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= static_cast<uint64_t>(in[i]) << (8 * i);
  return v;
}

void WriteMark(Database& db, const std::string& name, uint64_t seq) {
  db.Execute(
      "INSERT INTO \"rpcforge_journal\" (\"name\", \"applied_seq\") VALUES (?, ?) "
      "ON CONFLICT(\"name\") DO UPDATE SET \"applied_seq\" = "
      "MAX(\"applied_seq\", excluded.\"applied_seq\")",
      {name, static_cast<int64_t>(seq)});
}

// ReadRecords reads the records of `path` with a sequence above `after`.
std::vector<JournalRecord> ReadRecords(const std::string& path, uint64_t after) {
  std::vector<JournalRecord> records;
  std::ifstream in(path, std::ios::binary);
  std::array<unsigned char, kHeaderSize> header{};
  uint64_t good = 0;
  while (in.read(reinterpret_cast<char*>(header.data()), header.size())) {
    const auto size = static_cast<uint32_t>(GetLe(header.data(), 4));
    JournalRecord r;
    r.kind = header[4];
    r.seq = GetLe(header.data() + 5, 8);
    const uint64_t check = GetLe(header.data() + 13, 8);
    if (size > kMaxPayload) break;
    r.payload.resize(size);
    if (!in.read(r.payload.data(), size)) break;
    if (Checksum(r.kind, r.seq, r.payload) != check) break;
    ++good;
    if (r.seq > after) records.push_back(std::move(r));
  }
  if (!in.eof()) {
    RPCFORGE_LOG_WARN("journal", "{}: stopped at a damaged record after {} good ones", path, good);
  }
  return records;
}

}  // namespace

// Not "<db>-journal": that is SQLite's own rollback journal.
std::string Journal::Directory(const std::string& db_path) { return db_path + "-rpcforge-journal"; }

std::unique_ptr<Journal> Journal::Open(Database& db) {
  if (db.in_memory()) return nullptr;
  const std::string dir = Directory(db.path());
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    throw Unavailable("cannot create the journal directory " + dir + ": " + std::strerror(errno));
  }
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const std::string name =
      std::to_string(::getpid()) + "-" +
      std::to_string(std::chrono::duration_cast<std::chrono::nanoseconds>(now).count()) +
      kExtension;
  const std::string path = dir + "/" + name;
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) throw Unavailable("cannot create the journal " + path + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    throw Unavailable("cannot lock the journal " + path + ": " + std::strerror(errno));
  }
  return std::unique_ptr<Journal>(new Journal(db, path, name, fd));
}

Journal::Journal(Database& db, std::string path, std::string name, int fd)
    : db_(db), path_(std::move(path)), name_(std::move(name)), fd_(fd) {}

Journal::~Journal() {
  std::lock_guard<std::mutex> lock(mu_);
  if (applied_seq_ >= last_seq_ && !failed_) {
    // Everything is in the database: remove the file while it is still locked.
    ::unlink(path_.c_str());
    try {
      db_.Execute("DELETE FROM \"rpcforge_journal\" WHERE \"name\" = ?", {name_});
    } catch (const std::exception& e) {
      RPCFORGE_LOG_WARN("journal", "cannot remove the mark of {}: {}", name_, e.what());
    }
  } else {
    RPCFORGE_LOG_WARN("journal",
                      "{} keeps {} record(s) not yet applied; the next process replays them", path_,
                      last_seq_ - applied_seq_);
  }
  ::close(fd_);
}

uint64_t Journal::Append(uint8_t kind, std::string_view payload,
                         const std::function<void(uint64_t seq)>& then) {
  std::string record(kHeaderSize + payload.size(), '\0');
  auto* header = reinterpret_cast<unsigned char*>(record.data());
  PutLe(header, payload.size(), 4);
  header[4] = kind;
  std::memcpy(record.data() + kHeaderSize, payload.data(), payload.size());
  std::lock_guard<std::mutex> lock(mu_);
  if (failed_) {
    if (then) then(0);
    return 0;
  }
  const uint64_t seq = last_seq_ + 1;
  PutLe(header + 5, seq, 8);
  PutLe(header + 13, Checksum(kind, seq, payload), 8);
  size_t written = 0;
  while (written < record.size()) {
    const ssize_t n = ::write(fd_, record.data() + written, record.size() - written);
    if (n > 0) {
      written += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      failed_ = true;
      RPCFORGE_LOG_ERROR("journal",
                         "cannot append to {}: {}; calls now wait for their rows to commit", path_,
                         std::strerror(errno));
      if (then) then(0);
      return 0;
    }
  }
  last_seq_ = seq;
  size_ += record.size();
  if (then) then(seq);
  return seq;
}

void Journal::RecordApplied(Database& db, uint64_t seq) const { WriteMark(db, name_, seq); }

void Journal::Applied(uint64_t seq) {
  std::lock_guard<std::mutex> lock(mu_);
  applied_seq_ = std::max(applied_seq_, seq);
  if (applied_seq_ >= last_seq_ && size_ >= kTruncateAt && !failed_) {
    // Every record is in the database and no append can run meanwhile (mu_).
    if (::ftruncate(fd_, 0) == 0) size_ = 0;
  }
}

int64_t Journal::ReplayJournals(Database& db, const Apply& apply) {
  if (db.in_memory()) return 0;
  namespace fs = std::filesystem;
  const fs::path dir = Directory(db.path());
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return 0;
  int64_t total = 0;
  // Bounded by the files present when the scan starts.
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string path = entry.path().string();
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file(ec) || entry.path().extension() != kExtension) continue;
    const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) continue;
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {  // its process is alive
      ::close(fd);
      continue;
    }
    try {
      uint64_t mark = 0;
      for (const Row& row : db.Query(
               "SELECT \"applied_seq\" FROM \"rpcforge_journal\" WHERE \"name\" = ?", {name})) {
        mark = static_cast<uint64_t>(row.at(0).AsInt());
      }
      const std::vector<JournalRecord> records = ReadRecords(path, mark);
      for (size_t at = 0; at < records.size(); at += kReplayChunk) {
        const size_t n = std::min(kReplayChunk, records.size() - at);
        std::vector<JournalRecord> chunk(records.begin() + at, records.begin() + at + n);
        Transaction tx = db.Atomic();
        apply(db, chunk);
        WriteMark(db, name, chunk.back().seq);
        tx.Commit();
        total += static_cast<int64_t>(n);
      }
      if (!records.empty()) {
        RPCFORGE_LOG_WARN("journal",
                          "replayed {} record(s) of {}, left by a process that ended "
                          "without applying them",
                          records.size(), path);
      }
      ::unlink(path.c_str());
      db.Execute("DELETE FROM \"rpcforge_journal\" WHERE \"name\" = ?", {name});
    } catch (const std::exception& e) {
      RPCFORGE_LOG_WARN("journal", "cannot replay {} now (kept for a later try): {}", path,
                        e.what());
    }
    ::close(fd);
  }
  return total;
}

}  // namespace rpcforge::db
