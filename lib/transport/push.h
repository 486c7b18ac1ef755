#pragma once
// hoist-push's work, shared by every tool that sends images to a registry:
// which images a SRC text means, where each one goes, whether it is there
// already, and mirroring a list of them (--sync).
//
// Sources (open_push_sources): everything open_sources() takes
// (transport/local_sources.h), plus docker://REF, a registry image streamed
// registry -> registry through copy() (no detour through the disk), and
// docker://REGISTRY/REPO with no tag and no digest: every tag of that
// repository (tags/list).
//
// Destinations (destination_for): DEST is a reference, "docker://" optional.
//  - One image, DEST not ending in '/': DEST as written (no tag means
//    "latest", as docker, skopeo and crane read it).
//  - Several images (a layout or archive holding many, several stdin lines, a
//    repository's tags), or DEST ending in '/': DEST is a prefix
//    (REGISTRY[/PATH]) and each image goes to PREFIX/<repository path>:<tag>,
//    its repository path being its name without the registry
//    ("127.0.0.1:5000/team/app:v1" -> PREFIX/team/app:v1,
//    "busybox" -> PREFIX/library/busybox:latest). An image with a tag and no
//    name (skopeo's layouts: ref.name "v1") goes to PREFIX:<tag>; an image
//    without a tag gets "latest". (skopeo sync keeps only the last path
//    component, or with --scoped the registry too; hoist keeps the path, which
//    cannot collide and round-trips through hoist-pull --output.)
//
// Already there (PushOptions::skip_present): before any blob work, the root
// manifest's digest (after --format and the platform pick) is compared with
// what a HEAD of each destination tag returns; when every tag names it the
// image is skipped.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "image/convert.h"
#include "transport/copy.h"
#include "transport/open.h"

namespace hoist::transport {

struct PushOptions {
  CopyOptions copy;
  std::vector<std::string> tags;  // more tags for every image (--tag)
  std::string store_dir;          // "" = the default store
  std::optional<image::Format> format;
  bool skip_present = false;
  // sync(): images copied at once (each with copy.jobs blob transfers). A
  // registry spends most of an image's push in its own ingest, so several
  // images in flight hide that latency.
  int parallel_images = 3;
};

struct PushResult {
  std::string source;  // the source's name or where it was found, for people
  std::string dest;    // the destination reference as pushed to
  CopyResult copy;     // copy.pinned(): "DESTNAME@sha256:..."; for a skipped image root only
  bool skipped = false;
};

// A source opened for pushing, with the label to show for it.
struct PushSource {
  std::unique_ptr<Source> source;
  std::string label;  // "oci:./l:app:v1", "docker://r/a:1", "store '/s': r/a:1"
};

// The images TEXT means (see above); `many` is set when TEXT can hold several
// (so DEST is a prefix even when it happens to hold one).
Result<std::vector<PushSource>> open_push_sources(Registries& registries, std::string_view text,
                                                  const std::string& store_dir, bool* many = nullptr);

// PREFIX/<repository path>:<tag> or DEST itself, as described above.
Result<std::string> destination_for(std::string_view dest, const Source& src, bool prefix);
// True when DEST ends with '/' (a prefix by the user's word).
bool is_prefix(std::string_view dest);

// One image to one destination reference.
Result<PushResult> push_image(Registries& registries, Source& src, std::string_view dest, const PushOptions& options,
                              ProgressSink& progress);

// --sync FILE: one entry a line, "SRC DEST" separated by blanks; '#' starts a
// comment; blank lines are skipped. SRC and DEST as above.
struct SyncEntry {
  int line = 0;
  std::string source;
  std::string dest;
};
// kUsage "sync list line N: ..." for a line that is not two words.
Result<std::vector<SyncEntry>> parse_sync_list(std::string_view text);

struct SyncOutcome {
  const SyncEntry* entry = nullptr;
  std::string source;                // the image's label
  std::string dest;                  // "" when the entry failed before a destination was known
  std::optional<PushResult> result;  // copied or skipped
  std::optional<Error> error;        // failed
};
struct SyncSummary {
  int copied = 0;
  int skipped = 0;
  int failed = 0;
};
// Every entry's images, options.parallel_images at a time; a failure is
// reported and the rest go on. options.skip_present is forced on. `report` is
// called once per image (or once per entry that failed before its images were
// known), from one thread at a time, in completion order.
SyncSummary sync(Registries& registries, const std::vector<SyncEntry>& entries, const PushOptions& options,
                 ProgressSink& progress, const std::function<void(const SyncOutcome&)>& report);

}  // namespace hoist::transport
