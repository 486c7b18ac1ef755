#pragma once
// RUN --mount (internal to lib/build): what each mount adds to the step's
// cache key, and the mounts themselves around one RUN. Targets are taken
// against WORKDIR; the stubs the runtime makes for them in the rootfs are
// removed from the layer afterwards (run_step.h, clean_mount_points).
//
//   secret  --secret's value as a file on a tmpfs in the step's scratch
//           directory (never on disk, never in the layer), bound read-only at
//           target (default /run/secrets/ID unless env= is given), and/or in
//           the variable env=. Mode 0400 and owner 0:0 unless mode=, uid=,
//           gid=. A secret the build was not given is an error with
//           required, else the mount is left out. Its value is masked in the
//           step's output. Key: id, target, env, required; never the value.
//   cache   a directory kept in the store across builds (STORE/cache-mounts/
//           <sha256 of id>/<instance>; id defaults to the target), never in a
//           layer. sharing=shared (the default: any number of RUNs at once),
//           locked (one at a time: a second build waits), private (a free
//           instance of its own). Made 0755 0:0 unless mode=, uid=, gid=.
//           Key: id, target, sharing; not the content.
//   bind    source= (default the root) from the build context (default;
//           .dockerignore applies: a filtered copy when there is one) or from=
//           a stage or an image; read-only unless rw, whose writes go to a
//           scratch upper directory and are dropped. Key: the content digest
//           of the source (context) or the stage's ChainID / the image's
//           digest, source, target, rw.
//   tmpfs   an empty tmpfs (size= bytes, else half the RAM). Key: target, size.
//   ssh     unsupported: kUnsupported (there is no agent forwarding).

#include <memory>
#include <string>
#include <vector>

#include "build/step_root.h"
#include "dockerfile/runmount.h"
#include "sys/fd.h"

namespace hoist::build::detail {

struct PlannedMount {
  dockerfile::Mount m;                  // target absolute and cleaned
  std::string id;                       // a secret's or a cache's id
  const std::string* secret = nullptr;  // the value, when the build has it
  std::unique_ptr<ReadOnlyRoot> from;   // bind from a stage or an image (opened by make_mounts)
  size_t stage_index = 0;               // the stage the RUN is in (for from=)
  std::string context_rel;              // bind from the context: the matched path
};

// What one RUN's mounts hold while it runs: the mounts made in its scratch
// directory (a secrets tmpfs, rw bind overlays) and the cache mounts' locks.
class HeldMounts {
 public:
  HeldMounts() = default;
  ~HeldMounts();  // unmounts in reverse, then releases the locks
  HeldMounts(const HeldMounts&) = delete;
  HeldMounts& operator=(const HeldMounts&) = delete;
  std::vector<std::string> mounted;
  std::vector<sys::Fd> locks;
};

}  // namespace hoist::build::detail
