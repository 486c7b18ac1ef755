#include "runtime/mounts.h"

#include <doctest/doctest.h>
#include <sys/mount.h>
#include <sys/stat.h>

using namespace hoist;
using runtime::OpKind;

TEST_CASE("clean_path") {
  CHECK(runtime::clean_path("/a//b/../c/") == "/a/c");
  CHECK(runtime::clean_path("../../etc") == "/etc");
  CHECK(runtime::clean_path("/") == "/");
  CHECK(runtime::clean_path("") == "/");
  CHECK(runtime::clean_path("/proc/./self") == "/proc/self");
}

TEST_CASE("parse_mount_options splits flags, propagation and data") {
  auto o = runtime::parse_mount_options({"nosuid", "noexec", "rbind", "ro", "rslave", "mode=755", "size=1k"});
  CHECK(o.bind);
  CHECK(o.recursive);
  CHECK(o.flags == (MS_NOSUID | MS_NOEXEC | MS_RDONLY));
  CHECK(o.propagation == (MS_SLAVE | MS_REC));
  CHECK(o.data == "mode=755,size=1k");
  auto rw = runtime::parse_mount_options({"ro", "rw", "suid", "nosuid", "dev"});
  CHECK(rw.flags == MS_NOSUID);
  CHECK(!rw.bind);
}

TEST_CASE("plan_mounts: config mounts, then devices and /dev links") {
  auto spec = runtime::parse_spec(runtime::default_spec_json(false, 0, 0)).value();
  spec.mounts.push_back({"/data/../data2", "bind", "relative/src", {"ro"}});
  spec.linux_cfg.devices.push_back({"/dev/fuse", 'c', 10, 229, 0600, 1, 2});
  spec.linux_cfg.devices.push_back({"/dev/null", 'c', 1, 3, 0640, std::nullopt, std::nullopt});
  auto ops = runtime::plan_mounts(spec, "/bundle").value();
  REQUIRE(ops.size() == 8 + 7 + 5);
  CHECK(ops[0].kind == OpKind::kMount);
  CHECK(ops[0].target == "/proc");
  CHECK(ops[0].fstype == "proc");
  CHECK(ops[1].target == "/dev");
  CHECK(ops[1].data == "mode=755,size=65536k");
  CHECK(ops[1].flags == (MS_NOSUID | MS_STRICTATIME));
  CHECK(ops[6].kind == OpKind::kCgroup);
  CHECK(ops[7].kind == OpKind::kBind);
  CHECK(ops[7].source == "/bundle/relative/src");
  CHECK(ops[7].target == "/data2");
  CHECK(ops[7].flags == MS_RDONLY);
  // Devices: the six defaults (null overridden in place) then the config's.
  CHECK(ops[8].kind == OpKind::kDevice);
  CHECK(ops[8].target == "/dev/null");
  CHECK(ops[8].mode == (S_IFCHR | 0640));
  CHECK(ops[13].target == "/dev/tty");
  CHECK(ops[14].target == "/dev/fuse");
  CHECK(ops[14].major == 10);
  CHECK(ops[14].uid == 1);
  CHECK(ops[15].kind == OpKind::kSymlink);
  CHECK(ops[15].target == "/dev/fd");
  CHECK(ops[15].link_target == "/proc/self/fd");
  CHECK(ops[19].target == "/dev/ptmx");
  CHECK(ops[19].link_target == "pts/ptmx");
}

TEST_CASE("plan_mounts: /dev bound from the host gets no device nodes") {
  runtime::Spec spec;
  spec.mounts.push_back({"/dev", "bind", "/dev", {"rbind"}});
  auto ops = runtime::plan_mounts(spec, "/b").value();
  REQUIRE(ops.size() == 1);
  CHECK(ops[0].recursive);
}

TEST_CASE("plan_mounts rejects mounts without what they need") {
  runtime::Spec spec;
  spec.mounts.push_back({"/x", "bind", "", {}});
  CHECK(!runtime::plan_mounts(spec, "/b"));
  spec.mounts[0] = {"/x", "", "src", {}};
  CHECK(!runtime::plan_mounts(spec, "/b"));
}

TEST_CASE("plan_root_propagation") {
  runtime::Spec spec;
  CHECK(runtime::plan_root_propagation(spec).value() == (MS_SLAVE | MS_REC));
  spec.linux_cfg.rootfs_propagation = "rshared";
  CHECK(runtime::plan_root_propagation(spec).value() == (MS_SHARED | MS_REC));
  spec.linux_cfg.rootfs_propagation = "sideways";
  CHECK(!runtime::plan_root_propagation(spec));
}

TEST_CASE("parent_mount: longest mount point, last one listed, shared tag") {
  constexpr const char* kInfo =
      "26 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n"
      "41 26 0:38 / /tmp/sh rw,relatime shared:1 - tmpfs tmpfs rw\n"
      "42 26 0:39 / /tmp/shx rw,relatime shared:2 - tmpfs tmpfs rw\n"
      "43 41 0:40 / /tmp/sh/a\\040b rw,relatime - tmpfs tmpfs rw\n";
  auto p = runtime::parent_mount(kInfo, "/tmp/sh/b/rootfs");
  CHECK(p.mount_point == "/tmp/sh");
  CHECK(p.shared);
  CHECK(runtime::parent_mount(kInfo, "/tmp/shx").mount_point == "/tmp/shx");
  CHECK(runtime::parent_mount(kInfo, "/tmp/shy/rootfs").mount_point == "/");
  CHECK(!runtime::parent_mount(kInfo, "/tmp/shy/rootfs").shared);
  auto esc = runtime::parent_mount(kInfo, "/tmp/sh/a b/rootfs");
  CHECK(esc.mount_point == "/tmp/sh/a b");
  CHECK(!esc.shared);
}

TEST_CASE("parent_stays_shared: what the root propagation leaves shared") {
  runtime::ParentMount shared{"/tmp/sh", true}, root{"/", true}, priv{"/tmp/p", false};
  CHECK(!runtime::parent_stays_shared(shared, MS_SLAVE | MS_REC));  // runc's default
  CHECK(!runtime::parent_stays_shared(shared, MS_PRIVATE | MS_REC));
  CHECK(runtime::parent_stays_shared(shared, MS_SHARED | MS_REC));
  CHECK(runtime::parent_stays_shared(priv, MS_SHARED | MS_REC));
  CHECK(runtime::parent_stays_shared(shared, MS_PRIVATE));  // "/" only: the parent keeps its peers
  CHECK(!runtime::parent_stays_shared(root, MS_PRIVATE));
  CHECK(runtime::parent_stays_shared(root, MS_SHARED));
  CHECK(!runtime::parent_stays_shared(priv, MS_SLAVE));
}
