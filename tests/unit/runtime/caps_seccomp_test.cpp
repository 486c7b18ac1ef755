#include <doctest/doctest.h>

#include "runtime/caps.h"
#include "runtime/seccomp.h"

using namespace hoist;

TEST_CASE("capability names") {
  CHECK(runtime::parse_capability("CAP_SYS_ADMIN").value() == 21);
  CHECK(runtime::parse_capability("net_raw").value() == 13);
  CHECK(!runtime::parse_capability("CAP_NOPE"));
  CHECK(runtime::capability_name(0) == "CAP_CHOWN");
  std::vector<std::string> warnings;
  auto m = runtime::capability_mask({"CAP_KILL", "CAP_CHOWN", "CAP_CHECKPOINT_RESTORE"}, 39, &warnings);
  CHECK(m.value() == 0x21);
  CHECK(warnings.size() == 1);
}

TEST_CASE("compile_seccomp builds a filter and reports bad input") {
  runtime::Seccomp s;
  s.default_action = "SCMP_ACT_ALLOW";
  s.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86"};
  s.syscalls.push_back({{"mkdir", "no_such_syscall"}, "SCMP_ACT_ERRNO", 1, {}});
  s.syscalls.push_back({{"chmod"}, "SCMP_ACT_ERRNO", std::nullopt, {{1, 0600, 0, "SCMP_CMP_EQ"}}});
  std::vector<std::string> warnings;
  auto p = runtime::compile_seccomp(s, &warnings);
  REQUIRE(p.has_value());
  CHECK(p->filter.size() > 4);
  CHECK(warnings.size() == 1);
  s.default_action = "SCMP_ACT_BOGUS";
  CHECK(runtime::compile_seccomp(s, nullptr).error().code() == Errc::kInvalidArgument);
  s.default_action = "SCMP_ACT_ALLOW";
  s.syscalls[1].args[0].op = "SCMP_CMP_WHAT";
  CHECK(!runtime::compile_seccomp(s, nullptr));
  s.syscalls.clear();
  s.architectures = {"SCMP_ARCH_PDP11"};
  CHECK(!runtime::compile_seccomp(s, nullptr));
}
