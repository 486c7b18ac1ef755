#pragma once
// The file systems a build step works on. StepRoot: a writable root for one
// RUN, COPY, ADD or WORKDIR, an overlay of the stage's snapshots (read-only
// lower directories, top first) with a fresh upper directory that receives
// every change: after the step, the upper directory is the layer's content
// (overlay whiteouts and opaque markers included) and becomes the new
// snapshot as it is (unpack/snapshot.h keeps snapshots in that format).
// ReadOnlyRoot: a stage's or image's tree to copy from (COPY --from).
//
// Everything lives in a temp directory under STORE/snapshots/tmp, flock'ed for
// the build's life (a dead build's directories are removed by the next one).
// The mounts are made in the caller's mount namespace: hoist-build enters one
// of its own first (sys::enter_private_mount_namespace), so that a killed
// build leaves none behind. Root only (overlay mounts). Not thread-safe.

#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "digest/digest.h"
#include "sys/fd.h"
#include "unpack/snapshot.h"
#include "util/result.h"

namespace hoist::build {

// How a step's root is made. kOverlay: an overlay mount (the default, and on
// any kernel as root). kCopy: for kernels that cannot mount overlayfs in a
// user namespace (< 5.11): the step runs on a full copy of the tree below it
// (a flat tree kept per snapshot chain under DIR/flat/), and unmount() writes
// the difference into the upper directory in overlay form (build/tree_diff.h),
// so the rest is as with kOverlay. Slower (every step copies the tree), and a
// replaced directory is whiteouts and new entries where overlay marks it opaque.
enum class Snapshotter : uint8_t { kOverlay, kCopy };

// A flat tree (kCopy) held with a shared flock: see flat_tree() below.
struct FlatTree {
  std::string path;
  sys::Fd lock;
};

class StepRoot {
 public:
  // Makes DIR/{upper,work,merged,scratch} and mounts merged. `lower`: the
  // snapshots, top first; empty for a stage FROM scratch (an empty directory
  // stands in). The upper directory's root takes the owner, mode and times of
  // lower[0] (the merged root shows the upper's).
  static Result<std::unique_ptr<StepRoot>> mount(unpack::Snapshots& snaps, const std::vector<std::string>& lower,
                                                 Snapshotter mode = Snapshotter::kOverlay);
  ~StepRoot();  // unmounts when mounted; removes DIR unless adopt()ed
  StepRoot(const StepRoot&) = delete;
  StepRoot& operator=(const StepRoot&) = delete;

  const std::string& merged() const { return merged_; }    // the step's "/"
  const std::string& upper() const { return upper_; }      // its changes
  const std::string& scratch() const { return scratch_; }  // for the step's own files (bundle, state)
  // Unmounts merged (before the upper directory is read); kCopy: writes the
  // difference into the upper directory. Idempotent.
  Result<> unmount();
  // After unmount(): the upper directory becomes the snapshot of `chain_id`.
  // False when that snapshot existed already (then the upper is dropped).
  // `whole`: the step's tree is that chain's whole tree (not a COPY --link's
  // layer alone), which kCopy keeps as its flat tree.
  Result<bool> adopt(unpack::Snapshots& snaps, const digest::Digest& chain_id, bool whole = true);

 private:
  StepRoot(unpack::TempDir dir);
  unpack::TempDir dir_;
  std::string upper_, work_, merged_, scratch_;
  FlatTree base_;            // kCopy: the flat tree merged was copied from
  std::string flat_dir_;     // kCopy: where adopt() puts merged
  struct timespec copied_at_ = {};  // kCopy: every change the step makes has a later ctime
  bool mounted_ = false;
};

// A tree to read from: one snapshot as it is, or a read-only overlay of
// several. path() is its root.
// kCopy: the flat tree of `lower` (top first) under DIR/flat/<top ChainID>,
// made from the snapshots when missing (build/tree_diff.h merge_into), held
// with a shared flock while `lock` lives. A step's own tree becomes its
// chain's flat tree (StepRoot::adopt).
Result<FlatTree> flat_tree(unpack::Snapshots& snaps, const std::vector<std::string>& lower);
// Removes every flat tree nobody holds (a copy-mode build starts with it:
// they are one full tree each).
void evict_flat_trees(unpack::Snapshots& snaps);

// Whether an overlay can be mounted here (a probe under the snapshots' temp
// directory): false on a kernel that refuses overlayfs in a user namespace.
bool overlay_works(unpack::Snapshots& snaps);

class ReadOnlyRoot {
 public:
  static Result<std::unique_ptr<ReadOnlyRoot>> open(unpack::Snapshots& snaps, const std::vector<std::string>& lower,
                                                    Snapshotter mode = Snapshotter::kOverlay);
  ~ReadOnlyRoot();
  ReadOnlyRoot(const ReadOnlyRoot&) = delete;
  ReadOnlyRoot& operator=(const ReadOnlyRoot&) = delete;
  const std::string& path() const { return path_; }

 private:
  ReadOnlyRoot() = default;
  std::unique_ptr<unpack::TempDir> dir_;
  FlatTree flat_;
  std::string path_;
  bool mounted_ = false;
};

}  // namespace hoist::build
