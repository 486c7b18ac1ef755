#pragma once
// WorkerPool: a few threads that run jobs handed over by one submitting thread.
// Each job names a worker (its shard); a worker runs its jobs one at a time, in
// the order they were submitted. archive/apply.cpp uses it to create small files
// on several cores, one directory per worker at a time (see the comment there on
// why: the kernel serialises creations in one directory).
//
// Thread-compatible for the submitting side: submit() and wait() are called from
// one thread. Jobs run on the workers and must not throw.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace hoist::archive {

class WorkerPool {
 public:
  // `threads` workers (at least 1), started on the first submit. submit() blocks
  // while more than `max_bytes` (as the jobs declare them) or `max_jobs` jobs are
  // waiting or running, so a fast producer cannot pile up memory.
  WorkerPool(unsigned threads, size_t max_bytes, size_t max_jobs);
  // Drops the jobs that have not started, waits for the running ones, joins.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  unsigned threads() const { return unsigned(queues_.size()); }
  void submit(unsigned shard, size_t bytes, std::function<void()> job);
  // Returns when every submitted job has run.
  void wait();

 private:
  struct Job {
    std::function<void()> run;
    size_t bytes;
  };
  void work(unsigned shard);

  std::mutex mu_;
  std::condition_variable room_;  // submitter: room in the queue, or all done
  std::vector<std::deque<Job>> queues_;
  std::unique_ptr<std::condition_variable[]> work_;  // worker i: a job, or stop
  size_t max_bytes_;
  size_t max_jobs_;
  size_t jobs_ = 0;   // waiting or running
  size_t bytes_ = 0;  // of those
  bool stop_ = false;
  std::vector<std::jthread> workers_;  // last: joined before the rest goes
};

}  // namespace hoist::archive
