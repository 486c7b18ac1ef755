#pragma once
// StepProgress: how a build reports its steps (the ProgressSink of a build:
// lib/build calls it, lib/cli renders it as plain lines for CI logs, a live
// view on a terminal, or JSON events). Calls come from the thread driving the build, except
// step_output(), which comes from the thread reading a RUN's output while the
// driver waits for it: implementations must be thread-safe.

#include <cstdint>
#include <string>
#include <string_view>

namespace hoist {

struct StepInfo {
  int number = 0;           // 1-based over the whole build, in execution order
  int total = 0;            // steps the build will take (those of the stages it needs)
  std::string stage;        // the stage's name, or its index when unnamed
  std::string location;     // "Dockerfile:12"
  std::string text;         // the instruction as written (continuations joined)
};

class StepProgress {
 public:
  virtual ~StepProgress() = default;
  virtual void step_started(const StepInfo& step) = 0;
  // One line of a RUN's stdout or stderr, without its newline.
  virtual void step_output(const StepInfo& step, std::string_view line) = 0;
  // The step was served from the cache (its layer reused; nothing ran).
  virtual void step_cached(const StepInfo& step) = 0;
  virtual void step_done(const StepInfo& step, double seconds) = 0;
  virtual void step_failed(const StepInfo& step, std::string_view error) = 0;
  virtual void warning(std::string_view message) = 0;
  virtual void note(std::string_view message) = 0;  // pulls, exports, the summary
};

class NullStepProgress final : public StepProgress {
 public:
  void step_started(const StepInfo&) override {}
  void step_output(const StepInfo&, std::string_view) override {}
  void step_cached(const StepInfo&) override {}
  void step_done(const StepInfo&, double) override {}
  void step_failed(const StepInfo&, std::string_view) override {}
  void warning(std::string_view) override {}
  void note(std::string_view) override {}
};

}  // namespace hoist
