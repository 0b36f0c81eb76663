// SPDX-License-Identifier: Apache-2.0
// The request log's writer: request ids, batched INSERT shapes, rows whose user is gone,
// write-behind with back-pressure, flushing on shutdown and on destruction, durable
// answers after commit; statistics, retention, the documented config and the
// migrations. What the request_logging middleware records for each kind of call is
// tested beside it (middleware/request_logging_test.cc).
#include "rpcforge/logging/request_log.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/source_file_for_tests.h"
#include "logging/testdata/request_log_harness.h"

// The tests live in the harness's namespace, so its helpers and using-declarations apply.
namespace request_log_testing {

using ::testing::DoubleEq;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

class RequestLogTest : public rpcforge::fixtures::TestCase {};
class RequestLogCommitTest : public rpcforge::fixtures::TransactionTestCase {};

}  // namespace

// ---------------------------------------------------------------- ids and peers

// Version 7 (RFC 9562): time-ordered, so the request_id index grows at its end
// instead of at a random leaf (a v4 id made the row's insert three times dearer).
TEST(RequestLog, RequestIdsAreTimeOrderedVersion7Uuids) {
  std::set<std::string> seen;
  const auto before = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  std::string previous_ms;
  for (int i = 0; i < 1000; ++i) {
    std::string id = rpcforge::logging::NewRequestId();
    ASSERT_THAT(id, ::testing::MatchesRegex(
                        "[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"));
    // The first 48 bits are the Unix time in milliseconds, never going back.
    const std::string ms = id.substr(0, 8) + id.substr(9, 4);
    EXPECT_GE(ms, previous_ms);
    previous_ms = ms;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
  const long long first_ms = std::stoll(previous_ms, nullptr, 16);
  EXPECT_GE(first_ms, before);
  EXPECT_LE(first_ms, before + 60000);
}

// ---------------------------------------------------------------- one row per call

// Every batch size is cut into INSERTs of 64, 8 and 1 rows: a connection never holds
// more than three prepared shapes of this large statement, and no row is lost.
TEST_F(RequestLogTest, BatchesOfAnySizeUseThreeInsertShapes) {
  std::mutex mu;
  std::set<std::string> shapes;
  const int observer = db().AddQueryObserver([&](const rpcforge::db::QueryEvent& e) {
    if (e.sql.find("INSERT INTO \"rpcforge_requestlog\"") == 0) {
      std::lock_guard<std::mutex> lock(mu);
      shapes.emplace(e.sql);
    }
  });
  const auto now = rpcforge::Clock::Real().Now();
  int64_t rows = 0;
  for (int n : {1, 7, 8, 9, 63, 64, 65, 127, 200}) {
    std::vector<rpcforge::logging::RequestLogEntry> entries;
    for (int i = 0; i < n; ++i) entries.push_back(Entry("/a.S/Get", "success", 1, now));
    rpcforge::logging::WriteRequestLogs(db(), entries);
    rows += n;
  }
  db().RemoveQueryObserver(observer);
  EXPECT_EQ(shapes.size(), 3u);
  EXPECT_EQ(db().Query("SELECT COUNT(*) FROM rpcforge_requestlog")[0].at(0).AsInt(), rows);
}

// A user deleted while its calls ran fails the foreign key of its rows: that statement is
// written again with such ids as NULL, and the other rows of the batch keep their links.
TEST_F(RequestLogTest, ARowWhoseUserIsGoneIsKeptUnlinkedAndTheRestStayLinked) {
  const int64_t user_id =
      rpcforge::db::UserModel().Objects(db()).Create({{"username", "alice"}})["id"].AsInt();
  std::mutex mu;
  int statements = 0;
  const int observer = db().AddQueryObserver([&](const rpcforge::db::QueryEvent& e) {
    if (e.sql.find("INSERT INTO \"rpcforge_requestlog\"") != 0) return;
    std::lock_guard<std::mutex> lock(mu);
    ++statements;
    // The usual statement carries no per-row subselect.
    if (statements == 1) {
      EXPECT_EQ(e.sql.find("SELECT"), std::string::npos);
      EXPECT_FALSE(e.ok);
    }
  });
  const auto now = rpcforge::Clock::Real().Now();
  std::vector<RequestLogEntry> entries;
  for (int i = 0; i < 65; ++i) {
    entries.push_back(Entry("/a.S/Get", "success", 1, now));
    entries.back().user_id = i == 3 ? user_id + 1000 : user_id;  // row 3: no such user
    entries.back().is_authenticated = true;
  }
  rpcforge::logging::WriteRequestLogs(db(), entries);
  db().RemoveQueryObserver(observer);
  // 64 rows (failed, then checked) and 1 row.
  EXPECT_EQ(statements, 3);
  auto rows = LogRows(db());
  ASSERT_EQ(rows.size(), 65u);
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i]["request_id"].AsText(), entries[i].request_id);
    if (i == 3) {
      EXPECT_TRUE(rows[i]["user_id"].is_null());
    } else {
      EXPECT_EQ(rows[i]["user_id"].AsInt(), user_id) << i;
    }
  }
}

