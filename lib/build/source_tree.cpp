#include "build/source_tree.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "dockerfile/glob.h"
#include "sys/file_io.h"
#include "sys/openat2.h"
#include "sys/tree.h"
#include "util/strings.h"

namespace hoist::build {

namespace {

std::string join(const std::string& a, const std::string& b) { return a.empty() || a == "." ? b : a + "/" + b; }

Result<std::vector<std::string>> sorted_names(int dfd) {
  auto names = HOIST_TRY(sys::list_dir_at(dfd, ""));
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

Result<SourceTree> SourceTree::open(const std::string& dir, std::string what, dockerfile::IgnoreMatcher ignore) {
  SourceTree t;
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOTDIR) return fail(Errc::kInvalidArgument, what + " '" + dir + "' is not a directory");
    return fail(Error::from_errno(errno, "cannot open " + what + " '" + dir + "'"));
  }
  t.root_ = sys::Fd(fd);
  t.dir_ = dir;
  t.what_ = std::move(what);
  t.ignore_ = std::move(ignore);
  return t;
}

bool SourceTree::ignored(std::string_view rel) const { return !ignore_.empty() && rel != "." && ignore_.matches(rel); }

Result<std::vector<std::string>> SourceTree::match(std::string_view source) const {
  std::string clean = dockerfile::clean_path(source);
  while (!clean.empty() && clean.front() == '/') clean.erase(0, 1);
  if (clean.empty() || clean == ".") return std::vector<std::string>{"."};
  auto not_found = [&](const std::string& what) {
    return fail(Errc::kNotFound, "'" + what + "' not found in " + what_ + " '" + dir_ + "'");
  };
  auto excluded = [&](const std::string& what) {
    return fail(Errc::kNotFound, "'" + what + "' is excluded by .dockerignore (in " + what_ + " '" + dir_ + "')");
  };
  auto kind = [&](const std::string& rel) -> int {  // 0 absent, 1 file, 2 directory
    auto fd = sys::open_in_root(root_, rel, O_PATH);
    if (!fd) return 0;
    struct stat st;
    if (::fstat(fd->get(), &st) != 0) return 0;
    return S_ISDIR(st.st_mode) ? 2 : 1;
  };
  auto visible = [&](const std::string& rel, int k) {
    return !ignored(rel) || (k == 2 && ignore_.may_reinclude_under(rel));
  };

  if (!dockerfile::has_glob_meta(clean)) {
    int k = kind(clean);
    if (k == 0) return not_found(clean);
    if (!visible(clean, k)) return excluded(clean);
    return std::vector<std::string>{clean};
  }
  std::vector<std::string> current{"."};
  for (auto part : split(clean, '/')) {
    std::string comp(part);
    std::vector<std::string> next;
    if (!dockerfile::has_glob_meta(comp)) {
      for (const auto& p : current) {
        std::string rel = join(p, comp);
        if (int k = kind(rel); k != 0 && visible(rel, k)) next.push_back(rel);
      }
    } else {
      auto glob = HOIST_TRY(dockerfile::Glob::compile(comp));
      for (const auto& p : current) {
        auto dir = sys::open_in_root(root_, p, O_RDONLY | O_DIRECTORY);
        if (!dir) continue;
        for (const auto& name : HOIST_TRY(sorted_names(dir->get()))) {
          if (!glob.matches(name)) continue;
          std::string rel = join(p, name);
          if (int k = kind(rel); k != 0 && visible(rel, k)) next.push_back(rel);
        }
      }
    }
    current = std::move(next);
    if (current.empty()) break;
  }
  if (current.empty()) return not_found(clean);
  std::sort(current.begin(), current.end());
  return current;
}

Result<> SourceTree::walk(const std::string& rel, const dockerfile::IgnoreMatcher& excludes,
                          const std::function<Result<>(const Entry&)>& fn) const {
  // The source itself: followed when it is a symlink (inside the root).
  auto fd = HOIST_TRY(sys::open_in_root(root_, rel, O_PATH));
  Entry top;
  top.rel = rel;
  if (::fstat(fd.get(), &top.st) != 0) return fail(Error::from_errno(errno, "cannot inspect '" + rel + "'"));
  top.dirfd = fd.get();
  top.name = "";
  HOIST_CHECK(fn(top));
  if (!S_ISDIR(top.st.st_mode)) return {};
  auto dir = HOIST_TRY_CTX(sys::open_in_root(root_, rel, O_RDONLY | O_DIRECTORY), "cannot list '" + rel + "'");
  return walk_dir(dir.get(), "", rel, excludes, fn);
}

Result<> SourceTree::walk_dir(int dfd, const std::string& path, const std::string& rel,
                              const dockerfile::IgnoreMatcher& excludes,
                              const std::function<Result<>(const Entry&)>& fn) const {
  for (const auto& name : HOIST_TRY(sorted_names(dfd))) {
    Entry e;
    e.path = path.empty() ? name : path + "/" + name;
    e.rel = join(rel, name);
    e.dirfd = dfd;
    e.name = name;
    if (::fstatat(dfd, name.c_str(), &e.st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;  // gone meanwhile
      return fail(Error::from_errno(errno, "cannot inspect '" + e.rel + "'"));
    }
    bool is_dir = S_ISDIR(e.st.st_mode);
    bool skip = ignored(e.rel) || (!excludes.empty() && excludes.matches(e.path));
    if (skip) {
      // Only an exception below it makes an excluded directory worth entering.
      bool reinclude = is_dir && ((ignored(e.rel) && ignore_.may_reinclude_under(e.rel)) ||
                                  (!excludes.empty() && excludes.matches(e.path) && excludes.may_reinclude_under(e.path)));
      if (!reinclude) continue;
    }
    HOIST_CHECK(fn(e));
    if (!is_dir) continue;
    int sub = ::openat(dfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0) return fail(Error::from_errno(errno, "cannot open '" + e.rel + "'"));
    sys::Fd subfd(sub);
    HOIST_CHECK(walk_dir(sub, e.path, e.rel, excludes, fn));
  }
  return {};
}

}  // namespace hoist::build
