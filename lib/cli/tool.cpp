#include "cli/tool.h"

#include <fmt/core.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <thread>

#include "util/log.h"
#include "util/strings.h"

namespace hoist::cli {
namespace {

std::stop_source g_stop;
std::mutex g_out_mu;

void write_fd(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t n = ::write(fd, s.data(), s.size());
    if (n <= 0) return;
    s.remove_prefix(size_t(n));
  }
}

// SIGINT/SIGTERM/SIGHUP are blocked in every thread and taken by one waiter
// thread, which asks the work to stop and, if it has not stopped after a grace
// period, ends the process. Partial downloads stay resumable either way: the
// store is built to survive kill -9 at any moment.
class SignalWaiter {
 public:
  SignalWaiter() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    sigaddset(&set_, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set_, &old_);
    // A signal ignored when it is sent is discarded by whichever thread takes
    // it, even one that waits for it: a shell starts background jobs with
    // SIGINT ignored, and `kill -INT` must still stop them (as Go's
    // signal.Notify does for skopeo and buildah). Blocked, so the default
    // action never runs. An ignored SIGHUP (nohup) stays ignored.
    struct sigaction dfl = {};
    dfl.sa_handler = SIG_DFL;
    for (int s : {SIGINT, SIGTERM}) ::sigaction(s, &dfl, nullptr);
    thread_ = std::jthread([this](std::stop_token st) { loop(st); });
  }
  ~SignalWaiter() {
    // Wake the waiter at once rather than at its next tick: a signal of the
    // waited set, sent to that thread only, after the flag that says "exit".
    thread_.request_stop();
    pthread_kill(thread_.native_handle(), SIGHUP);
    thread_.join();
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }

 private:
  void loop(std::stop_token st) {
    timespec tick{0, 100'000'000};
    while (!st.stop_requested()) {
      int sig = sigtimedwait(&set_, nullptr, &tick);
      if (sig <= 0 || st.stop_requested()) continue;
      g_stop.request_stop();
      write_fd(2, "interrupted\n");
      for (int i = 0; i < 30 && !st.stop_requested(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (!st.stop_requested()) ::_exit(kExitInterrupted);
      return;
    }
  }
  sigset_t set_{}, old_{};
  std::jthread thread_;
};

}  // namespace

Context::Context(std::string tool, const cxxopts::ParseResult& args) : tool_(std::move(tool)) {
  json_ = args.count("json") && args["json"].as<bool>();
  quiet_ = args.count("quiet") && args["quiet"].as<bool>();
  verbose_ = int(args.count("verbose"));
  if (args.count("jobs")) jobs_ = std::max(1, args["jobs"].as<int>());
  if (args.count("store")) {
    store_ = args["store"].as<std::string>();
  } else if (const char* env = std::getenv("HOIST_STORE"); env && *env) {
    store_ = env;
  }
}

Context::~Context() = default;

std::stop_token Context::stop_token() const { return g_stop.get_token(); }

Result<std::vector<std::string>> Context::image_args(const std::vector<std::string>& args) const {
  std::vector<std::string> out;
  for (const auto& a : args) {
    if (a != "-") {
      out.push_back(a);
      continue;
    }
    std::string line;
    while (std::getline(std::cin, line)) {
      auto t = trim(line);
      if (t.empty() || t.front() == '#') continue;
      out.emplace_back(t);
    }
  }
  if (out.empty()) return fail(Errc::kUsage, "no image given (pass a reference, or - to read them from stdin)");
  return out;
}

void Context::print_line(std::string_view line) {
  std::lock_guard lk(g_out_mu);
  write_fd(1, std::string(line) + "\n");
}

void Context::print_json(const nlohmann::json& j) {
  print_line(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void Context::say(std::string_view message) {
  if (quiet_) return;
  progress_->note(message);
}

void Context::warn(std::string_view message) {
  std::lock_guard lk(g_out_mu);
  write_fd(2, fmt::format("{}: warning: {}\n", tool_, message));
}

int run(int argc, char** argv, cxxopts::Options& opts, const Body& body, std::string_view epilog) {
  opts.add_options("Common")
      ("store", "store directory (default: $HOIST_STORE, /var/lib/hoist as root, else ~/.local/share/hoist)",
       cxxopts::value<std::string>())
      ("j,jobs", "parallel transfers", cxxopts::value<int>()->default_value("4"))
      ("json", "print the result as JSON, one object a line")
      ("q,quiet", "no progress or messages on stderr")
      ("v,verbose", "more detail on stderr (repeat for debug)")
      ("progress", "auto | bars | plain | json | none (auto: bars on a terminal, plain lines otherwise)",
       cxxopts::value<std::string>()->default_value("auto"))
      ("h,help", "show this help")
      ("version", "print the version");
  std::string tool = opts.program();
  cxxopts::ParseResult args;
  try {
    args = opts.parse(argc, argv);
  } catch (const std::exception& e) {
    std::string msg = e.what();
    fmt::print(stderr, "{}: error: {}\nRun '{} --help' for usage.\n", tool, msg, tool);
    return kExitUsage;
  }
  if (args.count("help")) {
    std::string help = opts.help();
    write_fd(1, help);
    if (!epilog.empty()) write_fd(1, std::string(epilog) + (epilog.back() == '\n' ? "" : "\n"));
    return kExitOk;
  }
  if (args.count("version")) {
    write_fd(1, fmt::format("{} 0.1.0\n", tool));
    return kExitOk;
  }
  auto mode = parse_progress_mode(args["progress"].as<std::string>());
  if (!mode) {
    fmt::print(stderr, "{}: error: {}\n", tool, mode.error().message());
    return kExitUsage;
  }
  Context ctx(tool, args);
  ProgressMode m = ctx.quiet() && *mode != ProgressMode::kJson ? ProgressMode::kNone : *mode;
  ctx.progress_ = make_progress(m, ::isatty(2));
  ctx.progress_mode_ = m == ProgressMode::kAuto ? (::isatty(2) ? ProgressMode::kBars : ProgressMode::kPlain) : m;
  if (ctx.verbosity() > 0) {
    log::set_sink(
        [tool](log::Level lv, std::string_view msg) {
          static constexpr const char* kNames[] = {"debug", "info", "warning", "error"};
          write_fd(2, fmt::format("{}: {}: {}\n", tool, kNames[int(lv)], msg));
        },
        ctx.verbosity() > 1 ? log::Level::kDebug : log::Level::kInfo);
  }
  SignalWaiter signals;
  Result<int> r = body(ctx, args);
  ctx.progress_.reset();  // final redraw before the result or error
  if (g_stop.stop_requested()) return kExitInterrupted;
  if (!r) {
    if (r.error().code() == Errc::kUsage) {
      fmt::print(stderr, "{}: error: {}\nRun '{} --help' for usage.\n", tool, r.error().message(), tool);
      return kExitUsage;
    }
    fmt::print(stderr, "{}: error: {}\n", tool, r.error().message());
    return kExitFailed;
  }
  return *r;
}

}  // namespace hoist::cli
