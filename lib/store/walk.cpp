#include "store/walk.h"

#include <unordered_set>

#include <fmt/core.h>

#include "image/config.h"
#include "image/manifest.h"
#include "image/media_types.h"

namespace hoist::store {
namespace {

constexpr int kMaxDepth = 8;

struct Walker {
  const BlobDir& blobs;
  ImageGraph& g;
  std::unordered_set<digest::Digest> seen;  // added to blobs or missing

  void add_blob(const image::Descriptor& d) {
    if (seen.insert(d.digest).second) {
      if (blobs.has_blob(d.digest))
        g.record.blobs.push_back(d);
      else
        g.missing.push_back(d);
    }
  }

  Result<> visit(const image::Descriptor& d, int depth) {
    if (depth > kMaxDepth)
      return fail(Errc::kInvalidArgument, fmt::format("image index nesting deeper than {} levels at '{}'", kMaxDepth,
                                                      d.digest.str()));
    if (seen.contains(d.digest)) return {};
    if (!blobs.has_blob(d.digest)) {
      seen.insert(d.digest);
      g.missing.push_back(d);
      return {};
    }
    std::string bytes = HOIST_TRY(blobs.read_small_blob(d.digest));
    auto any = image::parse_any(bytes, d.media_type);
    if (!any) return fail(std::move(any).error().context(fmt::format("manifest '{}'", d.digest.str())));
    if (auto* idx = std::get_if<image::Index>(&*any)) {
      for (const auto& m : idx->manifests) {
        g.record.edges.push_back(Edge{d.digest, m.digest});
        HOIST_CHECK(visit(m, depth + 1));
      }
    } else {
      const auto& man = std::get<image::Manifest>(*any);
      for (const auto& l : man.layers) {
        g.record.edges.push_back(Edge{d.digest, l.digest});
        add_blob(l);
      }
      g.record.edges.push_back(Edge{d.digest, man.config.digest});
      add_blob(man.config);
      if (image::media_type::is_config(man.config.media_type) && blobs.has_blob(man.config.digest)) {
        auto cfg_bytes = blobs.read_small_blob(man.config.digest);
        if (!cfg_bytes) return fail(std::move(cfg_bytes).error());
        auto cfg = image::parse_config(*cfg_bytes);
        if (cfg && cfg->rootfs.diff_ids.size() == man.layers.size()) {
          for (size_t i = 0; i < man.layers.size(); ++i)
            g.record.diff_ids.push_back(DiffIdPair{cfg->rootfs.diff_ids[i], man.layers[i].digest});
        }
      }
    }
    seen.insert(d.digest);
    g.record.blobs.push_back(d);
    return {};
  }
};

}  // namespace

Result<ImageGraph> walk_image(const BlobDir& blobs, std::string name, const image::Descriptor& root) {
  if (!blobs.has_blob(root.digest))
    return fail(Errc::kNotFound, fmt::format("manifest '{}' not found in '{}'", root.digest.str(), blobs.root()));
  ImageGraph g;
  g.record.name = std::move(name);
  g.record.root = root;
  Walker w{blobs, g, {}};
  HOIST_CHECK(w.visit(root, 0));
  return g;
}

}  // namespace hoist::store
