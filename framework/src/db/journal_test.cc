// SPDX-License-Identifier: Apache-2.0
// Journal: what a process appends is replayed exactly once after it is gone, from its
// applied mark on; a torn record ends the replay; a live process's journal is left
// alone; a clean stop leaves nothing behind.
#include "rpcforge/db/journal.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "db/test_backends.h"
#include "rpcforge/db/database.h"
#include "rpcforge/db/migrate.h"
#include "rpcforge/db/registry.h"

namespace {

using rpcforge::db::Database;
using rpcforge::db::Journal;
using rpcforge::db::JournalRecord;
using ::testing::ElementsAre;

// On every backend (test_backends.h): SQLite always (the journal beside the file),
// PostgreSQL when RPCFORGE_TEST_POSTGRES names a server (in DatabaseOptions::journal_dir).
class JournalTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    scratch_ = std::make_unique<rpcforge::db::testmodels::ScratchDatabase>(GetParam());
    rpcforge::db::DatabaseOptions options;
    options.path = scratch_->path();
    if (GetParam() != "sqlite") options.journal_dir = journals_.File("journals");
    db_ = std::make_unique<Database>(options);
    std::ostringstream ignored;
    rpcforge::db::Migrate(*db_, rpcforge::db::Registry::Global(), ignored);
  }
  void TearDown() override { db_.reset(); }

  // Replay collects the payloads replayed.
  std::vector<std::string> Replay() {
    std::vector<std::string> seen;
    Journal::ReplayJournals(*db_, [&](Database&, const std::vector<JournalRecord>& records) {
      for (const auto& r : records) seen.push_back(r.payload);
    });
    return seen;
  }
  size_t Files() {
    const std::filesystem::path d = Journal::DirectoryOf(*db_);
    if (!std::filesystem::exists(d)) return 0;
    return static_cast<size_t>(std::distance(std::filesystem::directory_iterator(d),
                                             std::filesystem::directory_iterator()));
  }
  int64_t Marks() { return db_->Query("SELECT COUNT(*) FROM rpcforge_journal")[0].at(0).AsInt(); }

  rpcforge::db::testmodels::TempDir journals_;
  std::unique_ptr<rpcforge::db::testmodels::ScratchDatabase> scratch_;
  std::unique_ptr<Database> db_;
};

TEST_P(JournalTest, WhatAGoneProcessLeftIsReplayedOnceFromItsMark) {
  {
    auto journal = Journal::Open(*db_);
    for (const char* p : {"a", "b", "c", "d", "e"}) EXPECT_GT(journal->Append(1, p), 0u);
    // The first three made it into the database in a batch.
    auto tx = db_->Atomic();
    journal->RecordApplied(*db_, 3);
    tx.Commit();
    journal->Applied(3);
  }  // "dies" with two records unapplied: the file stays, unlocked
  EXPECT_EQ(Files(), 1u);
  EXPECT_THAT(Replay(), ElementsAre("d", "e"));
  EXPECT_EQ(Files(), 0u);  // replayed, then removed with its mark
  EXPECT_EQ(Marks(), 0);
  EXPECT_THAT(Replay(), ElementsAre());
}

TEST_P(JournalTest, ALiveProcesssJournalIsLeftAlone) {
  auto journal = Journal::Open(*db_);
  journal->Append(1, "live");
  EXPECT_THAT(Replay(), ElementsAre());  // still locked by its owner
  EXPECT_EQ(Files(), 1u);
}

TEST_P(JournalTest, ACleanStopRemovesTheFileAndItsMark) {
  {
    auto journal = Journal::Open(*db_);
    const uint64_t last = journal->Append(1, "x");
    auto tx = db_->Atomic();
    journal->RecordApplied(*db_, last);
    tx.Commit();
    journal->Applied(last);
  }
  EXPECT_EQ(Files(), 0u);
  EXPECT_EQ(Marks(), 0);
}

