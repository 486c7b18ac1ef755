#include "image_source.h"

#include "image/media_types.h"
#include "ref/reference.h"
#include "store/store.h"
#include "sys/file.h"

namespace hoist::unpack {

namespace {

constexpr std::string_view kRefName = "org.opencontainers.image.ref.name";

Result<image::Descriptor> resolve_in_layout(const std::string& dir, const std::string& tag) {
  std::string bytes = HOIST_TRY(sys::read_file(dir + "/index.json", size_t{16} << 20));
  auto idx = HOIST_TRY_CTX(image::parse_index(bytes), "cannot read '" + dir + "/index.json'");
  const image::Descriptor* found = nullptr;
  for (const auto& d : idx.manifests) {
    auto it = d.annotations.find(std::string(kRefName));
    if (tag.empty() ? idx.manifests.size() == 1 : (it != d.annotations.end() && it->second == tag)) {
      found = &d;
      break;
    }
  }
  if (!found) {
    if (tag.empty())
      return fail(Errc::kNotFound, "layout '" + dir + "' holds " + std::to_string(idx.manifests.size()) +
                                       " images: name one with oci:" + dir + ":TAG");
    return fail(Errc::kNotFound, "no image tagged '" + tag + "' in layout '" + dir + "'");
  }
  return *found;
}

Result<image::Descriptor> resolve_in_store(store::Store& st, const std::string& text) {
  if (text.starts_with("sha256:")) {
    auto d = HOIST_TRY(digest::parse(text));
    if (!st.has_blob(d)) return fail(Errc::kNotFound, "image '" + text + "' is not in the store");
    return image::Descriptor{.media_type = "", .digest = d};
  }
  // The name as recorded first (a pull records exactly what it prints), then normalised.
  if (auto r = HOIST_TRY(st.resolve(text))) return *r;
  auto ref = HOIST_TRY(ref::parse_reference(text));
  if (ref.digest()) {
    if (!st.has_blob(*ref.digest())) return fail(Errc::kNotFound, "image '" + text + "' is not in the store");
    return image::Descriptor{.media_type = "", .digest = *ref.digest()};
  }
  if (auto r = HOIST_TRY(st.resolve(ref.str()))) return *r;
  return fail(Errc::kNotFound, "image '" + text + "' is not in the store '" + st.dir() + "' (pull it first)");
}

}  // namespace

Result<ImageSource> open_image(const std::string& text, const std::string& store_dir,
                               const std::optional<ref::Platform>& platform) {
  ImageSource src;
  image::Descriptor root;
  if (text.starts_with("oci:")) {
    std::string rest = text.substr(4), tag;
    if (auto c = rest.find(':'); c != std::string::npos) {
      tag = rest.substr(c + 1);
      rest = rest.substr(0, c);
    }
    src.blobs = std::make_unique<store::BlobDir>(rest, rest, ".hoist-ingest-");
    root = HOIST_TRY(resolve_in_layout(rest, tag));
  } else {
    std::string dir = store_dir.empty() ? store::default_store_dir() : store_dir;
    auto st = HOIST_TRY(store::Store::open(dir));
    root = HOIST_TRY(resolve_in_store(*st, text));
    src.blobs = std::make_unique<store::BlobDir>(dir, dir + "/ingest");
  }
  src.name = text;

  std::string bytes = HOIST_TRY(src.blobs->read_small_blob(root.digest));
  auto any = HOIST_TRY_CTX(image::parse_any(bytes, root.media_type), "image '" + text + "'");
  if (auto* idx = std::get_if<image::Index>(&any)) {
    ref::Platform want = platform ? *platform : ref::host_platform();
    const image::Descriptor* pick = nullptr;
    for (const auto& d : idx->manifests)
      if (d.platform && ref::matches(want, *d.platform) && image::media_type::is_manifest(d.media_type)) {
        pick = &d;
        break;
      }
    if (!pick) return fail(Errc::kNotFound, "image '" + text + "' has no manifest for " + want.str());
    root = *pick;
    bytes = HOIST_TRY(src.blobs->read_small_blob(root.digest));
    src.manifest = HOIST_TRY_CTX(image::parse_manifest(bytes, root.media_type), "image '" + text + "'");
  } else {
    src.manifest = std::get<image::Manifest>(std::move(any));
  }
  src.manifest_desc = root;
  std::string cfg = HOIST_TRY(src.blobs->read_small_blob(src.manifest.config.digest));
  src.config = HOIST_TRY_CTX(image::parse_config(cfg), "image '" + text + "'");
  if (src.config.rootfs.diff_ids.size() != src.manifest.layers.size())
    return fail(Errc::kInvalidArgument, "image '" + text + "': the manifest lists " +
                                            std::to_string(src.manifest.layers.size()) + " layers but the config " +
                                            std::to_string(src.config.rootfs.diff_ids.size()) + " diff_ids");
  return src;
}

}  // namespace hoist::unpack