// A batch written by the log's writer: on PostgreSQL, where a failed statement aborts
// the transaction, it pays no savepoint per statement for the rare row whose user is
// gone. That row fails the batch, and BatchFailed writes the rows again one by one
// (a lone row too), the orphan unlinked: every row is kept, none twice.
TEST_F(RequestLogCommitTest, BatchesTakeNoSavepointAndARowWhoseUserIsGoneStillLands) {
  const int64_t user_id =
      rpcforge::db::UserModel().Objects(db()).Create({{"username", "alice"}})["id"].AsInt();
  std::mutex mu;
  int savepoints = 0;
  const int observer = db().AddQueryObserver([&](const rpcforge::db::QueryEvent& e) {
    std::lock_guard<std::mutex> lock(mu);
    if (e.sql.find("SAVEPOINT") == 0) ++savepoints;
  });
  FakeClock clock;
  RequestLogWriter writer(db(), clock);
  auto linked = [&](const std::string& method, int64_t user) {
    RequestLogEntry e = Entry(method, "success", 1, clock.Now());
    e.user_id = user;
    e.is_authenticated = true;
    return e;
  };
  for (int i = 0; i < 9; ++i) writer.Enqueue(linked("/a.S/Clean", user_id));
  writer.Flush();
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(savepoints, 0);
  }
  for (int i = 0; i < 9; ++i)
    writer.Enqueue(linked("/a.S/Mixed", i == 4 ? user_id + 1000 : user_id));
  writer.Flush();
  writer.Enqueue(linked("/a.S/Lone", user_id + 1000));
  writer.Flush();
  db().RemoveQueryObserver(observer);

  EXPECT_EQ(writer.written(), 19u);
  EXPECT_EQ(writer.dropped(), 0u);
  auto count = [&](const std::string& where) {
    return db().Query("SELECT COUNT(*) FROM rpcforge_requestlog WHERE " + where)[0].at(0).AsInt();
  };
  EXPECT_EQ(count("user_id IS NOT NULL"), 17);
  EXPECT_EQ(count("user_id IS NULL AND method IN ('Mixed', 'Lone')"), 2);
  EXPECT_EQ(count("method = 'Clean'"), 9);
  EXPECT_EQ(count("method = 'Mixed'"), 9);
  EXPECT_EQ(count("method = 'Lone'"), 1);
}

// ---------------------------------------------------------------- write-behind

