// SPDX-License-Identifier: Apache-2.0
//
// File format: a sequence of records, each a 21-byte header (payload length u32,
// kind u8, sequence u64, FNV-1a-64 checksum of kind, sequence and payload u64; all
// little-endian) followed by the payload, then an all-zero header that marks the end.
// A process copies its records into a shared mapping of its file under a mutex (perf
// of the durable blog: one write(2) per call was 5 % of the server's CPU) and holds an
// exclusive flock on the file while it lives; the lock is what tells a replaying
// process that the owner is gone. The file is two 1 MiB regions; records go into one
// until it is full, then into the other once every record there is applied, and a
// region whose records are all applied starts over at its beginning. So older
// records may follow an end mark; their sequence numbers are lower, and reading a
// region stops at the first record that does not go up. Replay reads both regions
// and orders their records by sequence. A record torn by
// a crash in the middle of its copy fails its checksum, and reading stops there: only
// that record's call can be affected, and it was never answered.
#include "rpcforge/db/journal.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
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

std::atomic<bool> g_mapping{true};  // TEST_SetMapping

constexpr size_t kHeaderSize = 4 + 1 + 8 + 8;
// A mapped file is two regions written in turn: a full region hands over to the other
// once everything in that one is applied, so the file never grows.
constexpr uint64_t kRegion = 1u << 20;
constexpr uint64_t kRewindAt = 256u << 10;   // everything applied and this far: start over
constexpr uint64_t kTruncateAt = 4u << 20;   // the same for a file written with pwrite
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
      "ON CONFLICT(\"name\") DO UPDATE SET \"applied_seq\" = excluded.\"applied_seq\" "
      "WHERE \"rpcforge_journal\".\"applied_seq\" < excluded.\"applied_seq\"",
      {name, static_cast<int64_t>(seq)});
}

// ParseRecords appends the records of `data` from `at` on, up to the end mark or the
// first record whose sequence does not go up (left from before the region started
// over). Returns false when it stopped at a damaged record.
bool ParseRecords(std::string_view data, size_t at, std::vector<JournalRecord>* out) {
  uint64_t last = 0;
  while (data.size() - at >= kHeaderSize) {
    const auto* header = reinterpret_cast<const unsigned char*>(data.data() + at);
    const auto size = static_cast<uint32_t>(GetLe(header, 4));
    JournalRecord r;
    r.kind = header[4];
    r.seq = GetLe(header + 5, 8);
    const uint64_t check = GetLe(header + 13, 8);
    if (size == 0 && r.kind == 0 && r.seq == 0 && check == 0) return true;  // the end mark
    if (size > kMaxPayload || size > data.size() - at - kHeaderSize) return false;
    r.payload.assign(data.data() + at + kHeaderSize, size);
    if (Checksum(r.kind, r.seq, r.payload) != check) return false;
    if (r.seq <= last) return true;  // an older record, from before the region started over
    last = r.seq;
    at += kHeaderSize + size;
    out->push_back(std::move(r));
  }
  return at == data.size();
}

// ReadRecords reads the records of `path` with a sequence above `after`, in order. A
// file of two regions is read region by region; a file written with pwrite is one.
std::vector<JournalRecord> ReadRecords(const std::string& path, uint64_t after) {
  std::ifstream in(path, std::ios::binary);
  const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<JournalRecord> all;
  bool clean = ParseRecords(data, 0, &all);
  if (data.size() == 2 * kRegion) clean = ParseRecords(data, kRegion, &all) && clean;
  if (!clean) {
    RPCFORGE_LOG_WARN("journal", "{}: stopped at a damaged record after {} good ones", path,
                      all.size());
  }
  std::sort(all.begin(), all.end(),
            [](const JournalRecord& a, const JournalRecord& b) { return a.seq < b.seq; });
  std::vector<JournalRecord> records;
  for (auto& r : all) {
    if (r.seq > after && (records.empty() || records.back().seq != r.seq)) {
      records.push_back(std::move(r));
    }
  }
  return records;
}

}  // namespace

// Not "<db>-journal": that is SQLite's own rollback journal.
std::string Journal::Directory(const std::string& db_path) { return db_path + "-rpcforge-journal"; }

std::string Journal::DirectoryOf(const Database& db) {
  // An in-memory database dies with the process, so nothing is worth a journal.
  if (db.in_memory()) return "";
  if (!db.journal_dir().empty()) return db.journal_dir();
  // No default journal beside a PostgreSQL database: its server is shared by instances on
  // other machines, so only its operator can name a local directory (journal_dir).
  if (IsPostgresUrl(db.path())) return "";
  return Directory(db.path());
}

