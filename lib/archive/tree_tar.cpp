#include "archive/tree_tar.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <fmt/core.h>

#include "archive/path.h"
#include "archive/tar_writer.h"
#include "io/fd_stream.h"
#include "sys/overlay.h"
#include "sys/tree.h"

namespace hoist::archive {

namespace {

constexpr std::string_view kCapability = "security.capability";

// Overlay's own xattrs, under both namespaces it uses (trusted.* normally,
// user.* with the userxattr mount option of mounts in a user namespace).
constexpr std::string_view kOverlayNs[] = {"trusted.overlay.", "user.overlay."};

Error errno_error(int err, std::string_view what, std::string_view path) {
  return Error::from_errno(err, fmt::format("{} '{}'", what, path));
}

// "/proc/self/fd/N/name": the directory the fd names, the last component not
// followed (l*xattr); "" is the directory itself (followed: the magic link).
std::string proc_path(int dirfd, const std::string& name) {
  std::string p = "/proc/self/fd/" + std::to_string(dirfd);
  if (!name.empty()) p.append("/").append(name);
  return p;
}

Result<std::vector<std::string>> list_xattrs(int dirfd, const std::string& name, std::string_view rel) {
  std::string p = proc_path(dirfd, name);
  auto list = name.empty() ? ::listxattr : ::llistxattr;
  for (;;) {
    ssize_t n = list(p.c_str(), nullptr, 0);
    if (n < 0) {
      if (errno == ENOTSUP) return std::vector<std::string>{};
      return fail(errno_error(errno, "cannot list xattrs of", rel));
    }
    std::string buf(size_t(n), '\0');
    ssize_t m = n ? list(p.c_str(), buf.data(), buf.size()) : 0;
    if (m < 0 && errno == ERANGE) continue;  // grew in between
    if (m < 0) return fail(errno_error(errno, "cannot list xattrs of", rel));
    std::vector<std::string> out;
    for (size_t i = 0; i < size_t(m);) {
      size_t e = buf.find('\0', i);
      if (e == std::string::npos) e = size_t(m);
      if (e > i) out.emplace_back(buf.substr(i, e - i));
      i = e + 1;
    }
    return out;
  }
}

Result<std::optional<std::string>> get_xattr(int dirfd, const std::string& name, const std::string& key,
                                             std::string_view rel) {
  std::string p = proc_path(dirfd, name);
  auto get = name.empty() ? ::getxattr : ::lgetxattr;
  for (;;) {
    ssize_t n = get(p.c_str(), key.c_str(), nullptr, 0);
    if (n < 0 && (errno == ENODATA || errno == ENOTSUP)) return std::optional<std::string>();
    if (n < 0) return fail(errno_error(errno, fmt::format("cannot read xattr '{}' of", key), rel));
    std::string v(size_t(n), '\0');
    ssize_t m = n ? get(p.c_str(), key.c_str(), v.data(), v.size()) : 0;
    if (m < 0 && errno == ERANGE) continue;
    if (m < 0 && errno == ENODATA) return std::optional<std::string>();
    if (m < 0) return fail(errno_error(errno, fmt::format("cannot read xattr '{}' of", key), rel));
    v.resize(size_t(m));
    return std::optional<std::string>(std::move(v));
  }
}

bool is_overlay_xattr(std::string_view key) {
  return std::any_of(std::begin(kOverlayNs), std::end(kOverlayNs), [&](auto ns) { return key.starts_with(ns); });
}

// moby ReadSecurityXattrToTarHeader: VFS_CAP_REVISION_3 carries the root uid of
// the user namespace that set it; written as revision 2 (20 bytes), it applies
// wherever the layer is unpacked.
void normalize_capability(std::string& v) {
  constexpr size_t kRevOffset = 3, kRev2Size = 20;
  if (v.size() > kRevOffset && v[kRevOffset] == 3) {
    v[kRevOffset] = 2;
    if (v.size() > kRev2Size) v.resize(kRev2Size);
  }
}

struct InodeKey {
  dev_t dev;
  ino_t ino;
  bool operator==(const InodeKey&) const = default;
};
struct InodeHash {
  size_t operator()(const InodeKey& k) const { return std::hash<uint64_t>()(uint64_t(k.ino) * 1000003u ^ k.dev); }
};

// Counts file data for on_progress as it is read, and notes the end of file.
class ProgressReader : public io::Reader {
 public:
  ProgressReader(io::Reader& in, uint64_t& total, const std::function<void(uint64_t)>& cb)
      : in_(in), total_(total), cb_(cb) {}
  Result<size_t> read(std::span<std::byte> buf) override {
    size_t n = HOIST_TRY(in_.read(buf));
    if (n == 0) eof = true;
    total_ += n;
    if (n && cb_) cb_(total_);
    return n;
  }
  bool eof = false;