TEST(RequestLogWriter, FullQueueMakesProducersWaitAndLosesNothing) {
  const auto owned = MigratedInMemory();
  rpcforge::db::Database& database = *owned;
  FakeClock clock;

  std::mutex mu;
  std::condition_variable cv;
  bool released = false;
  RequestLogOptions options;
  options.queue_size = 2;
  options.batch_size = 1;
  auto writer = std::make_unique<RequestLogWriter>(database, clock, options);
  writer->TEST_SetBeforeBatchHook([&] {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, seconds(10), [&] { return released; });
  });

  constexpr int kRows = 10;
  std::thread producer([&] {
    for (int i = 0; i < kRows; ++i) {
      writer->Enqueue(Entry("/a.S/M", "success", i, clock.Now()));
    }
  });
  // One row is stalled in the writer, two fill the queue, the producer waits.
  ASSERT_TRUE(writer->TEST_WaitForBlockedProducers(1, seconds(10)));
  EXPECT_LE(writer->pending(), 3u);
  {
    std::lock_guard<std::mutex> lock(mu);
    released = true;
  }
  cv.notify_all();
  producer.join();
  writer->Flush();
  EXPECT_EQ(writer->written(), static_cast<uint64_t>(kRows));
  EXPECT_EQ(LogRows(database).size(), static_cast<size_t>(kRows));
}

TEST(RequestLogWriter, FlushAndDestructionWriteEverythingQueued) {
  const auto owned = MigratedInMemory();
  rpcforge::db::Database& database = *owned;
  FakeClock clock;

  for (bool by_destructor : {false, true}) {
    std::mutex mu;
    std::condition_variable cv;
    bool released = false;
    RequestLogOptions options;
    options.batch_size = 2;
    auto writer = std::make_unique<RequestLogWriter>(database, clock, options);
    writer->TEST_SetBeforeBatchHook([&] {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait_for(lock, seconds(10), [&] { return released; });
    });
    for (int i = 0; i < 7; ++i) writer->Enqueue(Entry("/a.S/M", "success", i, clock.Now()));
    // Whether the release comes before or after Flush/destruction begins, every row
    // queued behind the stalled batch must be written by the time they return.
    std::thread finisher([&] {
      if (by_destructor) {
        writer.reset();
      } else {
        writer->Flush();
      }
    });
    {
      std::lock_guard<std::mutex> lock(mu);
      released = true;
    }
    cv.notify_all();
    finisher.join();
    EXPECT_EQ(LogRows(database).size(), by_destructor ? 14u : 7u) << by_destructor;
    writer.reset();
  }
}

// Durable (the default): the answer waits for the commit of the batch holding the
// call's row, so a crash after the answer cannot lose the row.
TEST_F(RequestLogCommitTest, ADurableCallIsAnsweredOnlyAfterItsRowCommits) {
  Harness h(db(), nullptr, "request_logging");
  rpcforge::db::GroupCommit* commit = h.server->server().group_commit();
  ASSERT_NE(commit, nullptr);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> stalled{false};
  commit->TEST_SetBeforeBatchHook([&] {
    stalled = true;
    released.wait();
  });
  std::atomic<bool> answered{false};
  grpc::Status status;
  std::thread client([&] {
    status = h.Echo(Req("durable"));
    answered = true;
  });
  for (int i = 0; i < 5000 && !stalled; ++i) std::this_thread::sleep_for(milliseconds(1));
  ASSERT_TRUE(stalled);
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_FALSE(answered) << "answered before its log row was committed";
  EXPECT_TRUE(LogRows(db()).empty());
  release.set_value();
  client.join();
  commit->TEST_SetBeforeBatchHook(nullptr);  // it refers to this test's locals
  EXPECT_THAT(status, IsOk());
  EXPECT_EQ(LogRows(db()).size(), 1u);
}

