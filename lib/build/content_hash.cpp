#include "build/content_hash.h"

#include <fcntl.h>
#include <unistd.h>

#include <memory>
#include <optional>

#include <fmt/core.h>

#include "archive/worker_pool.h"
#include "sys/file_io.h"
#include "sys/openat2.h"

namespace hoist::build {

namespace {

constexpr size_t kBuffer = size_t{1} << 20;

char type_char(mode_t m) {
  if (S_ISREG(m)) return 'f';
  if (S_ISDIR(m)) return 'd';
  if (S_ISLNK(m)) return 'l';
  if (S_ISCHR(m)) return 'c';
  if (S_ISBLK(m)) return 'b';
  if (S_ISFIFO(m)) return 'p';
  return 's';
}

Result<digest::Digest> hash_file(const SourceTree& tree, const std::string& rel, std::byte* buf) {
  auto fd = HOIST_TRY(sys::open_in_root(tree.root(), rel, O_RDONLY));
  digest::Hasher h(digest::Algorithm::kSha256);
  for (;;) {
    size_t n = HOIST_TRY(sys::read_some(fd.get(), std::span(buf, kBuffer)));
    if (n == 0) break;
    h.update(std::span<const std::byte>(buf, n));
  }
  return h.finish();
}

}  // namespace

Result<digest::Digest> ContentHasher::digest(const SourceTree& tree, const std::vector<std::string>& sources,
                                             const dockerfile::IgnoreMatcher& excludes) {
  struct Rec {
    std::string line;  // everything but the content digest
    std::string rel;
    FileId id;
    std::optional<digest::Digest> content;
    std::optional<Error> error;
    bool is_file = false;
  };
  std::vector<Rec> recs;
  for (const auto& src : sources) {
    Rec head;
    head.line = "source " + src;
    recs.push_back(std::move(head));
    HOIST_CHECK(tree.walk(src, excludes, [&](const SourceTree::Entry& e) -> Result<> {
      Rec r;
      std::string link;
      if (S_ISLNK(e.st.st_mode)) {
        char buf[4096];
        ssize_t n = ::readlinkat(e.dirfd, e.name.c_str(), buf, sizeof buf);
        if (n < 0) return fail(Error::from_errno(errno, "cannot read link '" + e.rel + "'"));
        link.assign(buf, size_t(n));
      }
      bool file = S_ISREG(e.st.st_mode);
      r.line = fmt::format("{}\x1f{}\x1f{:o}\x1f{}\x1f{}", e.path, type_char(e.st.st_mode), e.st.st_mode & 07777,
                           file ? uint64_t(e.st.st_size) : 0, link);
      if (file) {
        r.is_file = true;
        r.rel = e.rel;
        r.id = {e.st.st_dev, e.st.st_ino, e.st.st_size, int64_t(e.st.st_mtim.tv_sec) * 1000000000 + e.st.st_mtim.tv_nsec,
                int64_t(e.st.st_ctim.tv_sec) * 1000000000 + e.st.st_ctim.tv_nsec};
        std::lock_guard lock(mu_);
        if (auto it = memo_.find(r.id); it != memo_.end()) r.content = it->second;
      }
      recs.push_back(std::move(r));
      return {};
    }));
  }
  {
    archive::WorkerPool pool(jobs_, size_t{256} << 20, 4096);
    std::vector<std::unique_ptr<std::byte[]>> bufs(jobs_);
    for (auto& b : bufs) b.reset(new std::byte[kBuffer]);
    unsigned next = 0;
    for (auto& r : recs) {
      if (!r.is_file || r.content) continue;
      unsigned shard = next++ % jobs_;
      std::byte* buf = bufs[shard].get();
      pool.submit(shard, size_t(std::get<2>(r.id)), [&tree, &r, buf] {
        auto d = hash_file(tree, r.rel, buf);
        if (d) r.content = std::move(*d);
        else r.error = std::move(d).error();
      });
    }
    pool.wait();
  }
  digest::Hasher all(digest::Algorithm::kSha256);
  for (auto& r : recs) {
    if (r.error) return fail(std::move(*r.error));
    all.update(r.line);
    if (r.is_file) {
      all.update("\x1f" + r.content->str());
      std::lock_guard lock(mu_);
      if (memo_.emplace(r.id, *r.content).second) {
        files_hashed_++;
        bytes_hashed_ += uint64_t(std::get<2>(r.id));
      }
    }
    all.update("\n");
  }
  return all.finish();
}

}  // namespace hoist::build
