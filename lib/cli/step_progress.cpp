#include "cli/step_progress.h"

#include <unistd.h>

#include <mutex>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

namespace hoist::cli {

namespace {

using json = nlohmann::json;

void write_all(std::string_view s) {
  while (!s.empty()) {
    ssize_t n = ::write(2, s.data(), s.size());
    if (n <= 0) return;
    s.remove_prefix(size_t(n));
  }
}

class PlainSteps final : public StepProgress {
 public:
  void step_started(const StepInfo& s) override {
    out(fmt::format("#{} [{} {}/{}] {}\n", s.number, s.stage, s.number, s.total, s.text));
  }
  void step_output(const StepInfo& s, std::string_view line) override { out(fmt::format("#{} | {}\n", s.number, line)); }
  void step_cached(const StepInfo& s) override { out(fmt::format("#{} CACHED\n", s.number)); }
  void step_done(const StepInfo& s, double secs) override { out(fmt::format("#{} DONE {:.1f}s\n", s.number, secs)); }
  // The first line only: the tool prints the whole error once, at the end.
  void step_failed(const StepInfo& s, std::string_view e) override {
    out(fmt::format("#{} ERROR: {}\n", s.number, e.substr(0, e.find('\n'))));
  }
  void warning(std::string_view m) override { out(fmt::format("WARNING: {}\n", m)); }
  void note(std::string_view m) override { out(fmt::format("{}\n", m)); }

 private:
  void out(const std::string& s) {
    std::lock_guard lk(mu_);
    write_all(s);
  }
  std::mutex mu_;
};

class JsonSteps final : public StepProgress {
 public:
  void step_started(const StepInfo& s) override { out(step("started", s)); }
  void step_output(const StepInfo& s, std::string_view line) override {
    json j = step("output", s);
    j["line"] = line;
    out(j);
  }
  void step_cached(const StepInfo& s) override { out(step("cached", s)); }
  void step_done(const StepInfo& s, double secs) override {
    json j = step("done", s);
    j["seconds"] = secs;
    out(j);
  }
  void step_failed(const StepInfo& s, std::string_view e) override {
    json j = step("failed", s);
    j["error"] = e;
    out(j);
  }
  void warning(std::string_view m) override { out({{"event", "warning"}, {"message", m}}); }
  void note(std::string_view m) override { out({{"event", "note"}, {"message", m}}); }

 private:
  static json step(const char* ev, const StepInfo& s) {
    return {{"event", ev}, {"step", s.number}, {"total", s.total}, {"stage", s.stage},
            {"location", s.location}, {"text", s.text}};
  }
  void out(const json& j) {
    std::lock_guard lk(mu_);
    write_all(j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n");
  }
  std::mutex mu_;
};

}  // namespace

std::unique_ptr<StepProgress> make_step_progress(ProgressMode mode) {
  switch (mode) {
    case ProgressMode::kJson: return std::make_unique<JsonSteps>();
    case ProgressMode::kNone: return std::make_unique<NullStepProgress>();
    default: return std::make_unique<PlainSteps>();
  }
}

}  // namespace hoist::cli
