#pragma once
// The content digest of COPY/ADD sources, for the cache key (build/cache.h):
// one sha256 over, per source, every entry below it in walk order: its path
// relative to the source, type, permission bits, size, link target, and for a
// regular file the sha256 of its bytes. Owners and mtimes are left out (COPY
// sets the owner, and layers clamp mtimes); so is everything .dockerignore or
// --exclude leaves out. Files are hashed on `jobs` threads, each read once
// with a 1 MiB buffer; a file met again in one build (same device, inode,
// size, mtime and ctime) is not read again. Memory: the entries' paths of one
// step, never file contents.
//
// Thread-compatible.

#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "build/source_tree.h"
#include "digest/digest.h"
#include "util/result.h"

namespace hoist::build {

class ContentHasher {
 public:
  explicit ContentHasher(unsigned jobs) : jobs_(jobs ? jobs : 1) {}

  Result<digest::Digest> digest(const SourceTree& tree, const std::vector<std::string>& sources,
                                const dockerfile::IgnoreMatcher& excludes);

  uint64_t files_hashed() const { return files_hashed_; }
  uint64_t bytes_hashed() const { return bytes_hashed_; }

 private:
  using FileId = std::tuple<dev_t, ino_t, off_t, int64_t, int64_t>;
  unsigned jobs_;
  std::mutex mu_;
  std::map<FileId, digest::Digest> memo_;
  uint64_t files_hashed_ = 0;
  uint64_t bytes_hashed_ = 0;
};

}  // namespace hoist::build
