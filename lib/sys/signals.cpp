#include "sys/signals.h"

#include <csignal>

#include "util/strings.h"

namespace hoist::sys {

namespace {

struct Named {
  const char* name;
  int sig;
};

constexpr Named kSignals[] = {
    {"HUP", SIGHUP},     {"INT", SIGINT},       {"QUIT", SIGQUIT},   {"ILL", SIGILL},
    {"TRAP", SIGTRAP},   {"ABRT", SIGABRT},     {"IOT", SIGIOT},     {"BUS", SIGBUS},
    {"FPE", SIGFPE},     {"KILL", SIGKILL},     {"USR1", SIGUSR1},   {"SEGV", SIGSEGV},
    {"USR2", SIGUSR2},   {"PIPE", SIGPIPE},     {"ALRM", SIGALRM},   {"TERM", SIGTERM},
    {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD},   {"CONT", SIGCONT},   {"STOP", SIGSTOP},
    {"TSTP", SIGTSTP},   {"TTIN", SIGTTIN},     {"TTOU", SIGTTOU},   {"URG", SIGURG},
    {"XCPU", SIGXCPU},   {"XFSZ", SIGXFSZ},     {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},
    {"WINCH", SIGWINCH}, {"IO", SIGIO},         {"POLL", SIGPOLL},   {"PWR", SIGPWR},
    {"SYS", SIGSYS},
};

}  // namespace

Result<int> parse_signal(std::string_view text) {
  auto bad = [&] { return fail(Errc::kInvalidArgument, "unknown signal '" + std::string(text) + "'"); };
  if (auto n = parse_u64(text)) {
    if (*n == 0 || *n > uint64_t(SIGRTMAX)) return bad();
    return int(*n);
  }
  std::string up;
  for (char c : text) up += char(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  std::string_view s = up;
  if (s.starts_with("SIG")) s.remove_prefix(3);
  for (const auto& n : kSignals)
    if (s == n.name) return n.sig;
  auto rt = [&](std::string_view prefix, int base, int dir) -> Result<int> {
    std::string_view rest = s.substr(prefix.size());
    if (rest.empty()) return base;
    if (rest[0] != (dir > 0 ? '+' : '-')) return bad();
    auto off = parse_u64(rest.substr(1));
    if (!off) return bad();
    int sig = base + dir * int(*off);
    if (sig < SIGRTMIN || sig > SIGRTMAX) return bad();
    return sig;
  };
  if (s.starts_with("RTMIN")) return rt("RTMIN", SIGRTMIN, 1);
  if (s.starts_with("RTMAX")) return rt("RTMAX", SIGRTMAX, -1);
  return bad();
}

std::string signal_name(int sig) {
  for (const auto& n : kSignals)
    if (n.sig == sig && std::string_view(n.name) != "IOT" && std::string_view(n.name) != "POLL")
      return std::string("SIG") + n.name;
  if (sig >= SIGRTMIN && sig <= SIGRTMAX)
    return sig == SIGRTMIN ? "SIGRTMIN" : "SIGRTMIN+" + std::to_string(sig - SIGRTMIN);
  return "SIG" + std::to_string(sig);
}

}  // namespace hoist::sys
