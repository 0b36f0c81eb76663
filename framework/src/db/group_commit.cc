// SPDX-License-Identifier: Apache-2.0
//
// One batch is written at a time (`writing_`). Durable waiters lead: the first one
// to find no batch in progress takes everything submitted so far and writes it on
// its own thread, while later submissions queue up for the next batch, as leveldb's
// writers do. That saves the two thread hand-offs a separate writer would cost per
// batch, which under load was most of the time a call spent waiting (perf: a quarter
// of the CPU in the scheduler and futexes). The writer thread writes what nobody
// waits for: write-behind batches, and durable submissions left unwaited.
#include "rpcforge/db/group_commit.h"

#include <pthread.h>

#include <algorithm>

#include "core/logging.h"
#include "rpcforge/db/database.h"
#include "rpcforge/db/journal.h"

namespace rpcforge::db {

GroupCommit::Sink::~Sink() = default;

GroupCommit::GroupCommit(Database& db, Options options)
    : db_(db), options_([&] {
        options.max_pending = std::max<size_t>(1, options.max_pending);
        options.batch_size = std::max<size_t>(1, options.batch_size);
        return options;
      }()) {
  thread_ = std::thread([this] {
    // Named, so top -H and perf tell it from the server's threads (at most 15 chars).
    pthread_setname_np(pthread_self(), "rpcforge-commit");
    Run();
  });
}

GroupCommit::~GroupCommit() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  room_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void GroupCommit::AddSink(Sink* sink) {
  std::lock_guard<std::mutex> lock(mu_);
  sinks_.push_back(sink);
}

void GroupCommit::RemoveSink(Sink* sink) {
  Flush();
  std::unique_lock<std::mutex> lock(mu_);
  sinks_.erase(std::remove(sinks_.begin(), sinks_.end(), sink), sinks_.end());
  // A batch taken before the erase holds its own copy of the sinks: wait for it, or
  // it would call a sink its owner is about to destroy. Later batches do not see it.
  if (writing_) {
    const uint64_t current = batches_;
    done_cv_.wait(lock, [&] { return batches_ != current; });
  }
}

uint64_t GroupCommit::Submit(Sink& sink, const std::function<void()>& add) {
  return Submit(sink, add, 0, {}, nullptr);
}

uint64_t GroupCommit::Submit(Sink& sink, const std::function<void()>& add, uint8_t kind,
                             std::string_view payload, bool* journaled) {
  if (journaled != nullptr) *journaled = false;
  WaitForRoom();
  uint64_t ticket = 0;
  if (options_.journal != nullptr && kind != 0) {
    // The item is queued while the journal still holds its lock, so items are queued
    // in the journal's order and a batch's mark never passes a record whose item is
    // not in it; the write itself runs outside mu_.
    options_.journal->Append(kind, payload, [&](uint64_t seq) {
      if (journaled != nullptr) *journaled = seq != 0;
      ticket = Queue(add, seq);
    });
  } else {
    ticket = Queue(add, 0);
  }
  // The writer is gone (only a call outliving its server gets here): write now.
  if (writer_exited_.load(std::memory_order_acquire)) Wait(ticket, /*force=*/true);
  return ticket;
}

void GroupCommit::WaitForRoom() {
  // Before the journal's lock (the writer needs it to finish a batch); concurrent
  // producers may go past max_pending by their number, no more.
  if (backlog_.load(std::memory_order_relaxed) < options_.max_pending) return;
  std::unique_lock<std::mutex> lock(mu_);
  if (submitted_ - finished_ >= options_.max_pending && !stop_) {
    ++blocked_;
    blocked_cv_.notify_all();
    work_cv_.notify_one();  // nobody may be waiting for what fills the queue
    room_cv_.wait(lock, [&] { return submitted_ - finished_ < options_.max_pending || stop_; });
    --blocked_;
  }
}

uint64_t GroupCommit::Queue(const std::function<void()>& add, uint64_t journal_seq) {
  std::unique_lock<std::mutex> lock(mu_);
  if (journal_seq != 0) journal_seq_ = journal_seq;
  add();
  const uint64_t ticket = ++submitted_;
  backlog_.store(submitted_ - finished_, std::memory_order_relaxed);
  // Write-behind submissions wake the writer to start a batch or when one is full;
  // durable ones are written by their waiters.
  const uint64_t waiting = submitted_ - taken_;
  const bool wake =
      BatchesBehind() && !db_.pinned() && (waiting == 1 || waiting >= options_.batch_size);
  lock.unlock();
  if (wake) work_cv_.notify_one();
  return ticket;
}

void GroupCommit::Wait(uint64_t ticket, bool force) {
  // A pinned database (a transactional test) is always waited for, so the test sees
  // the rows of a call as soon as the call returns.
  if (options_.mode == GroupCommitMode::kWriteBehind && !force && !db_.pinned()) return;
  std::unique_lock<std::mutex> lock(mu_);
  while (!Done(ticket)) {
    if (!writing_) {
      WriteNext(lock);  // lead: this thread writes everything submitted so far
      continue;
    }
    done_cv_.wait(lock, [&] { return Done(ticket) || !writing_; });
  }
}

void GroupCommit::Flush() {
  uint64_t target;
  {
    std::lock_guard<std::mutex> lock(mu_);
    target = submitted_;
  }
  Wait(target, /*force=*/true);
}

bool GroupCommit::FlushFor(std::chrono::milliseconds timeout) {
  // Bounded: the writer thread writes, this thread only waits.
  std::unique_lock<std::mutex> lock(mu_);
  const uint64_t target = submitted_;
  if (Done(target)) return true;
  ++urgent_;
  work_cv_.notify_one();
  const bool done = done_cv_.wait_for(lock, timeout, [&] { return Done(target); });
  --urgent_;
  return done;
}

int GroupCommit::AddPeriodic(std::chrono::milliseconds interval, std::function<void()> task) {
  std::lock_guard<std::mutex> lock(mu_);
  interval = std::max(interval, std::chrono::milliseconds(1));
  const int id = ++next_periodic_id_;
  periodic_.push_back({id, interval, std::move(task), std::chrono::steady_clock::now()});
  work_cv_.notify_one();
  return id;
}

void GroupCommit::RemovePeriodic(int id) {
  std::unique_lock<std::mutex> lock(mu_);
  periodic_cv_.wait(lock, [&] { return running_periodic_ != id; });
  periodic_.erase(std::remove_if(periodic_.begin(), periodic_.end(),
                                 [id](const Periodic& p) { return p.id == id; }),
                  periodic_.end());
}

size_t GroupCommit::pending() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<size_t>(submitted_ - finished_);
}

