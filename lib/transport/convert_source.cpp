// Conversion happens on the manifests only: resolve() converts the root (and,
// for an index, every child, re-describing each so the index names the new
// digests) and keeps the converted children for fetch_manifest(); blobs are
// fetched from the inner source untouched.

#include "transport/convert_source.h"

#include <fmt/core.h>

#include <map>
#include <mutex>

#include "image/manifest.h"
#include "image/media_types.h"

namespace hoist::transport {
namespace {

std::string format_name(image::Format f) { return f == image::Format::kOci ? "oci" : "v2s2"; }

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

class ConvertingSource final : public Source {
 public:
  ConvertingSource(Source& inner, image::Format to) : inner_(inner), to_(to) {}
  std::string name() const override { return inner_.name(); }
  std::string tag() const override { return inner_.tag(); }

  Result<RawManifest> resolve() override {
    auto raw = HOIST_TRY(inner_.resolve());
    return convert_raw(std::move(raw), 0);
  }

  Result<RawManifest> fetch_manifest(const image::Descriptor& d) override {
    {
      std::lock_guard lk(mu_);
      if (auto it = converted_.find(d.digest); it != converted_.end()) return it->second;
    }
    auto raw = HOIST_TRY(inner_.fetch_manifest(d));
    return convert_raw(std::move(raw), 0);
  }

  Result<> fetch_blob(const image::Descriptor& d, uint64_t offset, io::Writer& sink,
                      const RetryHook& on_retry) override {
    return inner_.fetch_blob(d, offset, sink, on_retry);
  }

 private:
  std::string label() const { return inner_.name().empty() ? "the image" : fmt::format("'{}'", inner_.name()); }

  Result<RawManifest> convert_raw(RawManifest raw, int depth) {
    if (depth > 4) return fail(Errc::kInvalidArgument, "indexes nested more than 4 deep");
    auto any = HOIST_TRY(image::parse_any(raw.bytes, raw.descriptor.media_type));
    std::string where = fmt::format("cannot convert {} to {}", label(), format_name(to_));
    RawManifest out;
    if (auto* m = std::get_if<image::Manifest>(&any)) {
      bool same = image::format_of(m->media_type) == to_ && image::format_of(m->config.media_type) == to_;
      for (const auto& l : m->layers) same = same && image::format_of(l.media_type) == to_;
      if (same) return raw;
      auto c = HOIST_TRY_CTX(image::convert(*m, to_), where);
      if (!c.lost.empty())
        return fail(Errc::kUnsupported, fmt::format("{}: it would drop {}", where, join(c.lost)));
      out.bytes = image::serialize(c.value);
      out.descriptor = raw.descriptor;
      out.descriptor.media_type = c.value.media_type;
    } else {
      const auto& idx = std::get<image::Index>(any);
      auto c = HOIST_TRY_CTX(image::convert(idx, to_), where);
      if (!c.lost.empty())
        return fail(Errc::kUnsupported, fmt::format("{}: it would drop {}", where, join(c.lost)));
      bool changed = image::format_of(idx.media_type) != to_;
      for (size_t i = 0; i < idx.manifests.size(); ++i) {
        const auto& child = idx.manifests[i];
        if (!image::media_type::is_manifest(child.media_type) && !image::media_type::is_index(child.media_type))
          continue;  // an artifact: kept as it is
        auto sub = HOIST_TRY(inner_.fetch_manifest(child));
        auto conv = HOIST_TRY(convert_raw(std::move(sub), depth + 1));
        auto& nd = c.value.manifests[i];
        nd.media_type = conv.descriptor.media_type;
        nd.digest = conv.descriptor.digest;
        nd.size = conv.descriptor.size;
        if (nd.digest != child.digest) changed = true;
      }
      if (!changed) return raw;
      out.bytes = image::serialize(c.value);
      out.descriptor = raw.descriptor;
      out.descriptor.media_type = c.value.media_type;
    }
    auto d = image::describe(out.descriptor.media_type, out.bytes);
    out.descriptor.digest = d.digest;
    out.descriptor.size = d.size;
    std::lock_guard lk(mu_);
    converted_[out.descriptor.digest] = out;
    return out;
  }

  Source& inner_;
  image::Format to_;
  std::mutex mu_;
  std::map<digest::Digest, RawManifest> converted_;
};

}  // namespace

std::unique_ptr<Source> converting_source(Source& inner, image::Format to) {
  return std::make_unique<ConvertingSource>(inner, to);
}

}  // namespace hoist::transport
