#include "layout/archive.h"

#include <map>
#include <unordered_set>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "image/manifest.h"
#include "image/media_types.h"
#include "io/copy.h"
#include "io/memory.h"
#include "layout/layout.h"
#include "layout/tar.h"
#include "ref/reference.h"
#include "store/walk.h"
#include "sys/file_io.h"
#include "util/log.h"

namespace hoist::layout {
namespace {

using ojson = nlohmann::ordered_json;

std::string blob_name(const digest::Digest& d) { return fmt::format("blobs/{}/{}", d.algorithm_name(), d.hex()); }

ojson index_json(const std::vector<image::Descriptor>& roots) {
  ojson j;
  j["schemaVersion"] = 2;
  j["mediaType"] = image::media_type::kOciIndex;
  j["manifests"] = ojson::array();
  for (const auto& r : roots) j["manifests"].push_back(image::to_json(r));
  return j;
}

// Writes the directories and every blob of `descs` (each once, in order).
class BlobStreamer {
 public:
  BlobStreamer(const store::BlobDir& blobs, tar::TarWriter& tw) : blobs_(blobs), tw_(tw) {}

  Result<> dirs(const std::vector<image::Descriptor>& descs) {
    HOIST_CHECK(tw_.add_directory("blobs"));
    std::unordered_set<std::string> algs;
    for (const auto& d : descs)
      if (algs.insert(std::string(d.digest.algorithm_name())).second)
        HOIST_CHECK(tw_.add_directory(fmt::format("blobs/{}", d.digest.algorithm_name())));
    return {};
  }

  Result<> blob(const image::Descriptor& d) {
    if (!written_.insert(d.digest).second) return {};
    auto r = blobs_.open_blob(d.digest);
    if (!r) return fail(std::move(r).error());
    // The size in the tar header comes from the file; the descriptor must agree,
    // or the archive would promise bytes that are not the blob.
    if ((*r)->size() != d.size)
      return fail(Errc::kDigestMismatch, fmt::format("blob '{}' in '{}' has {} bytes; its descriptor says {}",
                                                     d.digest.str(), blobs_.root(), (*r)->size(), d.size));
    return tw_.add_file_from(blob_name(d.digest), **r, d.size);
  }

