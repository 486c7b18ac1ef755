#include "runtime/seccomp.h"

#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

#include "sys/fd.h"

namespace hoist::runtime {

namespace {

struct CtxDeleter {
  void operator()(scmp_filter_ctx* c) const {
    seccomp_release(*c);
    delete c;
  }
};

Result<uint32_t> parse_action(const std::string& a, std::optional<uint32_t> errno_ret) {
  if (a == "SCMP_ACT_ALLOW") return SCMP_ACT_ALLOW;
  if (a == "SCMP_ACT_KILL" || a == "SCMP_ACT_KILL_THREAD") return SCMP_ACT_KILL_THREAD;
  if (a == "SCMP_ACT_KILL_PROCESS") return SCMP_ACT_KILL_PROCESS;
  if (a == "SCMP_ACT_TRAP") return SCMP_ACT_TRAP;
  if (a == "SCMP_ACT_LOG") return SCMP_ACT_LOG;
  if (a == "SCMP_ACT_ERRNO") return SCMP_ACT_ERRNO(errno_ret.value_or(EPERM));
  if (a == "SCMP_ACT_TRACE") return SCMP_ACT_TRACE(errno_ret.value_or(EPERM));
  if (a == "SCMP_ACT_NOTIFY") return fail(Errc::kUnsupported, "seccomp action 'SCMP_ACT_NOTIFY' is not supported");
  return fail(Errc::kInvalidArgument, "unknown seccomp action '" + a + "'");
}

Result<scmp_compare> parse_op(const std::string& op) {
  if (op == "SCMP_CMP_NE") return SCMP_CMP_NE;
  if (op == "SCMP_CMP_LT") return SCMP_CMP_LT;
  if (op == "SCMP_CMP_LE") return SCMP_CMP_LE;
  if (op == "SCMP_CMP_EQ") return SCMP_CMP_EQ;
  if (op == "SCMP_CMP_GE") return SCMP_CMP_GE;
  if (op == "SCMP_CMP_GT") return SCMP_CMP_GT;
  if (op == "SCMP_CMP_MASKED_EQ") return SCMP_CMP_MASKED_EQ;
  return fail(Errc::kInvalidArgument, "unknown seccomp operator '" + op + "'");
}

Result<uint32_t> parse_arch(const std::string& a) {
  std::string n = a;
  if (n.starts_with("SCMP_ARCH_")) n = n.substr(10);
  for (auto& ch : n) ch = char(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
  uint32_t arch = seccomp_arch_resolve_name(n.c_str());
  if (arch == 0) return fail(Errc::kInvalidArgument, "unknown seccomp architecture '" + a + "'");
  return arch;
}

Result<unsigned int> parse_flag(const std::string& f) {
  if (f == "SECCOMP_FILTER_FLAG_TSYNC") return SECCOMP_FILTER_FLAG_TSYNC;
  if (f == "SECCOMP_FILTER_FLAG_LOG") return SECCOMP_FILTER_FLAG_LOG;
  if (f == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") return SECCOMP_FILTER_FLAG_SPEC_ALLOW;
  return fail(Errc::kInvalidArgument, "unknown seccomp flag '" + f + "'");
}

}  // namespace

Result<SeccompProgram> compile_seccomp(const Seccomp& config, std::vector<std::string>* warnings) {
  SeccompProgram out;
  for (const auto& f : config.flags) out.flags |= HOIST_TRY(parse_flag(f));
  uint32_t def = HOIST_TRY(parse_action(config.default_action, config.default_errno_ret));
  scmp_filter_ctx raw = seccomp_init(def);
  if (!raw) return fail(Errc::kInternal, "cannot initialise the seccomp filter");
  std::unique_ptr<scmp_filter_ctx, CtxDeleter> ctx(new scmp_filter_ctx(raw));
  // no_new_privs is the init's business (process.noNewPrivileges), not libseccomp's.
  seccomp_attr_set(raw, SCMP_FLTATR_CTL_NNP, 0);
  for (const auto& a : config.architectures) {
    uint32_t arch = HOIST_TRY(parse_arch(a));
    int r = seccomp_arch_add(raw, arch);
    if (r < 0 && r != -EEXIST) return fail(Error::from_errno(-r, "cannot add seccomp architecture '" + a + "'"));
  }
  for (size_t i = 0; i < config.syscalls.size(); ++i) {
    const SeccompRule& rule = config.syscalls[i];
    uint32_t action = HOIST_TRY(parse_action(rule.action, rule.errno_ret));
    // libseccomp refuses a rule that repeats the default action; it is a no-op anyway.
    if (action == def) continue;
    std::vector<scmp_arg_cmp> cmps;
    bool repeated_index = false;
    for (const auto& a : rule.args) {
      if (a.index > 5) return fail(Errc::kInvalidArgument, "seccomp argument index " + std::to_string(a.index) + " is out of range");
      scmp_compare op = HOIST_TRY(parse_op(a.op));
      for (const auto& c : cmps) repeated_index = repeated_index || c.arg == a.index;
      cmps.push_back(scmp_arg_cmp{a.index, op, a.value, a.value_two});
    }
    for (const auto& name : rule.names) {
      int nr = seccomp_syscall_resolve_name(name.c_str());
      if (nr == __NR_SCMP_ERROR) {
        if (warnings) warnings->push_back("unknown syscall '" + name + "' in seccomp profile; ignored");
        continue;
      }
      // Comparisons on one argument index are ORed by runc (one rule each);
      // on distinct indexes they are ANDed in one rule.
      auto add = [&](unsigned n, const scmp_arg_cmp* c) -> Result<> {
        int r = seccomp_rule_add_array(raw, action, nr, n, c);
        if (r < 0) return fail(Error::from_errno(-r, "cannot add seccomp rule for '" + name + "'"));
        return {};
      };
      if (repeated_index) {
        for (const auto& c : cmps) HOIST_CHECK(add(1, &c));
      } else {
        HOIST_CHECK(add(unsigned(cmps.size()), cmps.data()));
      }
    }
  }
  // seccomp_export_bpf writes to an fd: a memfd keeps it off the disk.
  sys::Fd mem(memfd_create("hoist-seccomp", MFD_CLOEXEC));
  if (!mem) return fail(Error::from_errno(errno, "cannot create memfd"));
  int r = seccomp_export_bpf(raw, mem.get());
  if (r < 0) return fail(Error::from_errno(-r, "cannot export the seccomp filter"));
  off_t size = lseek(mem.get(), 0, SEEK_END);
  if (size <= 0 || size % sizeof(struct sock_filter) != 0)
    return fail(Errc::kInternal, "seccomp filter has an unexpected size");
  out.filter.resize(size_t(size) / sizeof(struct sock_filter));
  if (pread(mem.get(), out.filter.data(), size_t(size), 0) != size)
    return fail(Error::from_errno(errno, "cannot read the seccomp filter"));
  return out;
}

}  // namespace hoist::runtime