 private:
  io::Reader& in_;
  uint64_t& total_;
  const std::function<void(uint64_t)>& cb_;
};

// One directory being written: its fd, its path with a trailing '/' ("" for the
// root) and the names not yet written.
struct Frame {
  sys::Fd owned;  // invalid for the root (the caller's fd)
  int fd = -1;
  std::string prefix;
  std::vector<std::string> names;
  size_t next = 0;
};

class TreeWriter {
 public:
  TreeWriter(io::Writer& out, const TreeTarOptions& o) : o_(o), tw_(out) {}

  Result<TreeTarStats> run(const sys::Fd& root) {
    struct stat st;
    if (::fstat(root.get(), &st) != 0) return fail(errno_error(errno, "cannot stat", "."));
    if (!S_ISDIR(st.st_mode)) return fail(Errc::kInvalidArgument, "cannot write a tree tar: '.' is not a directory");
    std::vector<Frame> stack;
    Frame top;
    top.fd = root.get();
    HOIST_CHECK(list(top, "."));
    if (o_.overlay_upper) {
      TarEntry self;
      self.type = EntryType::kDir;
      bool opaque = HOIST_TRY(read_xattrs(root.get(), "", ".", self));
      if (opaque) HOIST_CHECK(opaque_marker("", st));
    }
    stack.push_back(std::move(top));
    while (!stack.empty()) {
      Frame& f = stack.back();
      if (f.next == f.names.size()) {
        stack.pop_back();
        continue;
      }
      std::string name = std::move(f.names[f.next++]);
      auto child = HOIST_TRY(visit(f.fd, f.prefix, name));
      if (child) stack.push_back(std::move(*child));  // `f` is not used after this
    }
    HOIST_CHECK(tw_.finish());
    stats_.tar_bytes = tw_.bytes_written();
    return stats_;
  }

 private:
  int64_t clamp(int64_t t) const { return o_.clamp_mtime && t > *o_.clamp_mtime ? *o_.clamp_mtime : t; }

  Result<> list(Frame& f, std::string_view rel) {
    auto names = sys::list_dir_at(f.fd, "");
    if (!names) return fail(std::move(names).error().context(fmt::format("cannot list '{}'", rel)));
    f.names = std::move(*names);
    std::sort(f.names.begin(), f.names.end());  // char_traits<char> compares as unsigned bytes
    return {};
  }

  Result<> add(const TarEntry& e) {
    HOIST_CHECK(tw_.add(e));
    stats_.entries++;
    return {};
  }

  Result<> opaque_marker(const std::string& prefix, const struct stat& dir) {
    TarEntry m;
    m.path = prefix + std::string(kOpaqueMarker);
    m.type = EntryType::kFile;
    m.mode = dir.st_mode & 0777;
    m.uid = dir.st_uid;
    m.gid = dir.st_gid;
    m.mtime_sec = clamp(0);
    HOIST_CHECK(add(m));
    stats_.opaque_dirs++;
    return {};
  }

