// Progress renderers: bars on a terminal, periodic plain lines for CI logs,
// and JSON events for machines. All write to stderr and are thread-safe.

#include <fmt/core.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <vector>

#include "cli/tool.h"
#include "util/strings.h"

namespace hoist::cli {
namespace {

using Clock = std::chrono::steady_clock;

void write_stderr(std::string_view s) {
  while (!s.empty()) {
    ssize_t n = ::write(2, s.data(), s.size());
    if (n <= 0) return;
    s.remove_prefix(size_t(n));
  }
}

struct Entry {
  std::string label;
  uint64_t total = 0;
  uint64_t done = 0;
  std::string state = "waiting";
  int order = 0;
};

// Shared bookkeeping for the two human renderers.
class Tracker : public ProgressSink {
 public:
  void started(const ProgressItem& item, uint64_t already) override {
    std::lock_guard lk(mu_);
    auto& e = items_[item.id];
    if (e.order == 0) e.order = ++next_order_;
    e.label = item.label;
    e.total = item.total;
    e.done = already;
    e.state = already ? "resuming" : "downloading";
    changed(lk, false);
  }
  void advanced(std::string_view id, uint64_t done) override {
    std::lock_guard lk(mu_);
    auto it = items_.find(std::string(id));
    if (it == items_.end()) return;
    it->second.done = done;
    if (it->second.state != "downloading") it->second.state = "downloading";
    changed(lk, false);
  }
  void retried(std::string_view id, int attempt, std::string_view reason, double delay) override {
    std::lock_guard lk(mu_);
    auto it = items_.find(std::string(id));
    if (it != items_.end()) it->second.state = fmt::format("retry {}", attempt);
    event_line(lk, fmt::format("retrying {} (attempt {}) in {:.1f}s: {}", label_of(id), attempt, delay, reason));
  }
  void verified(std::string_view id) override { set_state(id, "verified"); }
  void skipped(std::string_view id, std::string_view why) override {
    std::lock_guard lk(mu_);
    auto& e = items_[std::string(id)];
    if (e.order == 0) e.order = ++next_order_;
    if (e.label.empty()) e.label = short_id(id);
    e.state = std::string(why);
    e.done = e.total;
    changed(lk, true);
  }
  void finished(std::string_view id) override {
    std::lock_guard lk(mu_);
    auto it = items_.find(std::string(id));
    if (it != items_.end()) {
      it->second.state = "done";
      it->second.done = it->second.total ? it->second.total : it->second.done;
    }
    changed(lk, true);
  }
  void failed(std::string_view id, std::string_view error) override {
    std::lock_guard lk(mu_);
    auto it = items_.find(std::string(id));
    if (it != items_.end()) it->second.state = "failed";
    event_line(lk, fmt::format("{} failed: {}", label_of(id), error));
  }
  void note(std::string_view message) override {
    std::lock_guard lk(mu_);
    event_line(lk, message);
  }

 protected:
  static std::string short_id(std::string_view id) {
    auto colon = id.find(':');
    std::string_view h = colon == std::string_view::npos ? id : id.substr(colon + 1);
    return std::string(h.substr(0, 12));
  }
  std::string label_of(std::string_view id) {
    auto it = items_.find(std::string(id));
    return it == items_.end() || it->second.label.empty() ? short_id(id) : it->second.label;
  }
  void set_state(std::string_view id, const char* s) {
    std::lock_guard lk(mu_);
    auto it = items_.find(std::string(id));
    if (it != items_.end()) it->second.state = s;
    changed(lk, true);
  }
  virtual void changed(std::lock_guard<std::mutex>& lk, bool important) = 0;
  virtual void event_line(std::lock_guard<std::mutex>& lk, std::string_view line) = 0;

  std::mutex mu_;
  std::map<std::string, Entry> items_;
  int next_order_ = 0;
};

// Redraws one line per item with ANSI cursor movement, at most 10 times a second.
class BarProgress final : public Tracker {
 public:
  ~BarProgress() override {
    std::lock_guard lk(mu_);
    redraw(lk);
  }

