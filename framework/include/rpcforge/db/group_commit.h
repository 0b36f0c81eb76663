// SPDX-License-Identifier: Apache-2.0
// rpcforge::db::GroupCommit writes what many concurrent calls produce (request-log
// rows, API-key usage counts) in shared transactions on one thread: each call adds
// its items and, in durable mode, waits until the transaction holding them has
// committed, so a call is answered only once its rows are on disk, yet a hundred
// concurrent calls cost one commit, not a hundred.
//
//   db::GroupCommit commit(db, {});                 // durable by default
//   MySink sink;                                    // a GroupCommit::Sink
//   commit.AddSink(&sink);
//   uint64_t ticket = commit.Submit(sink, [&] { sink.pending.push_back(row); });
//   commit.Wait(ticket);                            // committed (or given up on)
//
// What a crash can lose: in durable mode nothing a waiter was released for (SQLite in
// WAL mode with synchronous=NORMAL: a committed transaction survives the process
// being killed; a power loss may lose the last transactions); in write-behind mode
// whatever was submitted but not yet committed (at most one linger plus one batch).
#ifndef RPCFORGE_DB_GROUP_COMMIT_H_
#define RPCFORGE_DB_GROUP_COMMIT_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

#include "rpcforge/export.h"

namespace rpcforge::db {

class Database;
class Journal;

// GroupCommitMode says whether Wait blocks until the items are committed.
enum class GroupCommitMode {
  kDurable,      // Wait returns once the batch holding the ticket committed
  kWriteBehind,  // Wait returns at once; batches linger to fill up
};

// GroupCommit: thread-safe. The Database must outlive it, and every Sink added must
// outlive it or be removed first. The destructor writes everything submitted and
// joins the thread; it never throws.
class RPCFORGE_EXPORT GroupCommit {
 public:
  struct Options {
    GroupCommitMode mode = GroupCommitMode::kDurable;
    // Submissions waiting to be written; beyond it Submit waits (back-pressure), so
    // memory stays bounded and nothing is dropped.
    size_t max_pending = 10000;
    // A write-behind batch is written once this many submissions wait (or after
    // `linger`); durable batches take whatever waits, at once. Durable submissions
    // nobody waits for are written after about two `linger`s.
    size_t batch_size = 100;
    std::chrono::milliseconds linger{20};
    // journal, when set, receives the record of each submission that passes one
    // (Submit) before the submission is queued, and every batch records in its
    // transaction how far the journal is applied. Must outlive the GroupCommit.
    Journal* journal = nullptr;
  };

  // Sink is one kind of write. Its pending items are guarded by the GroupCommit's
  // lock: they are added inside Submit's `add` and moved out by TakePending, both
  // under that lock; WriteTaken and BatchFailed run on the writer thread without it.
  class RPCFORGE_EXPORT Sink {
   public:
    virtual ~Sink();
    // TakePending moves the pending items aside for the next batch. Cheap; no I/O.
    virtual void TakePending() = 0;
    // WriteTaken writes the items taken, inside the batch's transaction. Throws to
    // roll the whole batch back.
    virtual void WriteTaken(Database& db) = 0;
    // BatchFailed is called for every sink, outside any transaction, after a batch
    // rolled back: write the taken items some other way (one by one) or keep them for
    // the next batch; log what is given up. Must not throw.
    virtual void BatchFailed(Database& db, const std::exception& error) noexcept = 0;
    // BatchCommitted is called after the batch's commit (counts, callbacks).
    virtual void BatchCommitted() noexcept {}
  };

  GroupCommit(Database& db, Options options);
  ~GroupCommit();
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  // AddSink / RemoveSink register a sink (before its first Submit). RemoveSink flushes and
  // waits for a batch in progress, so the sink may be destroyed once it returns.
  void AddSink(Sink* sink);
  void RemoveSink(Sink* sink);

  // Submit runs `add` under the lock (it appends to `sink`'s pending items) and
  // returns the ticket of that submission. Waits while `max_pending` submissions
  // wait to be written. After the GroupCommit stopped, it writes `sink` at once on
  // the calling thread.
  uint64_t Submit(Sink& sink, const std::function<void()>& add);
  // Submit with a journal record: with a journal (Options::journal), `payload` of
  // `kind` is appended to it first, in the same order as the submissions, and
  // `*journaled` tells whether that worked (when it did, a crash cannot lose the
  // submission, and there is no need to Wait for durability).
  uint64_t Submit(Sink& sink, const std::function<void()>& add, uint8_t kind,
                  std::string_view payload, bool* journaled);