  // The xattrs an entry keeps (see tree_tar.h) into e.xattrs. Returns true for
  // an opaque directory of an overlay upper. Redirected directories and
  // metacopy files have their data in a lower layer under another name: not
  // expressible from the upper alone.
  Result<bool> read_xattrs(int dirfd, const std::string& name, std::string_view rel, TarEntry& e) {
    auto keys = HOIST_TRY(list_xattrs(dirfd, name, rel));
    bool opaque = false;
    for (auto& k : keys) {
      if (is_overlay_xattr(k)) {
        // Only the namespace of our own mounts (trusted.* as root, user.*
        // with userxattr in a user namespace: sys::overlay_xattr_prefix)
        // means anything; neither is ever written to a layer.
        if (!o_.overlay_upper || !k.starts_with(sys::overlay_xattr_prefix())) continue;
        if (k.ends_with(".redirect"))
          return fail(Errc::kUnsupported,
                      fmt::format("cannot write '{}': a redirected overlay directory (mount with redirect_dir=off)", rel));
        if (k.ends_with(".metacopy"))
          return fail(Errc::kUnsupported,
                      fmt::format("cannot write '{}': an overlay metacopy file (mount with metacopy=off)", rel));
        if (k.ends_with(".opaque") && e.type == EntryType::kDir) {
          auto v = HOIST_TRY(get_xattr(dirfd, name, k, rel));
          opaque = opaque || (v && *v == "y");  // "x": has xattr whiteouts below, not opaque
        }
        continue;
      }
      if (k != kCapability && !k.starts_with("user.")) continue;
      auto v = HOIST_TRY(get_xattr(dirfd, name, k, rel));
      if (!v) continue;  // removed in between
      if (k == kCapability) normalize_capability(*v);
      e.xattrs.emplace_back(std::move(k), std::move(*v));
    }
    return opaque;
  }

  Result<std::optional<Frame>> visit(int dirfd, const std::string& prefix, const std::string& name) {
    std::string rel = prefix + name;
    if (o_.skip && o_.skip(rel)) {
      stats_.skipped++;
      return std::optional<Frame>();
    }
    struct stat st;
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      return fail(errno_error(errno, "cannot stat", rel));
    TarEntry e;
    e.path = rel;
    e.mode = st.st_mode & 07777;
    e.uid = st.st_uid;
    e.gid = st.st_gid;
    e.mtime_sec = clamp(st.st_mtim.tv_sec);  // tv_nsec >= 0: truncation, as moby and containerd
    switch (st.st_mode & S_IFMT) {
      case S_IFSOCK:
        stats_.skipped++;  // docker and containerd skip sockets too
        return std::optional<Frame>();
      case S_IFDIR: return dir(dirfd, name, rel, st, std::move(e));
      case S_IFCHR:
        if (o_.overlay_upper && st.st_rdev == makedev(0, 0)) {
          // moby overlayWhiteoutConverter.ConvertWrite: renamed, made a regular
          // file of mode 0600; owner and mtime stay the device's.
          e.path = prefix + std::string(kWhiteoutPrefix) + name;
          e.type = EntryType::kFile;
          e.mode = 0600;
          HOIST_CHECK(add(e));
          stats_.whiteouts++;
          return std::optional<Frame>();
        }
        e.type = EntryType::kChar;
        break;
      case S_IFBLK: e.type = EntryType::kBlock; break;
      case S_IFIFO: e.type = EntryType::kFifo; break;
      case S_IFLNK: e.type = EntryType::kSymlink; break;
      case S_IFREG: e.type = EntryType::kFile; break;
      default: return fail(Errc::kUnsupported, fmt::format("cannot write '{}': unknown file type", rel));
    }
    if (e.type == EntryType::kChar || e.type == EntryType::kBlock) {
      e.dev_major = major(st.st_rdev);
      e.dev_minor = minor(st.st_rdev);
    }
    HOIST_CHECK(read_xattrs(dirfd, name, rel, e));  // never opaque: not a directory

    InodeKey key{st.st_dev, st.st_ino};
    if (st.st_nlink > 1) {
      auto it = links_.find(key);
      if (it != links_.end()) {
        e.type = EntryType::kHardlink;
        e.linkname = it->second;
        e.size = 0;
        HOIST_CHECK(add(e));
        stats_.hardlinks++;
        return std::optional<Frame>();
      }
    }
    if (e.type == EntryType::kSymlink) {
      HOIST_CHECK(read_link(dirfd, name, rel, size_t(st.st_size), e.linkname));
      HOIST_CHECK(add(e));
      stats_.symlinks++;
    } else if (e.type == EntryType::kFile) {
      HOIST_CHECK(file(dirfd, name, rel, st, e));
    } else {
      HOIST_CHECK(add(e));
      stats_.specials++;
    }
    if (st.st_nlink > 1) links_.emplace(key, std::move(rel));
    return std::optional<Frame>();
  }