 private:
  const store::BlobDir& blobs_;
  tar::TarWriter& tw_;
  std::unordered_set<digest::Digest> written_;
};

}  // namespace

Result<> write_oci_archive(const store::BlobDir& blobs, std::span<const ArchiveImage> images, io::Writer& out) {
  if (images.empty()) return fail(Errc::kInvalidArgument, "an oci-archive needs at least one image");
  std::vector<image::Descriptor> roots, all;
  for (const auto& img : images) {
    auto g = HOIST_TRY(store::walk_image(blobs, img.name, img.root));
    for (const auto& m : g.missing) {
      if (!image::media_type::is_manifest(m.media_type) && !image::media_type::is_index(m.media_type))
        return fail(Errc::kNotFound, fmt::format("cannot archive '{}': blob '{}' is not in '{}'",
                                                 img.name.empty() ? img.root.digest.str() : img.name, m.digest.str(),
                                                 blobs.root()));
    }
    image::Descriptor r = img.root;
    if (!img.name.empty()) r.annotations[std::string(kRefNameAnnotation)] = img.name;
    roots.push_back(std::move(r));
    all.insert(all.end(), g.record.blobs.begin(), g.record.blobs.end());
  }
  tar::TarWriter tw(out);
  // Small metadata first: a streaming reader learns the roots before the blobs.
  HOIST_CHECK(tw.add_file(kOciLayoutFile, kOciLayoutContent));
  HOIST_CHECK(tw.add_file(kIndexFile, index_json(roots).dump() + "\n"));
  BlobStreamer bs(blobs, tw);
  HOIST_CHECK(bs.dirs(all));
  for (const auto& d : all) HOIST_CHECK(bs.blob(d));
  return tw.finish();
}

namespace {

// Walks an oci-archive stream: blobs into `blobs` (verified while they stream),
// oci-layout checked, and index.json / oci-layout handed to `meta`.
template <typename Meta>
Result<ImportedArchive> walk_oci_archive(io::Reader& in, store::BlobDir& blobs, Meta&& meta) {
  ImportedArchive out;
  tar::TarReader tr(in);
  bool saw_layout = false, saw_index = false;
  for (;;) {
    auto entry = HOIST_TRY(tr.next());
    if (!entry) break;
    std::string_view name = entry->name;
    while (name.starts_with("./")) name.remove_prefix(2);
    if (entry->type != '0') continue;  // directories are made as needed; links never followed
    if (name == kOciLayoutFile || name == kIndexFile) {
      if (entry->size > kMaxIndexJson)
        return fail(Errc::kInvalidArgument, fmt::format("invalid oci-archive: '{}' is {} bytes", name, entry->size));
      io::StringWriter sw;
      HOIST_CHECK(io::copy(tr, sw));
      if (name == kOciLayoutFile) {
        auto c = check_oci_layout(sw.str(), "oci-layout");
        if (!c) return fail(Errc::kUnsupported, "oci-archive has an unsupported oci-layout");
        saw_layout = true;
      } else {
        saw_index = true;
        out.index_json = sw.str();
      }
      HOIST_CHECK(meta(name, sw.str()));
      continue;
    }
    if (!name.starts_with("blobs/")) {
      log::debug("oci-archive: skipping '{}'", name);
      continue;
    }
    std::string_view rest = name.substr(6);
    size_t slash = rest.find('/');
    auto d = slash == std::string_view::npos
                 ? Result<digest::Digest>(fail(Errc::kInvalidArgument, "no algorithm"))
                 : digest::parse(fmt::format("{}:{}", rest.substr(0, slash), rest.substr(slash + 1)));
    if (!d) {
      log::debug("oci-archive: skipping '{}'", name);
      continue;
    }
    auto w = blobs.ingest(*d, entry->size);
    if (!w) {
      if (w.error().code() == Errc::kAlreadyExists) continue;  // next() skips the data
      return fail(std::move(w).error());
    }
    if ((*w)->offset() != 0) HOIST_CHECK((*w)->restart());
    HOIST_CHECK_CTX(io::copy(tr, **w), fmt::format("cannot extract '{}'", name));
    auto c = (*w)->commit();
    if (!c && c.error().code() != Errc::kAlreadyExists)
      return fail(std::move(c).error().context(fmt::format("cannot extract '{}'", name)));
    ++out.blobs_written;
    out.bytes_written += entry->size;
  }
  if (!saw_index || !saw_layout)
    return fail(Errc::kInvalidArgument, fmt::format("not an oci-archive: no {}", saw_index ? kOciLayoutFile : kIndexFile));
  HOIST_CHECK(blobs.sync());
  return out;
}

}  // namespace

Result<std::unique_ptr<LayoutReader>> read_oci_archive(io::Reader& in, const std::string& dest) {
  HOIST_CHECK(sys::mkdir_all(dest));
  store::BlobDir blobs(dest, dest, std::string(kIngestPrefix));
  HOIST_CHECK(walk_oci_archive(in, blobs, [&](std::string_view name, const std::string& bytes) -> Result<> {
    return sys::write_file_atomic(fmt::format("{}/{}", dest, name), bytes);
  }));
  return LayoutReader::open(dest);
}

Result<ImportedArchive> import_oci_archive(io::Reader& in, store::BlobDir& blobs) {
  return walk_oci_archive(in, blobs, [](std::string_view, const std::string&) -> Result<> { return {}; });
}

Result<> write_docker_archive(const store::BlobDir& blobs, std::span<const ArchiveImage> images, io::Writer& out) {
  if (images.empty()) return fail(Errc::kInvalidArgument, "a docker-archive needs at least one image");
  struct Item {
    image::Descriptor root;
    image::Manifest manifest;
    std::vector<std::string> repo_tags;
  };
  std::vector<Item> items;
  std::map<std::string, std::map<std::string, std::string>> repositories;
  std::vector<image::Descriptor> oci_roots, all;
  for (const auto& img : images) {
    std::string label = img.name.empty() ? img.root.digest.str() : img.name;
    if (image::media_type::is_index(img.root.media_type))
      return fail(Errc::kInvalidArgument,
                  fmt::format("cannot write '{}' to a docker-archive: it is a multi-platform index; choose a platform",
                              label));
    std::string bytes = HOIST_TRY(blobs.read_small_blob(img.root.digest));
    auto m = image::parse_manifest(bytes, img.root.media_type);
    if (!m) return fail(std::move(m).error().context(fmt::format("cannot write '{}' to a docker-archive", label)));
    for (const auto& l : m->layers) all.push_back(l);
    all.push_back(m->config);
    all.push_back(img.root);
    for (const auto& d : all) {
      if (!blobs.has_blob(d.digest))
        return fail(Errc::kNotFound, fmt::format("cannot archive '{}': blob '{}' is not in '{}'", label,
                                                 d.digest.str(), blobs.root()));
    }

    image::Descriptor oci_root = img.root;
    std::string repo_tag;
    if (!img.name.empty()) {
      auto r = ref::parse_reference(img.name);
      if (!r) return fail(std::move(r).error().context("cannot write a docker-archive"));
      if (!r->tag().empty()) {
        auto tagged = HOIST_TRY(r->with_tag(r->tag()));  // drops a digest: RepoTags are name:tag
        repo_tag = tagged.familiar();
        std::string repo = repo_tag.substr(0, repo_tag.size() - r->tag().size() - 1);
        repositories[repo][r->tag()] = m->layers.empty() ? m->config.digest.hex() : m->layers.back().digest.hex();
        oci_root.annotations["io.containerd.image.name"] = tagged.str();
        oci_root.annotations[std::string(kRefNameAnnotation)] = r->tag();
      }
    }
    oci_roots.push_back(std::move(oci_root));
    auto same = std::find_if(items.begin(), items.end(), [&](const Item& i) { return i.root.digest == img.root.digest; });
    if (same == items.end()) {
      items.push_back(Item{img.root, std::move(*m), {}});
      same = items.end() - 1;
    }
    if (!repo_tag.empty()) same->repo_tags.push_back(std::move(repo_tag));
  }

  ojson manifest_json = ojson::array();
  for (const auto& it : items) {
    ojson e;
    e["Config"] = blob_name(it.manifest.config.digest);
    e["RepoTags"] = it.repo_tags;
    e["Layers"] = ojson::array();
    for (const auto& l : it.manifest.layers) e["Layers"].push_back(blob_name(l.digest));
    manifest_json.push_back(std::move(e));
  }
  ojson repos = ojson::object();
  for (const auto& [repo, tags] : repositories)
    for (const auto& [tag, id] : tags) repos[repo][tag] = id;

  tar::TarWriter tw(out);
  BlobStreamer bs(blobs, tw);
  HOIST_CHECK(bs.dirs(all));
  for (const auto& d : all) HOIST_CHECK(bs.blob(d));
  HOIST_CHECK(tw.add_file(kIndexFile, index_json(oci_roots).dump() + "\n"));
  HOIST_CHECK(tw.add_file("manifest.json", manifest_json.dump() + "\n"));
  HOIST_CHECK(tw.add_file(kOciLayoutFile, kOciLayoutContent));
  if (!repos.empty()) HOIST_CHECK(tw.add_file("repositories", repos.dump() + "\n"));
  return tw.finish();
}

}  // namespace hoist::layout
