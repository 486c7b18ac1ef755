#include "layout/writer.h"

#include <fcntl.h>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "image/media_types.h"
#include "layout/layout.h"
#include "sys/file_io.h"

namespace hoist::layout {
namespace {

using ojson = nlohmann::ordered_json;

ojson empty_index() {
  ojson j;
  j["schemaVersion"] = 2;
  j["mediaType"] = image::media_type::kOciIndex;
  j["manifests"] = ojson::array();
  return j;
}

std::string ref_name_of(const ojson& m) {
  if (!m.is_object() || !m.contains("annotations") || !m["annotations"].is_object()) return {};
  const auto& a = m["annotations"];
  auto it = a.find(std::string(kRefNameAnnotation));
  if (it == a.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

}  // namespace

LayoutWriter::LayoutWriter(std::string dir, std::chrono::milliseconds timeout)
    : dir_(dir), blobs_(dir, dir, std::string(kIngestPrefix)), timeout_(timeout) {}

Result<std::unique_ptr<LayoutWriter>> LayoutWriter::open(const std::string& dir, std::chrono::milliseconds lock_timeout) {
  if (dir.empty()) return fail(Errc::kInvalidArgument, "layout directory is empty");
  std::string d = dir;
  while (d.size() > 1 && d.back() == '/') d.pop_back();
  HOIST_CHECK_CTX(sys::mkdir_all(d + "/blobs/sha256"), fmt::format("cannot create layout '{}'", d));
  std::unique_ptr<LayoutWriter> w(new LayoutWriter(d, lock_timeout));
  std::string layout_path = fmt::format("{}/{}", d, kOciLayoutFile);
  auto existing = sys::read_file(layout_path, 4096);
  if (existing) {
    auto j = nlohmann::json::parse(*existing, nullptr, false);
    if (!j.is_object() || !j.contains("imageLayoutVersion") || !j["imageLayoutVersion"].is_string())
      return fail(Errc::kInvalidArgument, fmt::format("invalid '{}'", layout_path));
    if (j["imageLayoutVersion"].get<std::string>() != kLayoutVersion)
      return fail(Errc::kUnsupported, fmt::format("layout '{}' has imageLayoutVersion '{}'; hoist writes '{}'", d,
                                                  j["imageLayoutVersion"].get<std::string>(), kLayoutVersion));
  } else if (existing.error().code() == Errc::kNotFound) {
    HOIST_CHECK(sys::write_file_atomic(layout_path, kOciLayoutContent));
  } else {
    return fail(std::move(existing).error());
  }
  if (!sys::exists(fmt::format("{}/{}", d, kIndexFile))) HOIST_CHECK(w->update_index([](ojson&) -> Result<> { return {}; }));
  return w;
}

template <typename Fn>
Result<> LayoutWriter::update_index(Fn&& edit) {
  // Lock the directory itself: no lock file to leave in the layout, and any
  // process that edits index.json the same way excludes this one. (skopeo does
  // not lock; concurrent skopeo writers to one DIR can lose entries.)
  sys::Fd dfd = HOIST_TRY(sys::open_file(dir_, O_RDONLY | O_DIRECTORY));
  auto lock = HOIST_TRY(
      store::LockFile::acquire_fd(std::move(dfd), store::LockFile::Mode::kExclusive, timeout_, fmt::format("layout '{}'", dir_)));
  std::string path = fmt::format("{}/{}", dir_, kIndexFile);
  ojson index;
  auto bytes = sys::read_file(path, kMaxIndexJson);
  if (bytes) {
    index = ojson::parse(*bytes, nullptr, false);
    if (!index.is_object()) return fail(Errc::kInvalidArgument, fmt::format("invalid '{}': not a JSON object", path));
    if (!index.contains("manifests") || index["manifests"].is_null()) index["manifests"] = ojson::array();
    if (!index["manifests"].is_array())
      return fail(Errc::kInvalidArgument, fmt::format("invalid '{}': manifests is not an array", path));
  } else if (bytes.error().code() == Errc::kNotFound) {
    index = empty_index();
  } else {
    return fail(std::move(bytes).error());
  }
  HOIST_CHECK(edit(index["manifests"]));
  return sys::write_file_atomic(path, index.dump() + "\n");
}

Result<> LayoutWriter::add_image(const image::Descriptor& root, std::string_view name) {
  if (!name.empty() && !valid_ref_name(name))
    return fail(Errc::kInvalidArgument, fmt::format("invalid image name '{}' for layout '{}'", name, dir_));
  if (!blobs_.has_blob(root.digest))
    return fail(Errc::kNotFound, fmt::format("cannot add '{}' to layout '{}': blob '{}' is missing", name, dir_,
                                             root.digest.str()));
  // index.json is the layout's commit point: the blob renames go to disk first.
  HOIST_CHECK(blobs_.sync());
  image::Descriptor d = root;
  if (!name.empty())
    d.annotations[std::string(kRefNameAnnotation)] = std::string(name);
  else
    d.annotations.erase(std::string(kRefNameAnnotation));
  ojson entry = image::to_json(d);
  const std::string digest = root.digest.str();
  return update_index([&](ojson& manifests) -> Result<> {
    ojson kept = ojson::array();
    for (auto& m : manifests) {
      std::string n = ref_name_of(m);
      bool same_digest = m.is_object() && m.contains("digest") && m["digest"].is_string() &&
                         m["digest"].get<std::string>() == digest;
      bool replace = name.empty() ? (n.empty() && same_digest) : n == name;
      if (!replace) kept.push_back(std::move(m));
    }
    kept.push_back(entry);
    manifests = std::move(kept);
    return {};
  });
}

Result<> LayoutWriter::remove_image(std::string_view name) {
  return update_index([&](ojson& manifests) -> Result<> {
    ojson kept = ojson::array();
    bool found = false;
    for (auto& m : manifests) {
      if (ref_name_of(m) == name)
        found = true;
      else
        kept.push_back(std::move(m));
    }
    if (!found) return fail(Errc::kNotFound, fmt::format("no image named '{}' in layout '{}'", name, dir_));
    manifests = std::move(kept);
    return {};
  });
}

}  // namespace hoist::layout