  Result<> read_link(int dirfd, const std::string& name, std::string_view rel, size_t hint, std::string& out) {
    size_t cap = std::max<size_t>(hint + 1, 256);
    for (;;) {
      out.assign(cap, '\0');
      ssize_t n = ::readlinkat(dirfd, name.c_str(), out.data(), out.size());
      if (n < 0) return fail(errno_error(errno, "cannot read link", rel));
      if (size_t(n) < out.size()) {
        out.resize(size_t(n));
        return {};
      }
      cap *= 2;  // the link changed: try again
    }
  }

  Result<> file(int dirfd, const std::string& name, std::string_view rel, const struct stat& st, TarEntry& e) {
    // O_NONBLOCK: should the name have become a fifo since fstatat, opening it
    // must not wait for a writer; the fstat below then refuses it.
    int raw = ::openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (raw < 0) return fail(errno_error(errno, "cannot open", rel));
    sys::Fd fd(raw);
    struct stat now;
    if (::fstat(fd.get(), &now) != 0) return fail(errno_error(errno, "cannot stat", rel));
    if (!S_ISREG(now.st_mode) || now.st_ino != st.st_ino || now.st_dev != st.st_dev)
      return fail(Errc::kIo, fmt::format("'{}' changed while it was read", rel));
    e.size = uint64_t(now.st_size);
    (void)::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
    io::FdReader raw_in(fd.get());
    ProgressReader in(raw_in, stats_.data_bytes, o_.on_progress);
    auto r = tw_.add_file(e, in);
    if (!r && in.eof)  // shorter than its size: truncated while being read
      return fail(Errc::kIo, fmt::format("'{}' changed while it was read: {}", rel, r.error().message()));
    if (!r) return fail(std::move(r).error());
    stats_.entries++;
    stats_.files++;
    return {};
  }

  Result<std::optional<Frame>> dir(int dirfd, const std::string& name, const std::string& rel, const struct stat& st,
                                   TarEntry e) {
    int raw = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (raw < 0) return fail(errno_error(errno, "cannot open directory", rel));
    Frame f;
    f.owned = sys::Fd(raw);
    f.fd = raw;
    f.prefix = rel + "/";
    struct stat now;
    if (::fstat(f.fd, &now) != 0) return fail(errno_error(errno, "cannot stat", rel));
    if (now.st_ino != st.st_ino || now.st_dev != st.st_dev)
      return fail(Errc::kIo, fmt::format("'{}' changed while it was read", rel));
    e.type = EntryType::kDir;
    bool opaque = HOIST_TRY(read_xattrs(dirfd, name, rel, e));
    HOIST_CHECK(add(e));
    stats_.dirs++;
    if (opaque) HOIST_CHECK(opaque_marker(f.prefix, st));
    HOIST_CHECK(list(f, rel));
    return std::optional<Frame>(std::move(f));
  }

  const TreeTarOptions& o_;
  TarWriter tw_;
  TreeTarStats stats_;
  std::unordered_map<InodeKey, std::string, InodeHash> links_;
};

}  // namespace

Result<TreeTarStats> write_tree_tar(const sys::Fd& dir, io::Writer& out, const TreeTarOptions& o) {
  TreeWriter w(out, o);
  return w.run(dir);
}

}  // namespace hoist::archive
