#pragma once
// What every hoist tool shares: common options, the run() wrapper that turns a
// Result into an exit code and an error line, the pipe convention (stdout is
// data, stderr for people) and the progress display (STYLE.md 3.5, 3.10).

#include "cli/cxxopts.h"
#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "util/progress.h"
#include "util/result.h"

namespace hoist::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitInterrupted = 130;

enum class ProgressMode : uint8_t { kAuto, kBars, kPlain, kJson, kNone };

class Context {
 public:
  Context(std::string tool, const cxxopts::ParseResult& args);
  ~Context();

  const std::string& tool() const { return tool_; }
  bool json() const { return json_; }
  bool quiet() const { return quiet_; }
  int verbosity() const { return verbose_; }
  int jobs() const { return jobs_; }
  // --store, else $HOIST_STORE, else "" (the store module picks its default).
  const std::string& store_dir() const { return store_; }
  ProgressSink& progress() { return *progress_; }
  // --progress as given (kNone with --quiet), kAuto resolved against stderr.
  ProgressMode progress_mode() const { return progress_mode_; }
  std::stop_token stop_token() const;

  // Expands image arguments: "-" reads one reference a line from stdin (blank
  // lines and lines starting with '#' skipped). kUsage when none are given.
  Result<std::vector<std::string>> image_args(const std::vector<std::string>& args) const;

  // stdout: one line, flushed at once so pipelines see it.
  void print_line(std::string_view line);
  void print_json(const nlohmann::json& j);  // one object per line
  // stderr for people, suppressed by --quiet.
  void say(std::string_view message);
  void warn(std::string_view message);  // never suppressed

 private:
  friend int run(int, char**, cxxopts::Options&, const std::function<Result<int>(Context&, const cxxopts::ParseResult&)>&,
                 std::string_view);
  std::string tool_;
  bool json_ = false;
  bool quiet_ = false;
  int verbose_ = 0;
  int jobs_ = 4;
  std::string store_;
  std::unique_ptr<ProgressSink> progress_;
  ProgressMode progress_mode_ = ProgressMode::kNone;
};

using Body = std::function<Result<int>(Context&, const cxxopts::ParseResult&)>;

// Adds the common options (--store, --jobs, --json, -q, -v, --progress, -h,
// --version), parses argv (usage errors exit 2 with a hint), runs `body`, and
// maps the result: ok -> its int, error -> "TOOL: error: MESSAGE" and 1,
// SIGINT/SIGTERM -> 130. `epilog` is printed after the option list by --help.
int run(int argc, char** argv, cxxopts::Options& opts, const Body& body, std::string_view epilog = {});

// For tests and tools that render progress themselves.
std::unique_ptr<ProgressSink> make_progress(ProgressMode mode, bool stderr_is_tty);
Result<ProgressMode> parse_progress_mode(std::string_view s);

}  // namespace hoist::cli
