// hoist-store's listing, tagging, removal and disk usage (store/admin.h).

#include "store/admin.h"

#include <fnmatch.h>
#include <sys/stat.h>

#include <filesystem>
#include <set>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "ref/reference.h"

namespace hoist::store {

namespace {

// The digests of `root` and everything under it (graph edges), each once.
Result<std::set<digest::Digest>> closure(Store& store, const digest::Digest& root) {
  std::set<digest::Digest> seen{root};
  std::vector<digest::Digest> todo{root};
  while (!todo.empty()) {
    auto d = todo.back();
    todo.pop_back();
    for (auto& c : HOIST_TRY(store.children(d)))
      if (seen.insert(c).second) todo.push_back(c);
  }
  return seen;
}

// A manifest's config "created" ("" for an index or what cannot be read).
std::string created_of(Store& store, const image::Descriptor& root) {
  auto m = store.read_small_blob(root.digest);
  if (!m) return "";
  auto mj = nlohmann::json::parse(*m, nullptr, false);
  if (!mj.is_object() || !mj.contains("config") || !mj["config"].is_object()) return "";
  auto cd = digest::parse(mj["config"].value("digest", ""));
  if (!cd) return "";
  auto c = store.read_small_blob(*cd);
  if (!c) return "";
  auto cj = nlohmann::json::parse(*c, nullptr, false);
  return cj.is_object() && cj.contains("created") && cj["created"].is_string() ? cj["created"].get<std::string>() : "";
}

// The bytes of the regular files under `dir`, each inode once (snapshots
// share a layer's files through hardlinks).
uint64_t tree_bytes(const std::string& dir) {
  namespace fs = std::filesystem;
  uint64_t total = 0;
  std::set<std::pair<dev_t, ino_t>> seen;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    struct stat st;
    if (::lstat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (st.st_nlink > 1 && !seen.insert({st.st_dev, st.st_ino}).second) continue;
    total += uint64_t(st.st_size);
  }
  return total;
}

// The name a user's text stands for: the normalised reference.
Result<std::string> ref_name(std::string_view text) {
  auto r = HOIST_TRY_CTX(ref::parse_reference(text), "invalid name '" + std::string(text) + "'");
  return r.str();
}

}  // namespace

Result<std::vector<ImageEntry>> list_images(Store& store, std::string_view pattern) {
  std::vector<ImageEntry> out;
  std::string pat(pattern);
  for (auto& r : HOIST_TRY(store.list_refs())) {
    if (!pat.empty()) {
      std::string shortname = r.name.substr(r.name.find('/') == std::string::npos ? 0 : r.name.find('/') + 1);
      if (::fnmatch(pat.c_str(), r.name.c_str(), 0) != 0 && ::fnmatch(pat.c_str(), shortname.c_str(), 0) != 0)
        continue;
    }
    ImageEntry e;
    e.name = r.name;
    e.root = r.target;
    for (const auto& d : HOIST_TRY(closure(store, r.target.digest))) {
      if (auto rec = HOIST_TRY(store.blob_record(d)); rec && store.has_blob(d)) e.size += rec->size;
      else if (auto sz = store.blob_size(d)) e.size += *sz;
    }
    if (auto rec = HOIST_TRY(store.blob_record(r.target.digest))) e.last_used = rec->last_used;
    e.created = created_of(store, r.target);
    out.push_back(std::move(e));
  }
  return out;
}

Result<image::Descriptor> tag_image(Store& store, std::string_view source, const std::vector<std::string>& names) {
  std::optional<image::Descriptor> root;
  if (auto d = digest::parse(source.substr(source.find('@') == std::string_view::npos ? 0 : source.find('@') + 1));
      d && (source.starts_with("sha256:") || source.find('@') != std::string_view::npos)) {
    if (!store.has_blob(*d)) return fail(Errc::kNotFound, "'" + std::string(source) + "' is not in the store");
    auto rec = HOIST_TRY(store.blob_record(*d));
    image::Descriptor desc;
    desc.digest = *d;
    desc.size = rec ? rec->size : HOIST_TRY(store.blob_size(*d));
    desc.media_type = rec ? rec->media_type : "";
    root = desc;
  } else {
    root = HOIST_TRY(store.resolve(HOIST_TRY(ref_name(source))));
    if (!root) return fail(Errc::kNotFound, "no image '" + std::string(source) + "' in the store");
  }
  for (const auto& n : names) (void)HOIST_TRY(store.add_image(HOIST_TRY(ref_name(n)), *root));
  return *root;
}

Result<> remove_images(Store& store, const std::vector<std::string>& names) {
  std::optional<Error> first;
  for (const auto& n : names) {
    auto name = ref_name(n);
    auto r = name ? store.remove_ref(*name) : Result<>(fail(std::move(name).error()));
    if (!r && !first) first = std::move(r).error();
  }
  if (first) return fail(std::move(*first));
  return {};
}

Result<DiskUsage> disk_usage(Store& store) {
  DiskUsage u;
  std::set<digest::Digest> live;
  for (auto& r : HOIST_TRY(store.list_refs())) {
    ++u.images;
    for (auto& d : HOIST_TRY(closure(store, r.target.digest))) live.insert(d);
  }
  for (auto& [key, text] : HOIST_TRY(store.index().list_cache())) {
    ++u.cache_records;
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_object() && j.contains("layer") && j["layer"].is_object())
      if (auto d = digest::parse(j["layer"].value("digest", ""))) live.insert(*d);
  }
  namespace fs = std::filesystem;
  std::error_code ec;
  for (auto it = fs::directory_iterator(store.dir() + "/blobs/sha256", ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    struct stat st;
    if (::lstat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    ++u.blobs;
    u.blob_bytes += uint64_t(st.st_size);
    auto d = digest::parse("sha256:" + it->path().filename().string());
    if (d && !live.contains(*d)) {
      ++u.unreferenced;
      u.unreferenced_bytes += uint64_t(st.st_size);
    }
  }
  u.snapshot_bytes = tree_bytes(store.dir() + "/snapshots");
  u.ingest_bytes = tree_bytes(store.dir() + "/ingest");
  u.cache_mount_bytes = tree_bytes(store.dir() + "/cache-mounts");
  return u;
}

}  // namespace hoist::store