TEST_P(JournalTest, ATornRecordEndsTheReplay) {
  std::string path;
  {
    auto journal = Journal::Open(*db_);
    journal->Append(1, "first");
    journal->Append(1, "second");
    path = journal->path();
  }
  // A crash in the middle of the third record's copy: its header and part of its
  // payload are where the end mark was (two 21-byte headers plus 11 payload bytes in).
  std::fstream(path, std::ios::in | std::ios::out | std::ios::binary).seekp(2 * 21 + 11)
      << std::string("\x20\x00\x00\x00\x01garb", 9);
  EXPECT_THAT(Replay(), ElementsAre("first", "second"));
}

// Apply every record appended so far, as a batch's commit does.
void ApplyAll(Database& db, Journal& journal, uint64_t last) {
  auto tx = db.Atomic();
  journal.RecordApplied(db, last);
  tx.Commit();
  journal.Applied(last);
}

TEST_P(JournalTest, AfterStartingOverOnlyTheNewRecordsAreReplayed) {
  const std::string big(1000, 'x');
  {
    auto journal = Journal::Open(*db_);
    uint64_t last = 0;
    for (int i = 0; i < 300; ++i) last = journal->Append(1, big + std::to_string(i));
    ApplyAll(*db_, *journal, last);  // 300 KiB, all applied: the file starts over
    journal->Append(1, "new 1");
    journal->Append(1, "new 2");
  }
  // The 300 old records are still in the file after the end mark; none comes back.
  EXPECT_THAT(Replay(), ElementsAre("new 1", "new 2"));
}

TEST_P(JournalTest, RecordsInBothRegionsAreReplayedInOrder) {
  const std::string big(10000, 'y');
  std::vector<std::string> expected;
  {
    auto journal = Journal::Open(*db_);
    for (int i = 0; i < 150; ++i) {  // 1.5 MB unapplied: the first region and half the second
      expected.push_back(big + std::to_string(i));
      ASSERT_GT(journal->Append(1, expected.back()), 0u) << i;
    }
  }
  const std::vector<std::string> replayed = Replay();
  ASSERT_EQ(replayed.size(), expected.size());
  EXPECT_TRUE(replayed == expected);
}

TEST_P(JournalTest, AJournalFullOfUnappliedRecordsRefusesUntilTheyAreApplied) {
  const std::string big(10000, 'z');
  auto journal = Journal::Open(*db_);
  uint64_t last = 0;
  int appended = 0;
  for (; appended < 1000; ++appended) {
    const uint64_t seq = journal->Append(1, big);
    if (seq == 0) break;
    last = seq;
  }
  // Both regions (2 MiB) are full of records the database does not have yet.
  EXPECT_GT(appended, 150);
  EXPECT_LT(appended, 220);
  EXPECT_EQ(journal->Append(1, big), 0u);
  ApplyAll(*db_, *journal, last);
  EXPECT_EQ(journal->Append(1, big), last + 1);  // not a lasting failure
}

// Where the file cannot be reserved or mapped, records are written with pwrite(2): the
// same replay from the mark, the same torn-record end, the same clean stop.
// Opens in its scope use the pwrite(2) fallback.
struct WithoutMapping {
  WithoutMapping() { Journal::TEST_SetMapping(false); }
  ~WithoutMapping() { Journal::TEST_SetMapping(true); }
};

TEST_P(JournalTest, WithoutAMappingRecordsAreWrittenAndReplayedTheSame) {
  std::string path;
  {
    WithoutMapping fallback;
    auto journal = Journal::Open(*db_);
    for (const char* p : {"a", "b", "c", "d"}) EXPECT_GT(journal->Append(1, p), 0u);
    ApplyAll(*db_, *journal, 2);
    path = journal->path();
  }
  EXPECT_EQ(std::filesystem::file_size(path), 4u * (21 + 1));  // no reserved space
  // A crash in the middle of a fifth record's write.
  std::ofstream(path, std::ios::app | std::ios::binary)
      << std::string("\x20\x00\x00\x00\x01garb", 9);
  EXPECT_THAT(Replay(), ElementsAre("c", "d"));
  EXPECT_EQ(Files(), 0u);
  {
    WithoutMapping fallback;
    auto journal = Journal::Open(*db_);
    ApplyAll(*db_, *journal, journal->Append(1, "x"));
  }
  EXPECT_EQ(Files(), 0u);  // a clean stop removes it
  EXPECT_EQ(Marks(), 0);
}

