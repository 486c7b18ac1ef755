#pragma once
// What hoist-store shows and changes of a store: the images it names (ls),
// new names for one (tag), names removed (rm: the blobs stay until a gc), and
// the space each part takes (df), with what no name reaches (what a gc
// would free).
//
// Names are ref::Reference::str() of a normalised reference, as every tool
// records them ("127.0.0.1:5000/team/app:1", "docker.io/library/busybox:latest").
// Thread-compatible; each call takes the store's lock per index access.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "image/descriptor.h"
#include "store/store.h"
#include "util/result.h"

namespace hoist::store {

struct ImageEntry {
  std::string name;          // the full reference
  image::Descriptor root;    // the manifest or index it names
  uint64_t size = 0;         // the bytes of every blob under it that the store holds
  std::string created;       // the config's "created" (a manifest's; "" for an index)
  int64_t last_used = 0;     // unix seconds: the root blob's record
};

// The images whose name matches `pattern` (a shell glob, fnmatch(3), against
// the whole name or the name without its registry; "" matches all), by name.
Result<std::vector<ImageEntry>> list_images(Store& store, std::string_view pattern);

// Records `names` for what `source` names (a name, or a digest of a manifest
// the store holds). kNotFound naming `source` otherwise.
Result<image::Descriptor> tag_image(Store& store, std::string_view source, const std::vector<std::string>& names);

// Removes each name (kNotFound for one the store does not have; the others
// are removed first). The blobs stay.
Result<> remove_images(Store& store, const std::vector<std::string>& names);

struct DiskUsage {
  uint64_t blobs = 0, blob_bytes = 0;              // blobs/
  uint64_t unreferenced = 0, unreferenced_bytes = 0;  // of those, what no name or build cache record reaches
  uint64_t snapshot_bytes = 0;                     // snapshots/ (unpacked layers, build trees)
  uint64_t ingest_bytes = 0;                       // ingest/ (partial downloads)
  uint64_t cache_mount_bytes = 0;                  // cache-mounts/ (RUN --mount=type=cache)
  uint64_t cache_records = 0;                      // build cache records
  uint64_t images = 0;                             // names
};
Result<DiskUsage> disk_usage(Store& store);

}  // namespace hoist::store
