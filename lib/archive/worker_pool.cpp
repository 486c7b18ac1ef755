#include "archive/worker_pool.h"

namespace hoist::archive {

WorkerPool::WorkerPool(unsigned threads, size_t max_bytes, size_t max_jobs)
    : queues_(threads ? threads : 1),
      work_(new std::condition_variable[queues_.size()]),
      max_bytes_(max_bytes),
      max_jobs_(max_jobs ? max_jobs : 1) {}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
    for (auto& q : queues_) q.clear();
  }
  for (size_t i = 0; i < queues_.size(); ++i) work_[i].notify_all();
  workers_.clear();  // joins
}

void WorkerPool::submit(unsigned shard, size_t bytes, std::function<void()> job) {
  if (workers_.empty())
    for (unsigned i = 0; i < queues_.size(); ++i) workers_.emplace_back([this, i] { work(i); });
  std::unique_lock lk(mu_);
  // One job always fits, however large: the producer must make progress.
  room_.wait(lk, [&] { return jobs_ == 0 || (bytes_ + bytes <= max_bytes_ && jobs_ < max_jobs_); });
  jobs_++;
  bytes_ += bytes;
  unsigned i = shard % unsigned(queues_.size());
  bool was_empty = queues_[i].empty();  // otherwise its worker is busy, and looks again before it sleeps
  queues_[i].push_back(Job{std::move(job), bytes});
  lk.unlock();
  if (was_empty) work_[i].notify_one();
}

void WorkerPool::wait() {
  std::unique_lock lk(mu_);
  room_.wait(lk, [&] { return jobs_ == 0; });
}

void WorkerPool::work(unsigned shard) {
  auto& q = queues_[shard];
  std::unique_lock lk(mu_);
  for (;;) {
    work_[shard].wait(lk, [&] { return stop_ || !q.empty(); });
    if (stop_) return;
    Job j = std::move(q.front());
    q.pop_front();
    lk.unlock();
    j.run();
    j.run = nullptr;  // whatever the job captured goes before it counts as done
    lk.lock();
    jobs_--;
    bytes_ -= j.bytes;
    room_.notify_all();
  }
}

}  // namespace hoist::archive
