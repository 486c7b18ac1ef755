#include "layout/reader.h"

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "layout/layout.h"
#include "sys/file_io.h"

namespace hoist::layout {

Result<std::vector<image::Descriptor>> parse_layout_index(std::string_view bytes, std::string_view where) {
  auto ij = nlohmann::json::parse(bytes, nullptr, false);
  if (!ij.is_object() || !ij.contains("manifests") || !(ij["manifests"].is_array() || ij["manifests"].is_null()))
    return fail(Errc::kInvalidArgument, fmt::format("invalid '{}': no manifests array", where));
  std::vector<image::Descriptor> manifests;
  if (ij["manifests"].is_array()) {
    for (const auto& m : ij["manifests"]) {
      auto desc = image::descriptor_from_json(m);
      if (!desc) return fail(std::move(desc).error().context(fmt::format("invalid '{}'", where)));
      manifests.push_back(std::move(*desc));
    }
  }
  return manifests;
}

Result<> check_oci_layout(std::string_view bytes, std::string_view where) {
  auto lj = nlohmann::json::parse(bytes, nullptr, false);
  if (!lj.is_object() || !lj.contains("imageLayoutVersion") || !lj["imageLayoutVersion"].is_string())
    return fail(Errc::kInvalidArgument, fmt::format("invalid '{}'", where));
  if (lj["imageLayoutVersion"].get<std::string>() != kLayoutVersion)
    return fail(Errc::kUnsupported, fmt::format("'{}' has imageLayoutVersion '{}'; hoist reads '{}'", where,
                                                lj["imageLayoutVersion"].get<std::string>(), kLayoutVersion));
  return {};
}

LayoutReader::LayoutReader(std::string dir, std::vector<image::Descriptor> manifests)
    : dir_(dir), blobs_(dir, dir, std::string(kIngestPrefix)), manifests_(std::move(manifests)) {}

Result<std::unique_ptr<LayoutReader>> LayoutReader::open(const std::string& dir) {
  std::string d = dir;
  while (d.size() > 1 && d.back() == '/') d.pop_back();
  auto layout_bytes = sys::read_file(fmt::format("{}/{}", d, kOciLayoutFile), 4096);
  if (!layout_bytes) {
    if (layout_bytes.error().code() == Errc::kNotFound)
      return fail(Errc::kNotFound, fmt::format("'{}' is not an OCI image layout: no {}", d, kOciLayoutFile));
    return fail(std::move(layout_bytes).error());
  }
  HOIST_CHECK(check_oci_layout(*layout_bytes, fmt::format("{}/{}", d, kOciLayoutFile)));
  auto index_bytes = sys::read_file(fmt::format("{}/{}", d, kIndexFile), kMaxIndexJson);
  if (!index_bytes) {
    if (index_bytes.error().code() == Errc::kNotFound)
      return fail(Errc::kNotFound, fmt::format("'{}' is not an OCI image layout: no {}", d, kIndexFile));
    return fail(std::move(index_bytes).error());
  }
  auto manifests = HOIST_TRY(parse_layout_index(*index_bytes, fmt::format("{}/{}", d, kIndexFile)));
  return std::unique_ptr<LayoutReader>(new LayoutReader(d, std::move(manifests)));
}

std::vector<std::string> LayoutReader::names() const {
  std::vector<std::string> out;
  for (const auto& m : manifests_) {
    auto it = m.annotations.find(std::string(kRefNameAnnotation));
    if (it != m.annotations.end()) out.push_back(it->second);
  }
  return out;
}

Result<image::Descriptor> LayoutReader::resolve(std::string_view name) const {
  if (name.empty()) {
    if (manifests_.size() == 1) return manifests_[0];
    if (manifests_.empty()) return fail(Errc::kNotFound, fmt::format("layout '{}' holds no image", dir_));
    return fail(Errc::kInvalidArgument,
                fmt::format("layout '{}' holds {} images; name one as oci:{}:NAME", dir_, manifests_.size(), dir_));
  }
  for (const auto& m : manifests_) {
    auto it = m.annotations.find(std::string(kRefNameAnnotation));
    if (it != m.annotations.end() && it->second == name) return m;
  }
  return fail(Errc::kNotFound, fmt::format("no image named '{}' in layout '{}'", name, dir_));
}

Result<std::string> LayoutReader::read_manifest(const image::Descriptor& d) const {
  auto bytes = HOIST_TRY(blobs_.read_small_blob(d.digest));
  if (bytes.size() != d.size)
    return fail(Errc::kDigestMismatch, fmt::format("manifest '{}' in layout '{}' has {} bytes; its descriptor says {}",
                                                   d.digest.str(), dir_, bytes.size(), d.size));
  return bytes;
}

}  // namespace hoist::layout
