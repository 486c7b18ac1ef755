#pragma once
// The rootfs plan: what to mount, make and link inside a container's root, as
// data. plan_mounts() is pure (no syscalls; unit-tested without root); the init
// applies the ops in order (runtime/init/). Destinations are cleaned lexically
// here and resolved inside the rootfs at apply time (sys::open_in_root), so a
// symlink in the bundle cannot move a mount outside it.

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "runtime/spec.h"

namespace hoist::runtime {

enum class OpKind : uint8_t {
  kMount,    // mount(source, target, fstype, flags, data); then propagation
  kBind,     // bind `source` (host path) on target; remount with flags if any
  kCgroup,   // the container's cgroup hierarchy at target (expanded by the launcher)
  kDevice,   // mknod target (bind-mount the host's node inside a user namespace)
  kSymlink,  // symlink link_target at target (replacing what is there)
  kRemount,  // mount(NULL, target, NULL, MS_REMOUNT | flags): a superblock remount, only
             // for a filesystem the container owns (a tmpfs it mounted), never a bind
};

struct MountOp {
  OpKind kind = OpKind::kMount;
  std::string source;
  std::string target;  // absolute, clean, inside the rootfs
  std::string fstype;
  unsigned long flags = 0;        // MS_* for mount(2) (kBind: applied by remount)
  unsigned long propagation = 0;  // MS_SHARED|MS_SLAVE|MS_PRIVATE|MS_UNBINDABLE [|MS_REC]
  bool recursive = false;         // kBind: rbind
  std::string data;               // fs options not known as flags, comma-joined
  // kDevice
  mode_t mode = 0;  // S_IFCHR|0666 ...
  uint32_t major = 0, minor = 0;
  uint32_t uid = 0, gid = 0;
  // kSymlink
  std::string link_target;
};

// Mount options as runc reads them: flags, clear-flags, propagation, data.
struct MountOptions {
  unsigned long flags = 0;
  unsigned long propagation = 0;
  bool bind = false, recursive = false;
  std::string data;
};
MountOptions parse_mount_options(const std::vector<std::string>& options);

// "/a//b/../c/" -> "/a/c"; never climbs above "/". Relative paths become absolute.
std::string clean_path(std::string_view path);

// The rootfs phase, in order: the config's mounts, then (unless /dev is a bind
// from the host) the default devices and the config's devices, the /dev
// symlinks (fd, stdin, stdout, stderr) and /dev/ptmx -> pts/ptmx.
// `bundle` resolves relative bind sources. kInvalidArgument for a bad option.
Result<std::vector<MountOp>> plan_mounts(const Spec& spec, std::string_view bundle);

// Propagation for "/" before the rootfs is set up (rootfsPropagation, default
// MS_SLAVE|MS_REC, as runc) and what to make the new root after pivot_root.
Result<unsigned long> plan_root_propagation(const Spec& spec);

// The /dev nodes every container gets (runtime-spec "Default Devices").
std::vector<Device> default_devices();

// The mount that holds `path` (an absolute, clean host path): the last line of
// `mountinfo` whose mount point is the longest prefix of it (a later mount on
// the same point hides an earlier one), and whether it is shared ("shared:N"
// among the optional fields). Pure.
struct ParentMount {
  std::string mount_point = "/";
  bool shared = false;
};
ParentMount parent_mount(std::string_view mountinfo, std::string_view path);

// Whether the rootfs's parent mount is still shared in the container's mount
// namespace once "/" got `root_propagation` (plan_root_propagation). Then the
// init makes it private before binding the rootfs on itself, or that bind (and
// every mount under it) would propagate to the host (runc's
// rootfsParentMountPrivate; pivot_root also refuses a shared parent).
bool parent_stays_shared(const ParentMount& parent, unsigned long root_propagation);

}  // namespace hoist::runtime