TEST_F(RequestLogCommitTest, WriteBehindAnswersFirstAndWritesSoonAfter) {
  Harness h(db(), nullptr, "request_logging", {{"request_log.mode", "write_behind"}});
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  h.server->server().group_commit()->TEST_SetBeforeBatchHook([&] { released.wait(); });
  ASSERT_THAT(h.Echo(Req("behind")), IsOk());  // answered with the writer stalled
  EXPECT_TRUE(LogRows(db()).empty());
  release.set_value();
  h.server->server().group_commit()->Flush();
  h.server->server().group_commit()->TEST_SetBeforeBatchHook(nullptr);
  EXPECT_EQ(LogRows(db()).size(), 1u);
}

TEST_F(RequestLogCommitTest, ServerShutdownFlushesTheLog) {
  Harness h(db(), nullptr, "request_logging", {{"request_log.batch_size", "3"}});
  // Shutdown hooks run after the flush (serve marks the instance stopped after it).
  size_t rows_in_hook = 0;
  h.app.OnShutdown([&] { rows_in_hook = LogRows(db()).size(); });
  constexpr int kCalls = 20;
  for (int i = 0; i < kCalls; ++i) ASSERT_THAT(h.Echo(Req("m" + std::to_string(i))), IsOk());
  h.server->server().Shutdown();
  // Committed by the writer thread, visible to every connection.
  EXPECT_EQ(rows_in_hook, static_cast<size_t>(kCalls));
  EXPECT_EQ(LogRows(db()).size(), static_cast<size_t>(kCalls));
}

TEST_F(RequestLogCommitTest, FlushRequestLogsWaitsForTheWritersOfThatDatabase) {
  FakeClock clock;
  std::mutex mu;
  std::condition_variable cv;
  bool released = false;
  RequestLogWriter writer(db(), clock);
  writer.TEST_SetBeforeBatchHook([&] {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, seconds(10), [&] { return released; });
  });
  for (int i = 0; i < 5; ++i) writer.Enqueue(Entry("/a.S/M", "success", i, clock.Now()));
  rpcforge::db::DatabaseOptions other_options;
  rpcforge::db::Database other(other_options);
  rpcforge::logging::FlushRequestLogs(&other);  // another database: returns at once
  std::thread flusher([&] { rpcforge::logging::FlushRequestLogs(&db()); });
  {
    std::lock_guard<std::mutex> lock(mu);
    released = true;
  }
  cv.notify_all();
  flusher.join();
  EXPECT_EQ(LogRows(db()).size(), 5u);
}

// ---------------------------------------------------------------- stats and retention

TEST_F(RequestLogTest, StatsComputeRatesAndNearestRankPercentiles) {
  FakeClock clock;
  const auto now = clock.Now();
  std::vector<RequestLogEntry> entries;
  // 100 calls of /a.S/Get with durations 1..100 ms: 90 ok, 5 errors, 3 cancelled,
  // 2 timeouts.
  for (int i = 1; i <= 100; ++i) {
    const char* status = i <= 90   ? "success"
                         : i <= 95 ? "error"
                         : i <= 98 ? "cancelled"
                                   : "timeout";
    entries.push_back(Entry("/a.S/Get", status, i, now - std::chrono::minutes(i)));
  }
  entries.push_back(Entry("/b.T/Put", "success", 7, now - std::chrono::hours(1)));
  // Outside a 24h window.
  entries.push_back(Entry("/b.T/Put", "error", 1000, now - std::chrono::hours(25)));
  rpcforge::logging::WriteRequestLogs(db(), entries);

  auto stats = rpcforge::logging::RequestLogStats(db(), std::chrono::hours(24), clock);
  EXPECT_EQ(stats.overall.total, 101);
  EXPECT_EQ(stats.overall.successful, 91);
  EXPECT_EQ(stats.overall.errors, 5);
  EXPECT_EQ(stats.overall.cancelled, 3);
  EXPECT_EQ(stats.overall.timeout, 2);
  EXPECT_THAT(stats.overall.success_rate, DoubleEq(91.0 / 101.0));

  const auto& get = stats.by_method.at("/a.S/Get");
  EXPECT_EQ(get.total, 100);
  EXPECT_THAT(get.success_rate, DoubleEq(0.9));
  EXPECT_THAT(get.avg_ms, DoubleEq(50.5));
  EXPECT_THAT(get.p50_ms, DoubleEq(50));
  EXPECT_THAT(get.p95_ms, DoubleEq(95));
  EXPECT_THAT(get.p99_ms, DoubleEq(99));
  EXPECT_EQ(stats.by_service.at("a.S").total, 100);
  EXPECT_EQ(stats.by_service.at("b.T").total, 1);
  EXPECT_THAT(stats.by_method.at("/b.T/Put").p99_ms, DoubleEq(7));

  // A 30-minute window keeps the Gets of the last 30 minutes (1..30 ms).
  auto recent = rpcforge::logging::RequestLogStats(db(), std::chrono::minutes(30), clock);
  EXPECT_EQ(recent.overall.total, 30);
  EXPECT_THAT(recent.overall.p50_ms, DoubleEq(15));
}