std::unique_ptr<Journal> Journal::Open(Database& db) {
  const std::string dir = DirectoryOf(db);
  if (dir.empty()) return nullptr;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || !std::filesystem::is_directory(dir, ec)) {
    throw Unavailable("cannot create the journal directory " + dir + ": " +
                      (ec ? ec.message() : std::string("not a directory")));
  }
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const std::string name =
      std::to_string(::getpid()) + "-" +
      std::to_string(std::chrono::duration_cast<std::chrono::nanoseconds>(now).count()) +
      kExtension;
  const std::string path = dir + "/" + name;
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) throw Unavailable("cannot create the journal " + path + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    throw Unavailable("cannot lock the journal " + path + ": " + std::strerror(errno));
  }
  auto journal = std::unique_ptr<Journal>(new Journal(db, path, name, fd));
  if (!g_mapping.load(std::memory_order_relaxed)) {
    RPCFORGE_LOG_DEBUG("journal", "{}: not mapped (TEST_SetMapping)", path);
  } else if (!journal->Map()) {
    RPCFORGE_LOG_WARN("journal", "{}: cannot map 2 MiB ({}); writing it record by record", path,
                      std::strerror(errno));
  }
  return journal;
}

void Journal::TEST_SetMapping(bool enabled) { g_mapping.store(enabled); }

bool Journal::Map() {
  // posix_fallocate returns the error instead of setting errno.
  if (const int error = ::posix_fallocate(fd_, 0, static_cast<off_t>(2 * kRegion)); error != 0) {
    errno = error;
    return false;
  }
  void* p = ::mmap(nullptr, 2 * kRegion, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
  if (p == MAP_FAILED) return false;
  map_ = static_cast<char*>(p);
  return true;
}

bool Journal::Write(const char* header, std::string_view payload) {
  const uint64_t n = kHeaderSize + payload.size();
  if (map_ == nullptr) {
    const std::string record = std::string(header, kHeaderSize) + std::string(payload);
    size_t written = 0;
    while (written < record.size()) {
      const ssize_t w = ::pwrite(fd_, record.data() + written, record.size() - written,
                                 static_cast<off_t>(size_ + written));
      if (w > 0) {
        written += static_cast<size_t>(w);
      } else if (w < 0 && errno == EINTR) {
        continue;
      } else {
        return false;
      }
    }
    size_ += n;
    return true;
  }
  if (size_ + n + kHeaderSize > kRegion) {
    // This region is full: go on in the other one once all of its records are applied.
    // Until then (the database is behind by a whole region) the caller waits for its
    // commit instead.
    if (region_last_seq_[1 - region_] > applied_seq_ || n + kHeaderSize > kRegion) {
      errno = EAGAIN;
      return false;
    }
    // The full region's pages stay in the page cache (its records are safe there);
    // dropping them from this process keeps 1 MiB, not 2, resident.
    ::madvise(map_ + region_ * kRegion, kRegion, MADV_DONTNEED);
    region_ = 1 - region_;
    size_ = 0;
  }
  char* at = map_ + region_ * kRegion + size_;
  std::memcpy(at, header, kHeaderSize);
  std::memcpy(at + kHeaderSize, payload.data(), payload.size());
  std::memset(at + n, 0, kHeaderSize);  // the end mark
  size_ += n;
  return true;
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
  if (map_ != nullptr) ::munmap(map_, 2 * kRegion);
  ::close(fd_);
}

uint64_t Journal::Append(uint8_t kind, std::string_view payload,
                         const std::function<void(uint64_t seq)>& then) {
  unsigned char header[kHeaderSize];
  PutLe(header, payload.size(), 4);
  header[4] = kind;
  std::lock_guard<std::mutex> lock(mu_);
  if (failed_) {
    if (then) then(0);
    return 0;
  }
  const uint64_t seq = last_seq_ + 1;
  PutLe(header + 5, seq, 8);
  PutLe(header + 13, Checksum(kind, seq, payload), 8);
  if (!Write(reinterpret_cast<const char*>(header), payload)) {
    if (errno == EAGAIN) {  // no room until the database catches up; not a failure
      if (then) then(0);
      return 0;
    }
    failed_ = true;
    RPCFORGE_LOG_ERROR("journal",
                       "cannot append to {}: {}; calls now wait for their rows to commit", path_,
                       std::strerror(errno));
    if (then) then(0);
    return 0;
  }
  last_seq_ = seq;
  if (map_ != nullptr) region_last_seq_[region_] = seq;
  if (then) then(seq);
  return seq;
}

void Journal::RecordApplied(Database& db, uint64_t seq) const { WriteMark(db, name_, seq); }

void Journal::Applied(uint64_t seq) {
  std::lock_guard<std::mutex> lock(mu_);
  applied_seq_ = std::max(applied_seq_, seq);
  if (applied_seq_ < last_seq_ || failed_) return;
  // Every record is in the database and no append can run meanwhile (mu_).
  if (map_ != nullptr && size_ >= kRewindAt) {
    std::memset(map_ + region_ * kRegion, 0, kHeaderSize);  // the end mark, at the start
    size_ = 0;
  } else if (map_ == nullptr && size_ >= kTruncateAt && ::ftruncate(fd_, 0) == 0) {
    size_ = 0;
  }
}

int64_t Journal::ReplayJournals(Database& db, const Apply& apply) {
  namespace fs = std::filesystem;
  const std::string dir_name = DirectoryOf(db);
  if (dir_name.empty()) return 0;
  const fs::path dir = dir_name;
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