TEST_P(JournalTest, ReplayedRecordsAndTheMarkCommitTogether) {
  {
    auto journal = Journal::Open(*db_);
    journal->Append(1, "boom");
    journal->Append(1, "fine");
  }
  // The applier fails: nothing is marked, the file stays for a later try.
  Journal::ReplayJournals(*db_, [](Database&, const std::vector<JournalRecord>&) {
    throw std::runtime_error("database busy");
  });
  EXPECT_EQ(Files(), 1u);
  EXPECT_THAT(Replay(), ElementsAre("boom", "fine"));
}

TEST(Journal, AnInMemoryDatabaseHasNoJournal) {
  auto memory = Database::Open(":memory:");
  EXPECT_EQ(Journal::Open(*memory), nullptr);
  // Not even when a directory is named: nothing in memory outlives the process.
  ::rpcforge::db::testmodels::TempDir tmp;
  rpcforge::db::DatabaseOptions options;
  options.path = ":memory:";
  options.journal_dir = tmp.File("journals");
  Database named(options);
  EXPECT_EQ(Journal::DirectoryOf(named), "");
  EXPECT_EQ(Journal::Open(named), nullptr);
  EXPECT_EQ(Journal::ReplayJournals(named, [](Database&, const std::vector<JournalRecord>&) {}), 0);
  EXPECT_FALSE(std::filesystem::exists(options.journal_dir));
}

INSTANTIATE_TEST_SUITE_P(Backends, JournalTest,
                         ::testing::ValuesIn(rpcforge::db::testmodels::TestBackends()),
                         [](const auto& info) { return info.param; });

// A PostgreSQL database has no journal beside it (it is not a local file) unless
// DatabaseOptions::journal_dir names one; with one, it works as beside a file.
TEST(PostgresJournal, NoneByDefaultAndReplayedFromTheDirectoryNamed) {
  namespace tmodels = ::rpcforge::db::testmodels;
  if (tmodels::PostgresUrl().empty()) GTEST_SKIP() << "RPCFORGE_TEST_POSTGRES is unset";
  tmodels::ScratchDatabase scratch("postgres");
  tmodels::TempDir tmp;
  rpcforge::db::DatabaseOptions options;
  options.path = scratch.path();
  {
    Database plain(options);
    std::ostringstream ignored;
    rpcforge::db::Migrate(plain, rpcforge::db::Registry::Global(), ignored);
    EXPECT_EQ(Journal::Open(plain), nullptr);
    EXPECT_EQ(Journal::DirectoryOf(plain), "");
  }
  options.journal_dir = tmp.File("journals/blog");  // made, parents too
  Database db(options);
  EXPECT_EQ(Journal::DirectoryOf(db), options.journal_dir);
  {
    auto journal = Journal::Open(db);
    ASSERT_NE(journal, nullptr);
    EXPECT_EQ(std::filesystem::path(journal->path()).parent_path(), options.journal_dir);
    journal->Append(1, "applied");
    journal->Append(1, "not yet");
    auto tx = db.Atomic();
    journal->RecordApplied(db, 1);
    tx.Commit();
    journal->Applied(1);
  }  // killed with one record unapplied
  std::vector<std::string> seen;
  Journal::ReplayJournals(db, [&](Database&, const std::vector<JournalRecord>& records) {
    for (const auto& r : records) seen.push_back(r.payload);
  });
  EXPECT_THAT(seen, ElementsAre("not yet"));
  EXPECT_TRUE(std::filesystem::is_empty(options.journal_dir));
  EXPECT_EQ(db.Query("SELECT COUNT(*) FROM rpcforge_journal")[0].at(0).AsInt(), 0);
}

}  // namespace