int GroupCommit::blocked_producers() const {
  std::lock_guard<std::mutex> lock(mu_);
  return blocked_;
}

uint64_t GroupCommit::batches() const {
  std::lock_guard<std::mutex> lock(mu_);
  return batches_;
}

void GroupCommit::TEST_SetBeforeBatchHook(std::function<void()> hook) {
  std::lock_guard<std::mutex> lock(mu_);
  before_batch_ = std::move(hook);
}

bool GroupCommit::TEST_WaitForBlockedProducers(int n, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return blocked_cv_.wait_for(lock, timeout, [&] { return blocked_ >= n; });
}

void GroupCommit::WriteNext(std::unique_lock<std::mutex>& lock) {
  writing_ = true;
  std::vector<Sink*> sinks = sinks_;
  for (Sink* s : sinks) s->TakePending();
  const uint64_t upto = submitted_;
  const uint64_t journal_seq = journal_seq_;
  taken_ = upto;
  auto hook = before_batch_;
  lock.unlock();
  if (hook) hook();
  WriteBatch(sinks, journal_seq);
  lock.lock();
  finished_ = upto;
  backlog_.store(submitted_ - finished_, std::memory_order_relaxed);
  writing_ = false;
  ++batches_;
  done_cv_.notify_all();
  room_cv_.notify_all();
}

