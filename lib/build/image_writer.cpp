// The finished stage as an image in the store: config (created and history
// at SOURCE_DATE_EPOCH, --label over the Dockerfile's labels) and manifest,
// OCI or Docker v2 schema 2, both written as small blobs and recorded
// (blob records and graph edges, no name: build/output.h names it).

#include "build/builder.h"
#include "image/convert.h"
#include "image/manifest.h"
#include "image/media_types.h"

namespace hoist::build::detail {

Result<BuildResult> Builder::write_image(const StageState& s) {
  image::ImageConfig config = s.config;
  config.created = created();
  for (const auto& [k, v] : o_.labels) config.config.labels[k] = v;
  if (config.os.empty()) {
    auto host = ref::host_platform();
    config.os = host.os;
    config.architecture = host.architecture;
  }
  bool docker = o_.format == ImageFormat::kDocker;
  auto fmt_to = docker ? image::Format::kDocker : image::Format::kOci;
  std::string config_bytes = image::serialize(config);
  auto config_desc = image::describe(docker ? image::media_type::kDockerConfig : image::media_type::kOciConfig,
                                     config_bytes);
  HOIST_CHECK(store_->put_small_blob(config_bytes, config_desc.digest));

  image::Manifest m;
  m.media_type = std::string(docker ? image::media_type::kDockerManifest : image::media_type::kOciManifest);
  m.config = config_desc;
  for (const auto& l : s.layers) {
    image::Descriptor d;
    d.media_type = HOIST_TRY(image::convert_media_type(l.media_type, fmt_to));
    d.digest = l.digest;
    d.size = l.size;
    if (!docker) d.urls = l.urls;
    m.layers.push_back(std::move(d));
  }
  std::string manifest_bytes = image::serialize(m);
  auto manifest_desc = image::describe(m.media_type, manifest_bytes);
  HOIST_CHECK(store_->put_small_blob(manifest_bytes, manifest_desc.digest));
  (void)HOIST_TRY(store_->add_image("", manifest_desc));

  BuildResult r;
  r.manifest = manifest_desc;
  r.config = config_desc;
  return r;
}

}  // namespace hoist::build::detail
