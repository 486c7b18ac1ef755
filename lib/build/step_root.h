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

#include <memory>
#include <string>
#include <vector>

#include "digest/digest.h"
#include "unpack/snapshot.h"
#include "util/result.h"

namespace hoist::build {

class StepRoot {
 public:
  // Makes DIR/{upper,work,merged,scratch} and mounts merged. `lower`: the
  // snapshots, top first; empty for a stage FROM scratch (an empty directory
  // stands in). The upper directory's root takes the owner, mode and times of
  // lower[0] (the merged root shows the upper's).
  static Result<std::unique_ptr<StepRoot>> mount(unpack::Snapshots& snaps, const std::vector<std::string>& lower);
  ~StepRoot();  // unmounts when mounted; removes DIR unless adopt()ed
  StepRoot(const StepRoot&) = delete;
  StepRoot& operator=(const StepRoot&) = delete;

  const std::string& merged() const { return merged_; }    // the step's "/"
  const std::string& upper() const { return upper_; }      // its changes
  const std::string& scratch() const { return scratch_; }  // for the step's own files (bundle, state)
  // Unmounts merged (before the upper directory is read). Idempotent.
  Result<> unmount();
  // After unmount(): the upper directory becomes the snapshot of `chain_id`.
  // False when that snapshot existed already (then the upper is dropped).
  Result<bool> adopt(unpack::Snapshots& snaps, const digest::Digest& chain_id);

 private:
  StepRoot(unpack::TempDir dir);
  unpack::TempDir dir_;
  std::string upper_, work_, merged_, scratch_;
  bool mounted_ = false;
};

// A tree to read from: one snapshot as it is, or a read-only overlay of
// several. path() is its root.
class ReadOnlyRoot {
 public:
  static Result<std::unique_ptr<ReadOnlyRoot>> open(unpack::Snapshots& snaps, const std::vector<std::string>& lower);
  ~ReadOnlyRoot();
  ReadOnlyRoot(const ReadOnlyRoot&) = delete;
  ReadOnlyRoot& operator=(const ReadOnlyRoot&) = delete;
  const std::string& path() const { return path_; }

 private:
  ReadOnlyRoot() = default;
  std::unique_ptr<unpack::TempDir> dir_;
  std::string path_;
  bool mounted_ = false;
};

}  // namespace hoist::build