TEST_F(RequestLogTest, StatsOfNothingAreZero) {
  FakeClock clock;
  auto stats = rpcforge::logging::RequestLogStats(db(), std::chrono::hours(24), clock);
  EXPECT_EQ(stats.overall.total, 0);
  EXPECT_EQ(stats.overall.success_rate, 0);
  EXPECT_EQ(stats.overall.avg_ms, 0);
  EXPECT_EQ(stats.overall.p99_ms, 0);
  EXPECT_TRUE(stats.by_service.empty());
  EXPECT_EQ(rpcforge::logging::Percentile({}, 50), 0);
  EXPECT_EQ(rpcforge::logging::Percentile({4}, 1), 4);
  EXPECT_EQ(rpcforge::logging::Percentile({1, 2, 3, 4}, 100), 4);
  EXPECT_EQ(rpcforge::logging::Percentile({1, 2, 3, 4}, 50), 2);
}

TEST_F(RequestLogTest, PurgeDeletesRowsOlderThanTheRetention) {
  FakeClock clock;
  const auto now = clock.Now();
  rpcforge::logging::WriteRequestLogs(db(),
                                      {Entry("/a.S/M", "success", 1, now - std::chrono::hours(49)),
                                       Entry("/a.S/M", "success", 1, now - std::chrono::hours(47)),
                                       Entry("/a.S/M", "success", 1, now)});
  RequestLogOptions keep_forever;
  keep_forever.retention = milliseconds(0);
  EXPECT_EQ(RequestLogWriter(db(), clock, keep_forever).PurgeExpired(now), 0);

  RequestLogOptions two_days;
  two_days.retention = std::chrono::hours(48);
  RequestLogWriter writer(db(), clock, two_days);
  EXPECT_EQ(writer.PurgeExpired(now), 1);
  EXPECT_EQ(LogRows(db()).size(), 2u);
  clock.Advance(std::chrono::hours(2));
  EXPECT_EQ(writer.PurgeExpired(clock.Now()), 1);
  EXPECT_EQ(LogRows(db()).size(), 1u);
}

TEST(RequestLog, OptionsComeFromTheConfig) {
  auto loaded = rpcforge::config::LoadString(
      "request_log:\n  queue_size: 7\n  batch_size: 3\n  retention: 2d\n");
  ASSERT_TRUE(loaded.ok()) << loaded.ErrorText();
  auto o = RequestLogOptions::FromConfig(&loaded.config);
  EXPECT_EQ(o.queue_size, 7u);
  EXPECT_EQ(o.batch_size, 3u);
  EXPECT_EQ(o.retention, std::chrono::hours(48));
  auto d = RequestLogOptions::FromConfig(nullptr);
  EXPECT_EQ(d.queue_size, 10000u);
  EXPECT_EQ(d.batch_size, 1000u);
  EXPECT_EQ(d.retention, std::chrono::hours(24 * 30));
}

// ---------------------------------------------------------------- docs/security.md