void GroupCommit::WriteBatch(const std::vector<Sink*>& sinks, uint64_t journal_seq) {
  // The batch holds other calls' rows: the leading call's deadline must not cut it.
  CallInterrupt::Suspended whole_batch;
  ReadOnlyScope::Suspended writes_for_others;  // a read-only call may lead the batch
  Journal* journal = journal_seq != 0 ? options_.journal : nullptr;
  try {
    Transaction tx = db_.Atomic();
    for (Sink* s : sinks) s->WriteTaken(db_);
    if (journal != nullptr) journal->RecordApplied(db_, journal_seq);
    tx.Commit();
  } catch (const std::exception& e) {
    for (Sink* s : sinks) s->BatchFailed(db_, e);
    // The sinks wrote what they could on their own: replaying it again would count
    // it twice, so the mark moves on.
    if (journal != nullptr) {
      try {
        Transaction tx = db_.Atomic();
        journal->RecordApplied(db_, journal_seq);
        tx.Commit();
        journal->Applied(journal_seq);
      } catch (const std::exception& mark_error) {
        RPCFORGE_LOG_ERROR("journal", "cannot record {} as applied: {}", journal->name(),
                           mark_error.what());
      }
    }
    return;
  }
  if (journal != nullptr) journal->Applied(journal_seq);
  for (Sink* s : sinks) s->BatchCommitted();
  // A batch appends: its pages would stay cached until they filled the connection's
  // cache (perf/RSS of the durable blog under load: the writer's full page cache was
  // a megabyte of the resident memory), though the next batch needs only the few
  // pages along each B-tree's right edge, which the OS has cached.
  db_.ReleaseWriteCache();
}

void GroupCommit::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    const bool idle = submitted_ == taken_;
    if (idle && !writing_) {
      if (stop_) {
        writer_exited_.store(true, std::memory_order_release);
        break;
      }
      // Periodic tasks run only between batches.
      const auto now = std::chrono::steady_clock::now();
      auto next_due = now + std::chrono::seconds(60);
      // By index: a task may be removed (or one added) while this one runs unlocked.
      for (size_t i = 0; i < periodic_.size(); ++i) {
        if (now >= periodic_[i].next) {
          periodic_[i].next = now + periodic_[i].interval;
          auto task = periodic_[i].task;
          running_periodic_ = periodic_[i].id;
          lock.unlock();
          task();
          lock.lock();
          running_periodic_ = 0;
          periodic_cv_.notify_all();
          if (i >= periodic_.size()) break;
        }
        next_due = std::min(next_due, periodic_[i].next);
      }
      // Durable submissions do not wake this thread; look for unwaited ones now and then.
      const auto poll = BatchesBehind() ? next_due : now + options_.linger;
      work_cv_.wait_until(lock, std::min(next_due, poll),
                          [&] { return stop_ || (submitted_ != taken_ && !writing_); });
      continue;
    }
    if (writing_) {
      done_cv_.wait(lock, [&] { return !writing_; });
      continue;
    }
    const bool pinned = db_.pinned();
    if (!stop_ && urgent_ == 0 && blocked_ == 0 && !pinned) {
      if (!BatchesBehind()) {
        // A waiter usually leads; take what is left unwaited after a linger.
        work_cv_.wait_for(lock, options_.linger, [&] {
          return stop_ || urgent_ > 0 || blocked_ > 0 || submitted_ == taken_ || writing_;
        });
        if (submitted_ == taken_ || writing_) continue;
      } else if (options_.linger.count() > 0 && submitted_ - taken_ < options_.batch_size) {
        // Let rows arriving together share one transaction.
        work_cv_.wait_for(lock, options_.linger, [&] {
          return stop_ || urgent_ > 0 || blocked_ > 0 ||
                 submitted_ - taken_ >= options_.batch_size || writing_;
        });
        if (writing_) continue;
      }
    }
    WriteNext(lock);
  }
}

}  // namespace rpcforge::db
