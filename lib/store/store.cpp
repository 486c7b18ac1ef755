#include "store/store.h"

#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include <fmt/core.h>

#include "sys/file_io.h"

namespace hoist::store {

std::string default_store_dir() {
  if (const char* s = std::getenv("HOIST_STORE"); s && *s) return s;
  if (::geteuid() == 0) return "/var/lib/hoist";
  if (const char* x = std::getenv("XDG_DATA_HOME"); x && *x == '/') return std::string(x) + "/hoist";
  std::string home;
  if (const char* h = std::getenv("HOME"); h && *h) {
    home = h;
  } else if (const passwd* pw = ::getpwuid(::geteuid()); pw && pw->pw_dir) {
    home = pw->pw_dir;
  } else {
    home = "/tmp";
  }
  return home + "/.local/share/hoist";
}

Store::Store(std::string dir, StoreOptions options)
    : dir_(std::move(dir)), blobs_(dir_, dir_ + "/ingest"), index_(dir_, options.lock_timeout) {}

Result<std::unique_ptr<Store>> Store::open(const std::string& dir, StoreOptions options) {
  if (dir.empty()) return fail(Errc::kInvalidArgument, "store directory is empty");
  std::string d = dir;
  while (d.size() > 1 && d.back() == '/') d.pop_back();
  for (const char* sub : {"/blobs/sha256", "/ingest", "/snapshots", "/db"})
    HOIST_CHECK_CTX(sys::mkdir_all(d + sub), fmt::format("cannot create store '{}'", d));
  if (!sys::exists(d + "/oci-layout"))
    HOIST_CHECK_CTX(sys::write_file_atomic(d + "/oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}"),
                    fmt::format("cannot create store '{}'", d));
  std::unique_ptr<Store> s(new Store(d, options));
  HOIST_CHECK(s->index_.init(options.create_in_background));
  return s;
}

Result<> Store::record_image(const ImageRecord& rec) {
  if (!blobs_.has_blob(rec.root.digest))
    return fail(Errc::kNotFound, fmt::format("cannot record '{}': blob '{}' is not in store '{}'", rec.name,
                                             rec.root.digest.str(), dir_));
  for (const auto& b : rec.blobs) {
    if (!blobs_.has_blob(b.digest))
      return fail(Errc::kNotFound, fmt::format("cannot record '{}': blob '{}' is not in store '{}'", rec.name,
                                               b.digest.str(), dir_));
  }
  // The commit point of an image is its index entry: every rename it names must
  // be durable first. One fsync here covers all the blobs committed since.
  HOIST_CHECK(blobs_.sync());
  return index_.record_image(rec);
}

Result<ImageGraph> Store::add_image(std::string name, const image::Descriptor& root) {
  auto g = HOIST_TRY(walk_image(blobs_, std::move(name), root));
  HOIST_CHECK(record_image(g.record));
  return g;
}

Result<FsckReport> Store::fsck() {
  FsckReport report;
  auto listing = HOIST_TRY(blobs_.list());
  for (const auto& d : listing.blobs) {
    auto v = blobs_.verify_blob(d);
    report.blobs_checked++;
    if (auto sz = blobs_.blob_size(d)) report.bytes_checked += *sz;
    if (!v) {
      auto kind = v.error().code() == Errc::kDigestMismatch ? FsckProblem::Kind::kCorruptBlob
                                                             : FsckProblem::Kind::kUnreadableBlob;
      report.problems.push_back(FsckProblem{kind, d.str(), v.error().message()});
    }
  }
  for (const auto& p : listing.strays)
    report.problems.push_back(FsckProblem{FsckProblem::Kind::kStrayFile, p, fmt::format("'{}' is not a blob", p)});
  auto records = HOIST_TRY(index_.list_blob_records());
  for (const auto& [d, rec] : records) {
    if (!blobs_.has_blob(d))
      report.problems.push_back(FsckProblem{FsckProblem::Kind::kMissingBlob, d.str(),
                                            fmt::format("index names blob '{}' but its file is missing", d.str())});
  }
  auto refs = HOIST_TRY(index_.list_refs());
  for (const auto& r : refs) {
    if (!blobs_.has_blob(r.target.digest))
      report.problems.push_back(FsckProblem{
          FsckProblem::Kind::kMissingBlob, r.target.digest.str(),
          fmt::format("ref '{}' names blob '{}' but its file is missing", r.name, r.target.digest.str())});
  }
  // A .partial is a resumable download, not a problem; a .tmp belongs to a live
  // writer or a crashed one. Only report those whose writer pid is gone.
  auto ingest = HOIST_TRY(blobs_.list_ingest());
  for (const auto& n : ingest) {
    if (!n.ends_with(".tmp")) continue;
    auto dot = n.rfind('.', n.size() - 5);
    auto dash = n.find('-', dot == std::string::npos ? 0 : dot);
    bool alive = false;
    if (dot != std::string::npos && dash != std::string::npos) {
      int pid = std::atoi(n.substr(dot + 1, dash - dot - 1).c_str());
      alive = pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM);
    }
    if (!alive)
      report.problems.push_back(FsckProblem{FsckProblem::Kind::kLeftoverTemp, "ingest/" + n,
                                            fmt::format("'ingest/{}' is a leftover temp file", n)});
  }
  return report;
}

}  // namespace hoist::store