TEST(RequestLog, DocumentedConfigAndCommandsAreValid) {
  const std::string doc = rpcforge::strings::ReadSourceFile("docs/security.md");
  const std::string heading = "\n## Request logging and server status\n";
  size_t at = doc.find(heading);
  ASSERT_NE(at, std::string::npos);
  const std::string section = doc.substr(at);
  size_t begin = section.find("```yaml\n");
  ASSERT_NE(begin, std::string::npos);
  begin += 8;
  const std::string yaml = section.substr(begin, section.find("```", begin) - begin);
  auto loaded = rpcforge::config::LoadString(yaml, "docs/security.md");
  ASSERT_TRUE(loaded.ok()) << loaded.ErrorText();
  auto errors = rpcforge::config::Validate(loaded.config);
  EXPECT_TRUE(errors.empty());
  EXPECT_TRUE(rpcforge::config::RequestLogEnabled(loaded.config));
  EXPECT_EQ(rpcforge::config::RequestLogQueueSize(loaded.config), 10000);
  EXPECT_EQ(rpcforge::config::RequestLogBatchSize(loaded.config), 1000);
  EXPECT_EQ(rpcforge::config::RequestLogRetention(loaded.config), std::chrono::hours(24 * 7));
  EXPECT_EQ(rpcforge::config::HeartbeatInterval(loaded.config), seconds(15));
  EXPECT_THAT(section, HasSubstr("app logs stats --hours 24"));
  EXPECT_THAT(section, HasSubstr("app logs tail -n 50"));
  EXPECT_THAT(section, HasSubstr("app status"));
}

// ---------------------------------------------------------------- migration

TEST(RequestLog, Migration0002AddsThePeerColumnsToAnOlderSchema) {
  const auto owned = MigratedInMemory();
  rpcforge::db::Database& database = *owned;
  // Turn the table back into what 0001_initial created before 0002 existed.
  for (const char* column : {"peer_host", "peer_port", "request_messages", "response_messages"}) {
    database.Execute(std::string("ALTER TABLE rpcforge_requestlog DROP COLUMN ") + column);
  }
  database.Execute(
      "DELETE FROM rpcforge_migrations WHERE app = 'rpcforge' AND name = '0002_requestlog_peer'");
  std::ostringstream again;
  EXPECT_EQ(rpcforge::db::Migrate(database, rpcforge::db::Registry::Global(), again), 1);
  EXPECT_THAT(again.str(), HasSubstr("Applying rpcforge.0002_requestlog_peer... OK"));
  FakeClock clock;
  RequestLogEntry e = Entry("/a.S/M", "success", 1, clock.Now());
  e.peer_host = "::1";
  e.peer_port = 5;
  rpcforge::logging::WriteRequestLogs(database, {e});
  auto rows = LogRows(database);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["peer_host"].AsText(), "::1");
  EXPECT_EQ(rows[0]["peer_port"].AsInt(), 5);
}

// A row the database refuses (here: its table is gone) is logged and dropped, and the
// writer and the per-database totals the admin port reports count it.
TEST(RequestLogWriter, RowsTheDatabaseRefusesAreCountedAsDropped) {
  const auto owned = MigratedInMemory();
  rpcforge::db::Database& database = *owned;
  database.Execute("DROP TABLE rpcforge_requestlog");
  FakeClock clock;
  RequestLogWriter writer(database, clock);
  for (int i = 0; i < 3; ++i) writer.Enqueue(Entry("/a.S/M", "success", i, clock.Now()));
  writer.Flush();
  EXPECT_EQ(writer.written(), 0u);
  EXPECT_EQ(writer.dropped(), 3u);
  EXPECT_EQ(writer.pending(), 0u);
  const auto totals = rpcforge::logging::RequestLogTotalsFor(&database);
  EXPECT_EQ(totals.dropped, 3u);
  EXPECT_EQ(totals.written, 0u);
}

}  // namespace request_log_testing
