#pragma once
// COPY and ADD's file work (Dockerfile reference "COPY"; BuildKit's file op
// with fsutil's copy): sources from a SourceTree into a step's root.
//
//   - a directory source copies its contents, not itself, into the target
//     directory; a file goes to DEST when DEST names a file, else to
//     DEST/basename; --parents keeps the source's path below DEST;
//   - modes are kept (or --chmod for every entry copied); owners are 0:0, or
//     --chown's, whatever USER says; mtimes are the source's (the layer
//     clamps them); xattrs are copied; symlinks below a source are copied as
//     symlinks; fifos and devices are made again; sockets are skipped;
//   - the destination's parents are resolved inside the root (a symlink in the
//     image is followed, never out of it); missing ones are made 0755, owned
//     as --chown says;
//   - what is in the way is replaced (a file over a file or a symlink, a
//     directory over a non-directory); directories merge.

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "build/source_tree.h"
#include "sys/fd.h"
#include "util/result.h"

namespace hoist::build {

struct Owner {
  uint32_t uid = 0;
  uint32_t gid = 0;
};

struct CopyOptions {
  std::optional<Owner> chown;
  std::optional<mode_t> chmod;
  bool parents = false;
  dockerfile::IgnoreMatcher excludes;
};

struct CopyStats {
  uint64_t entries = 0;
  uint64_t files = 0;
  uint64_t bytes = 0;
};

// `dest` is absolute and cleaned; `dest_is_dir` when it names a directory (a
// trailing '/', several sources, or an existing directory: see
// resolve_copy_dest).
Result<CopyStats> copy_sources(const SourceTree& tree, const std::vector<std::string>& sources,
                               const sys::Fd& dest_root, const std::string& dest, bool dest_is_dir,
                               const CopyOptions& options);

// Writes `data` as the file `dest` (COPY <<EOF heredocs): mode 0644 unless
// --chmod, owner per --chown.
Result<> write_file_into(const sys::Fd& dest_root, const std::string& dest, std::string_view data,
                         const CopyOptions& options, int64_t mtime);

// The bytes of `src_fd` (from its start) as the file `dest`: mode `mode`
// unless --chmod, owner per --chown (ADD's downloads).
Result<> copy_fd_into(const sys::Fd& dest_root, const std::string& dest, int src_fd, mode_t mode,
                      const CopyOptions& options, int64_t mtime);

// ADD of a local archive: the tar in the file `archive_fd` (compressed or not,
// archive/any_archive.h) unpacked into the directory `dest_dir` (made when
// missing with --chown's owner), every entry kept inside it; the entries keep
// the owners and modes the tar gives them.
Result<> extract_archive_into(const sys::Fd& dest_root, const std::string& dest_dir, int archive_fd,
                              const CopyOptions& options);

// Whether `dest` (absolute) is an existing directory in the root.
bool is_dir_in_root(const sys::Fd& root, const std::string& dest);

// Parses a --chmod value: octal only ("755", "0644"); kInvalidArgument otherwise.
Result<mode_t> parse_chmod(std::string_view text);

}  // namespace hoist::build
