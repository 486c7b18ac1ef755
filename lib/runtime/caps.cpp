#include "runtime/caps.h"

#include "util/strings.h"

namespace hoist::runtime {

namespace {

constexpr const char* kNames[kCapLastKnown + 1] = {
    "CAP_CHOWN",           "CAP_DAC_OVERRIDE",   "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
    "CAP_FSETID",          "CAP_KILL",           "CAP_SETGID",          "CAP_SETUID",
    "CAP_SETPCAP",         "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",       "CAP_NET_RAW",        "CAP_IPC_LOCK",        "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",      "CAP_SYS_RAWIO",      "CAP_SYS_CHROOT",      "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",       "CAP_SYS_ADMIN",      "CAP_SYS_BOOT",        "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",    "CAP_SYS_TIME",       "CAP_SYS_TTY_CONFIG",  "CAP_MKNOD",
    "CAP_LEASE",           "CAP_AUDIT_WRITE",    "CAP_AUDIT_CONTROL",   "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",    "CAP_MAC_ADMIN",      "CAP_SYSLOG",          "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",   "CAP_AUDIT_READ",     "CAP_PERFMON",         "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

}  // namespace

Result<int> parse_capability(std::string_view name) {
  std::string up;
  for (char c : name) up += char(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  if (!up.starts_with("CAP_")) up = "CAP_" + up;
  for (int i = 0; i <= kCapLastKnown; ++i)
    if (up == kNames[i]) return i;
  return fail(Errc::kInvalidArgument, "unknown capability '" + std::string(name) + "'");
}

std::string capability_name(int cap) {
  if (cap >= 0 && cap <= kCapLastKnown) return kNames[cap];
  return "CAP_" + std::to_string(cap);
}

Result<uint64_t> capability_mask(const std::vector<std::string>& names, int cap_last,
                                 std::vector<std::string>* warnings) {
  uint64_t mask = 0;
  for (const auto& n : names) {
    int cap = HOIST_TRY(parse_capability(n));
    if (cap > cap_last) {
      if (warnings) warnings->push_back("capability '" + n + "' is not known to the kernel; ignored");
      continue;
    }
    mask |= uint64_t(1) << cap;
  }
  return mask;
}

}  // namespace hoist::runtime