 private:
  void changed(std::lock_guard<std::mutex>& lk, bool important) override {
    auto now = Clock::now();
    if (!important && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    redraw(lk);
  }
  void event_line(std::lock_guard<std::mutex>& lk, std::string_view line) override {
    erase();
    write_stderr(std::string(line) + "\n");
    drawn_ = 0;
    redraw(lk);
  }
  void erase() {
    if (drawn_ > 0) write_stderr(fmt::format("\x1b[{}F\x1b[J", drawn_));
    drawn_ = 0;
  }
  void redraw(std::lock_guard<std::mutex>&) {
    std::vector<const Entry*> order(items_.size());
    size_t i = 0;
    for (auto& [k, e] : items_) order[i++] = &e;
    std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->order < b->order; });
    std::string out;
    if (drawn_ > 0) out += fmt::format("\x1b[{}F", drawn_);
    for (const Entry* e : order) {
      constexpr int kWidth = 30;
      int fill = e->total ? int(double(e->done) / double(e->total) * kWidth) : 0;
      if (fill > kWidth) fill = kWidth;
      std::string bar(size_t(fill), '=');
      if (fill < kWidth) bar += std::string(size_t(kWidth - fill), ' ');
      out += fmt::format("\x1b[2K{:<20} [{}] {:>10} / {:<10} {}\n", e->label.substr(0, 20), bar,
                         human_bytes(e->done), e->total ? human_bytes(e->total) : "?", e->state);
    }
    drawn_ = int(order.size());
    write_stderr(out);
  }
  Clock::time_point last_{};
  int drawn_ = 0;
};

// A summary line every few seconds (CI logs), plus a line per finished item.
class PlainProgress final : public Tracker {
 private:
  void changed(std::lock_guard<std::mutex>&, bool important) override {
    auto now = Clock::now();
    if (start_ == Clock::time_point{}) start_ = last_ = now;
    if (important) return;
    if (now - last_ < std::chrono::seconds(3)) return;
    last_ = now;
    uint64_t done = 0, total = 0;
    int finished = 0;
    for (auto& [k, e] : items_) {
      done += e.done;
      total += e.total;
      if (e.state == "done" || e.state == "verified") ++finished;
    }
    double secs = std::chrono::duration<double>(now - start_).count();
    write_stderr(fmt::format("progress: {}/{} blobs, {} of {} ({}/s)\n", finished, items_.size(), human_bytes(done),
                             human_bytes(total), human_bytes(uint64_t(double(done) / (secs > 0 ? secs : 1)))));
  }
  void event_line(std::lock_guard<std::mutex>&, std::string_view line) override {
    write_stderr(std::string(line) + "\n");
  }
  Clock::time_point start_{}, last_{};
};

// One JSON object a line per event; byte counts at most every 500 ms per item.
class JsonProgress final : public ProgressSink {
 public:
  void started(const ProgressItem& item, uint64_t already) override {
    emit({{"event", "started"}, {"id", item.id}, {"label", item.label}, {"total", item.total}, {"resumed", already}});
  }
  void advanced(std::string_view id, uint64_t done) override {
    {
      std::lock_guard lk(mu_);
      auto& t = last_[std::string(id)];
      auto now = Clock::now();
      if (now - t < std::chrono::milliseconds(500)) return;
      t = now;
    }
    emit({{"event", "bytes"}, {"id", id}, {"done", done}});
  }
  void retried(std::string_view id, int attempt, std::string_view reason, double delay) override {
    emit({{"event", "retried"}, {"id", id}, {"attempt", attempt}, {"reason", reason}, {"delay", delay}});
  }
  void verified(std::string_view id) override { emit({{"event", "verified"}, {"id", id}}); }
  void skipped(std::string_view id, std::string_view why) override {
    emit({{"event", "skipped"}, {"id", id}, {"reason", why}});
  }
  void finished(std::string_view id) override { emit({{"event", "done"}, {"id", id}}); }
  void failed(std::string_view id, std::string_view error) override {
    emit({{"event", "failed"}, {"id", id}, {"error", error}});
  }
  void note(std::string_view message) override { emit({{"event", "note"}, {"message", message}}); }

 private:
  void emit(nlohmann::json j) {
    auto s = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    std::lock_guard lk(mu_);
    write_stderr(s);
  }
  std::mutex mu_;
  std::map<std::string, Clock::time_point> last_;
};

}  // namespace

Result<ProgressMode> parse_progress_mode(std::string_view s) {
  if (s == "auto") return ProgressMode::kAuto;
  if (s == "bars" || s == "tty") return ProgressMode::kBars;
  if (s == "plain") return ProgressMode::kPlain;
  if (s == "json") return ProgressMode::kJson;
  if (s == "none") return ProgressMode::kNone;
  return fail(Errc::kUsage, fmt::format("invalid --progress '{}': use auto, bars, plain, json or none", s));
}

std::unique_ptr<ProgressSink> make_progress(ProgressMode mode, bool stderr_is_tty) {
  if (mode == ProgressMode::kAuto) mode = stderr_is_tty ? ProgressMode::kBars : ProgressMode::kPlain;
  switch (mode) {
    case ProgressMode::kBars: return std::make_unique<BarProgress>();
    case ProgressMode::kPlain: return std::make_unique<PlainProgress>();
    case ProgressMode::kJson: return std::make_unique<JsonProgress>();
    default: return std::make_unique<NullProgress>();
  }
}

}  // namespace hoist::cli
