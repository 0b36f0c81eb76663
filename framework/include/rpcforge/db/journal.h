// SPDX-License-Identifier: Apache-2.0
// rpcforge::db::Journal makes writes that are batched behind the answer (request-log
// rows, API-key usage counts) survive a kill -9 for the price of a memcpy per call: the
// file is mapped shared, so what is copied into it belongs to the kernel at once.
// Each serving process appends its records to its own file in
// `<database>-rpcforge-journal/` (or DatabaseOptions::journal_dir, which a PostgreSQL
// database needs for a journal) before answering; the batches that put them in the database record,
// in the same transaction, how far the file is applied (table `rpcforge_journal`). When a process
// dies, the next one to open the database replays what its file holds past that mark
// (ReplayJournals), exactly once.
//
//   auto journal = db::Journal::Open(db);            // null for an in-memory database
//   uint64_t seq = journal->Append(kind, payload);    // 0: not written, wait instead
//   ... in the batch's transaction: journal->RecordApplied(db, last_seq) ...
//   journal->Applied(last_seq);                       // after the commit
//
// Durability: the record is in the operating system once Append returns (no fsync),
// which a process crash cannot lose; a power loss can. Thread-safe.
//
// Space: each file reserves 2 MiB up front (posix_fallocate, so a full disk is an error
// at Open, never a SIGBUS on a mapped page) as two 1 MiB regions written in turn; a
// region goes on from its start once everything in it is applied. A process whose
// database is a whole region behind gets 0 from Append (its callers wait for their
// commit) until the database catches up. Where the file cannot be mapped it is written
// with pwrite(2), one call per record.
#ifndef RPCFORGE_DB_JOURNAL_H_
#define RPCFORGE_DB_JOURNAL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "rpcforge/export.h"

namespace rpcforge::db {

class Database;

// JournalKind says what a record holds; each kind is written and replayed by its own
// component.
enum JournalKind : uint8_t {
  kJournalRequestLogRow = 1,  // rpcforge/logging/request_log.h
  kJournalApiKeyUse = 2,      // rpcforge/auth/api_keys.h
};

// JournalRecord is one record read back from a journal file.
struct JournalRecord {
  uint64_t seq = 0;
  uint8_t kind = 0;
  std::string payload;
};

class RPCFORGE_EXPORT Journal {
 public:
  // Open creates this process's journal file for `db` in DirectoryOf(db) (made if
  // missing) and locks it (flock) for the life of the Journal. Returns null when that
  // is empty (in memory, or PostgreSQL without DatabaseOptions::journal_dir). Throws
  // rpcforge::Unavailable naming the directory when it cannot be created.
  static std::unique_ptr<Journal> Open(Database& db);
  // The destructor closes the file, and removes it when every record it holds was
  // applied (a clean stop); otherwise the next process replays it.
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // Append writes one record and returns its sequence number (> 0), or 0 when the
  // write failed (disk full, I/O error; logged once, and every later Append returns 0)
  // or the file has no room until the database catches up: the caller must then wait
  // for its write to be committed instead. `then`, when given, runs after the write and
  // before the next record's, with the sequence number (0 on failure): callers queue
  // their item there, so items are queued in the journal's order.
  uint64_t Append(uint8_t kind, std::string_view payload,
                  const std::function<void(uint64_t seq)>& then = nullptr);

  // RecordApplied writes, on `db` inside the caller's transaction, that every record
  // up to `seq` is in the database. Applied tells the journal once that transaction
  // committed; when every record is applied the file is emptied (at most every 4 MiB).
  void RecordApplied(Database& db, uint64_t seq) const;
  void Applied(uint64_t seq);

  // name is the file's name, also its key in `rpcforge_journal`.
  const std::string& name() const { return name_; }
  const std::string& path() const { return path_; }

  // Directory is where the journals of the database file at `db_path` live by
  // default. DirectoryOf is where those of `db` live: empty in memory (no journal), else
  // DatabaseOptions::journal_dir when set, else Directory(path) for a file, else empty
  // (a PostgreSQL server without journal_dir).
  static std::string Directory(const std::string& db_path);
  static std::string DirectoryOf(const Database& db);

  // ReplayJournals applies the journals of `db` whose processes are gone: for each,
  // `apply` gets the records past its applied mark, in order, inside a transaction
  // that also moves the mark; then the file and its mark are removed. Files still
  // locked by a live process are left alone. Returns the number of records applied.
  // A journal that cannot be read or applied is logged and kept for a later try.
  using Apply = std::function<void(Database& db, const std::vector<JournalRecord>& records)>;
  static int64_t ReplayJournals(Database& db, const Apply& apply);

  // TEST_SetMapping(false) makes later Opens use the pwrite(2) fallback, as on a file
  // system that cannot reserve or map the file; true restores the default.
  static void TEST_SetMapping(bool enabled);

 private:
  Journal(Database& db, std::string path, std::string name, int fd);
  bool Map();                                                // in Open
  bool Write(const char* header, std::string_view payload);  // under mu_

  Database& db_;
  const std::string path_;
  const std::string name_;
  const int fd_;
  std::mutex mu_;
  uint64_t last_seq_ = 0;                 // guarded by mu_
  uint64_t applied_seq_ = 0;              // guarded by mu_
  uint64_t size_ = 0;                     // bytes of records, guarded by mu_
  char* map_ = nullptr;                   // the file, mapped shared (null: pwrite), guarded by mu_
  int region_ = 0;                        // the region written to, guarded by mu_
  uint64_t region_last_seq_[2] = {0, 0};  // the last record of each, guarded by mu_
  bool failed_ = false;                   // a write failed (logged once), guarded by mu_
};

}  // namespace rpcforge::db

#endif  // RPCFORGE_DB_JOURNAL_H_