  // Wait blocks until the batch holding `ticket` is finished (committed, or failed
  // and handed to the sinks). When no batch is being written, the waiting thread
  // writes the next one itself (everything submitted so far), so concurrent waiters
  // share it. In write-behind mode it returns at once unless `force` is set.
  void Wait(uint64_t ticket, bool force = false);
  // Flush waits for everything submitted before the call. FlushFor is Flush with a
  // time limit; false when it ran out.
  void Flush();
  bool FlushFor(std::chrono::milliseconds timeout);

  // AddPeriodic runs `task` on the writer thread when no batch waits: first soon after
  // the call, then about every `interval`. Tasks must not throw. Returns an id for
  // RemovePeriodic, which waits for a run in progress to end.
  int AddPeriodic(std::chrono::milliseconds interval, std::function<void()> task);
  void RemovePeriodic(int id);

  const Options& options() const { return options_; }
  Database& database() const { return db_; }
  // pending is the number of submissions not yet finished; blocked_producers how many
  // Submit calls wait for room now; batches the number of transactions written.
  size_t pending() const;
  int blocked_producers() const;
  uint64_t batches() const;

  // TEST_SetBeforeBatchHook runs `hook` on the writer thread before each batch (tests
  // stall the writer with it). Null removes it.
  void TEST_SetBeforeBatchHook(std::function<void()> hook);
  // TEST_WaitForBlockedProducers waits (at most `timeout`) until `n` Submit calls wait
  // for room; returns whether they do.
  bool TEST_WaitForBlockedProducers(int n, std::chrono::milliseconds timeout);

 private:
  struct Periodic {
    int id;
    std::chrono::milliseconds interval;
    std::function<void()> task;
    std::chrono::steady_clock::time_point next;
  };
  void Run();
  // WaitForRoom blocks while max_pending submissions wait (back-pressure).
  void WaitForRoom();
  // Queue is Submit after the journal: runs `add` under mu_ and hands out the ticket.
  uint64_t Queue(const std::function<void()>& add, uint64_t journal_seq);
  // WriteNext writes everything submitted so far as one batch on this thread; `lock`
  // (held on entry and exit) is released while writing.
  void WriteNext(std::unique_lock<std::mutex>& lock);
  // WriteBatch writes the taken items (and, with a journal, the mark of `journal_seq`).
  void WriteBatch(const std::vector<Sink*>& sinks, uint64_t journal_seq);
  bool Done(uint64_t ticket) const { return finished_ >= ticket; }
  // BatchesBehind: the writer thread batches what is submitted (write-behind, or
  // durable with a journal, whose callers wait only for what the journal missed).
  bool BatchesBehind() const {
    return options_.mode == GroupCommitMode::kWriteBehind || options_.journal != nullptr;
  }

  Database& db_;
  const Options options_;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;     // the writer waits for submissions or stop
  std::condition_variable room_cv_;     // producers wait for room
  std::condition_variable done_cv_;     // waiters wait for their batch
  std::condition_variable blocked_cv_;  // TEST_WaitForBlockedProducers
  std::vector<Sink*> sinks_;
  std::vector<Periodic> periodic_;
  int next_periodic_id_ = 0;
  int running_periodic_ = 0;  // id of the task running now, 0 when none
  std::condition_variable periodic_cv_;
  uint64_t submitted_ = 0;    // tickets handed out
  uint64_t journal_seq_ = 0;  // the last journal record of a submitted item
  uint64_t taken_ = 0;        // tickets in batches being written
  uint64_t finished_ = 0;     // tickets whose batch is finished
  uint64_t batches_ = 0;
  int urgent_ = 0;  // Wait/Flush callers in write-behind mode: write now, don't linger
  int blocked_ = 0;
  bool stop_ = false;
  // The writer thread drained everything and returned; read without mu_.
  std::atomic<bool> writer_exited_{false};
  // submitted_ - finished_, for Submit's lock-free look at the room left.
  std::atomic<uint64_t> backlog_{0};
  bool writing_ = false;  // a batch is being written (by a waiter or the writer)
  std::function<void()> before_batch_;
  std::thread thread_;
};

}  // namespace rpcforge::db

#endif  // RPCFORGE_DB_GROUP_COMMIT_H_
