// SPDX-License-Identifier: Apache-2.0
// The schema-evolution commands as a user runs them: a model gains a field, check,
// serve and makemigrations --check notice, makemigrations writes the migration, migrate
// applies it and moves back. Its own binary: it registers apps in the global registry.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "rpcforge/app.h"
#include "rpcforge/db/database.h"
#include "rpcforge/db/registry.h"
#include "rpcforge/db/schema.h"
#include "rpcforge/testing/command.h"

namespace {

namespace db = ::rpcforge::db;
namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using Result = rpcforge::testing::CommandResult;

const db::Model& NoteBefore() {
  static const db::Model m("notes.note", {db::CharField("title", 50), db::TextField("body")});
  return m;
}
// What the source says now: a field added.
const db::Model& Note() {
  static const db::Model m("notes.note", {db::CharField("title", 50), db::TextField("body"),
                                          db::BoolField("pinned").Default(false)});
  return m;
}
const db::Model& MemoBefore() {
  static const db::Model m("memos.memo", {db::TextField("body")});
  return m;
}
const db::Model& Memo() {
  static const db::Model m("memos.memo", {db::TextField("text")});
  return m;
}

std::string Read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class MigrationCommands : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("rpcforge_migcli_" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "notes");
    db_path_ = (dir_ / "db.sqlite3").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  Result Run(std::vector<std::string> args) {
    args.insert(args.begin(), {"--database", db_path_, "--log-level", "error"});
    return rpcforge::testing::RunCommand(app_, args);
  }

  rpcforge::App app_;
  fs::path dir_;
  std::string db_path_;
};

// First, while no app is registered: a binary without models (helloworld) passes.
TEST_F(MigrationCommands, WithoutModelsThereIsNothingToMake) {
  Result r = Run({"makemigrations", "--check"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("No changes detected (no app has models)"));
}

TEST_F(MigrationCommands, FromAModelChangeToAMigratedDatabaseAndBack) {
  // The app as built: 0001 written before `pinned` was added to the model.
  const std::string initial =
      db::WriteMigrationFile("notes", "0001_initial", {db::Operation::CreateModel(NoteBefore())});
  std::ofstream(dir_ / "notes" / "0001_initial.json") << initial;
  db::App& notes = db::Registry::Global().app("notes");
  notes.AddModel(Note()).SetMigrationsDir((dir_ / "notes").string());
  notes.AddMigrationFile("0001_initial.json", initial);

  // Nothing goes unnoticed: makemigrations --check, check and serve all refuse.
  Result r = Run({"makemigrations", "--check"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("Migrations missing for 'notes'"));
  EXPECT_THAT(r.out, HasSubstr("- Add field pinned to notes.note"));
  EXPECT_FALSE(fs::exists(dir_ / "notes" / "0002_note_pinned.json"));
  r = Run({"check"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("error: notes.note: Add field pinned to notes.note (no migration "
                               "has it; run `"));
  EXPECT_THAT(r.err, HasSubstr(" makemigrations notes`)"));
  ASSERT_EQ(Run({"migrate"}).exit_code, 0);
  r = Run({"serve", "--address", "127.0.0.1:0"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("Add field pinned to notes.note"));
  EXPECT_THAT(r.err, HasSubstr("not serving"));

  // makemigrations writes the next migration, once.
  r = Run({"makemigrations"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("0002_note_pinned.json\n    - Add field pinned to notes.note"));
  const fs::path second = dir_ / "notes" / "0002_note_pinned.json";
  ASSERT_TRUE(fs::exists(second));
  EXPECT_THAT(Run({"makemigrations", "notes"}).out,
              HasSubstr("No changes detected in app 'notes'"));
  EXPECT_EQ(Run({"makemigrations", "--check"}).exit_code, 0);

  // The next build embeds it; until migrate, the database is behind.
  notes.AddMigrationFile(second.string(), Read(second));
  r = Run({"check"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("1 migration(s) not applied to " + db_path_ +
                               ": notes.0002_note_pinned; run `"));
  r = Run({"showmigrations"});
  EXPECT_THAT(r.out, HasSubstr("notes\n [X] 0001_initial\n [ ] 0002_note_pinned\n"));
  r = Run({"sqlmigrate", "notes", "0002_note_pinned"});
  EXPECT_THAT(r.out, HasSubstr("SELECT \"id\", \"title\", \"body\", 0 FROM \"notes_note\";"));
  {
    auto d = db::Database::Open(db_path_);
    d->Execute("INSERT INTO notes_note (title, body) VALUES ('kept', 'through it all')");
  }
  r = Run({"migrate"});
  EXPECT_THAT(r.out,
              HasSubstr("Database: " + db_path_ + "\nApplying notes.0002_note_pinned... OK"));
  r = Run({"check"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("migrations: ok"));

  // Backwards, by number, then to zero, and forwards again: the row survives.
  r = Run({"migrate", "notes", "0001"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Unapplying notes.0002_note_pinned... OK"));
  EXPECT_EQ(Run({"migrate", "notes"}).exit_code, 0);
  {
    auto d = db::Database::Open(db_path_);
    auto rows = d->Query("SELECT title, pinned FROM notes_note");
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0]["title"].AsText(), "kept");
  }
  r = Run({"migrate", "notes", "zero"});
  EXPECT_THAT(r.out, HasSubstr("Unapplying notes.0001_initial... OK"));
  r = Run({"migrate", "notes", "0007"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("no migration of notes matches '0007' (0001_initial, "
                               "0002_note_pinned, or zero)"));
}

TEST_F(MigrationCommands, ARenameIsARenameOnlyWhenSaidSo) {
  fs::create_directories(dir_ / "memos");
  const std::string initial =
      db::WriteMigrationFile("memos", "0001_initial", {db::Operation::CreateModel(MemoBefore())});
  std::ofstream(dir_ / "memos" / "0001_initial.json") << initial;
  db::App& memos = db::Registry::Global().app("memos");
  memos.AddModel(Memo()).SetMigrationsDir((dir_ / "memos").string());
  memos.AddMigrationFile("0001_initial.json", initial);

  Result r = Run({"makemigrations", "memos", "--dry-run"});
  EXPECT_THAT(r.out, HasSubstr("- Add field text to memos.memo\n    - Remove field body"));
  r = Run({"makemigrations", "memos", "--rename", "--name", "memo_text"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out,
              HasSubstr("0002_memo_text.json\n    - Rename field body on memos.memo to text"));
  EXPECT_THAT(Read(dir_ / "memos" / "0002_memo_text.json"), HasSubstr("\"op\": \"RenameField\""));
  r = Run({"makemigrations", "nope"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("no app 'nope'"));
}

}  // namespace
