#pragma once
// The trees COPY and ADD read from: the build context (with .dockerignore) or
// a stage's or image's root (COPY --from). Sources are resolved as BuildKit
// resolves them: relative to the root ("/x" is "x", "." the whole root), any
// component may be a glob (dockerfile/glob.h), resolution never leaves the
// root (openat2 RESOLVE_IN_ROOT; a symlink named by a source is followed
// inside the root, symlinks below it are copied as symlinks).
//
// walk() visits an entry and everything under it, depth first, parents before
// children, names in byte order, leaving out what .dockerignore excludes
// (descending into an excluded directory only when an exception pattern may
// re-include something below it) and what --exclude patterns match (relative
// to the source). Memory: one directory's names at a time.
//
// Thread-compatible; the root fd may be shared by several readers.

#include <sys/stat.h>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "dockerfile/ignore.h"
#include "sys/fd.h"
#include "util/result.h"

namespace hoist::build {

class SourceTree {
 public:
  // `dir` must be a directory: kInvalidArgument "build context 'X' is not a
  // directory" (`what` names it in messages: "build context", "stage 'builder'").
  // `ignore`: the .dockerignore patterns (empty for a stage's root).
  static Result<SourceTree> open(const std::string& dir, std::string what, dockerfile::IgnoreMatcher ignore = {});

  const std::string& dir() const { return dir_; }
  const std::string& what() const { return what_; }
  const sys::Fd& root() const { return root_; }
  const dockerfile::IgnoreMatcher& ignore() const { return ignore_; }

  // The entries `source` names, relative and cleaned ("." for the root), in
  // byte order. A source that matches nothing is kNotFound naming it, and
  // saying when .dockerignore excludes it: "'app.log' is excluded by
  // .dockerignore" / "'x' not found in build context '/ctx'". A glob that
  // matches nothing is the same error.
  Result<std::vector<std::string>> match(std::string_view source) const;

  struct Entry {
    std::string path;     // relative to the source: "" for the source itself, "a/b"
    std::string rel;      // relative to the root: "src/a/b" ("." for the root)
    struct stat st;       // lstat of it (the source itself: followed, when a symlink)
    int dirfd = -1;       // its parent directory (valid during the callback)
    std::string name;     // its name in dirfd ("." for the root itself)
  };
  // Calls fn for `rel` (a match()ed path) and everything below it. Stops at
  // the first error fn returns. `excludes` apply to Entry::path.
  Result<> walk(const std::string& rel, const dockerfile::IgnoreMatcher& excludes,
                const std::function<Result<>(const Entry&)>& fn) const;

 private:
  SourceTree() = default;
  bool ignored(std::string_view rel) const;
  Result<> walk_dir(int dfd, const std::string& path, const std::string& rel,
                    const dockerfile::IgnoreMatcher& excludes, const std::function<Result<>(const Entry&)>& fn) const;

  std::string dir_;
  std::string what_;
  sys::Fd root_;  // O_RDONLY | O_DIRECTORY
  dockerfile::IgnoreMatcher ignore_;
};

}  // namespace hoist::build
