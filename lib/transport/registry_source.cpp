// A registry as a Source, and the Registries holder that open_registries()
// builds: one http::Client, one CredentialStore and one RegistryClient per
// registry for the whole run, so connections and tokens are shared.

#include <fmt/core.h>

#include <map>
#include <mutex>

#include "image/manifest.h"
#include "image/media_types.h"
#include "ref/reference.h"
#include "registry/client.h"
#include "transport/open.h"
#include "transport/registry_sink.h"
#include "util/strings.h"

namespace hoist::transport {
namespace {

class RegistriesImpl final : public Registries {
 public:
  RegistriesImpl(RegistryOptions options, std::shared_ptr<const registry::CredentialStore> creds,
                 std::optional<registry::Credential> explicit_creds,
                 std::map<std::string, std::vector<std::string>> mirrors)
      : options_(std::move(options)),
        creds_(std::move(creds)),
        explicit_creds_(std::move(explicit_creds)),
        mirrors_(std::move(mirrors)),
        http_(http::ClientOptions{.tls = {.verify = options_.tls_verify, .cert_dir = options_.cert_dir}}) {}

  std::shared_ptr<registry::RegistryClient> client(const std::string& registry) {
    std::lock_guard lk(mu_);
    auto& c = clients_[registry];
    if (!c) {
      registry::RegistryOptions o;
      o.registry = registry;
      o.insecure_registries = options_.insecure;
      o.tls = {.verify = options_.tls_verify, .cert_dir = options_.cert_dir};
      o.credentials = explicit_creds_;
      o.credential_store = creds_;
      if (auto it = mirrors_.find(registry); it != mirrors_.end()) o.mirrors = it->second;
      o.retry.max_attempts = options_.attempts;
      c = std::make_shared<registry::RegistryClient>(http_, std::move(o));
    }
    return c;
  }

 private:
  RegistryOptions options_;
  std::shared_ptr<const registry::CredentialStore> creds_;
  std::optional<registry::Credential> explicit_creds_;
  std::map<std::string, std::vector<std::string>> mirrors_;
  http::Client http_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<registry::RegistryClient>> clients_;
};

// The media type a manifest's bytes declare, checked against the Content-Type
// and the structure by the strict parser.
Result<std::string> manifest_media_type(std::string_view bytes, std::string_view content_type) {
  auto any = HOIST_TRY(image::parse_any(bytes, content_type));
  if (image::kind(any) == image::ManifestKind::kIndex) return std::get<image::Index>(any).media_type;
  return std::get<image::Manifest>(any).media_type;
}

class RegistrySource final : public Source {
 public:
  RegistrySource(std::shared_ptr<registry::RegistryClient> client, ref::Reference ref)
      : client_(std::move(client)), ref_(std::move(ref)) {}

  std::string name() const override { return ref_.name(); }
  std::string tag() const override { return ref_.tag(); }

  Result<RawManifest> resolve() override {
    std::string reference = ref_.digest() ? ref_.digest()->str() : ref_.tag();
    auto fm = HOIST_TRY(client_->get_manifest(ref_.repository(), reference));
    auto mt = HOIST_TRY_CTX(manifest_media_type(fm.bytes, fm.content_type),
                            fmt::format("manifest '{}' from '{}'", ref_.familiar(), ref_.registry()));
    RawManifest m;
    m.descriptor.media_type = std::move(mt);
    m.descriptor.digest = fm.digest;
    m.descriptor.size = fm.bytes.size();
    m.bytes = std::move(fm.bytes);
    return m;
  }

  Result<RawManifest> fetch_manifest(const image::Descriptor& d) override {
    auto fm = HOIST_TRY(client_->get_manifest(ref_.repository(), d.digest.str()));
    std::string where = fmt::format("manifest '{}@{}' from '{}'", ref_.repository(), d.digest.str(), ref_.registry());
    if (fm.bytes.size() != d.size)
      return fail(Errc::kDigestMismatch,
                  fmt::format("{}: size {} does not match its descriptor's {}", where, fm.bytes.size(), d.size));
    auto mt = HOIST_TRY_CTX(manifest_media_type(fm.bytes, fm.content_type.empty() ? d.media_type : fm.content_type),
                            where);
    if (image::media_type::is_index(mt) != image::media_type::is_index(d.media_type))
      return fail(Errc::kInvalidArgument,
                  fmt::format("{}: it is a '{}' but its descriptor says '{}'", where, mt, d.media_type));
    RawManifest m;
    m.descriptor = d;
    m.bytes = std::move(fm.bytes);
    return m;
  }

  Result<> fetch_blob(const image::Descriptor& d, uint64_t offset, io::Writer& sink,
                      const RetryHook& on_retry) override {
    return client_->fetch_blob(ref_.repository(), d.digest, offset, d.size, sink,
                               [&](int attempt, const Error& why, std::chrono::milliseconds delay) {
                                 if (on_retry) on_retry(attempt + 1, why, double(delay.count()) / 1000.0);
                               });
  }

 private:
  std::shared_ptr<registry::RegistryClient> client_;
  ref::Reference ref_;
};

}  // namespace

std::shared_ptr<registry::RegistryClient> registry_client(Registries& registries, const std::string& registry) {
  return static_cast<RegistriesImpl&>(registries).client(registry);
}

Result<std::unique_ptr<Registries>> open_registries(const RegistryOptions& options) {
  std::shared_ptr<const registry::CredentialStore> creds;
  if (options.authfile) {
    creds = std::make_shared<registry::CredentialStore>(
        HOIST_TRY(registry::CredentialStore::load({*options.authfile})));
  } else {
    creds = std::make_shared<registry::CredentialStore>(HOIST_TRY(registry::CredentialStore::from_environment()));
  }
  std::optional<registry::Credential> explicit_creds;
  if (options.creds) explicit_creds = HOIST_TRY(registry::parse_credential(*options.creds));
  std::map<std::string, std::vector<std::string>> mirrors;
  for (const auto& m : options.mirrors) {
    auto eq = m.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == m.size())
      return fail(Errc::kUsage, fmt::format("invalid --mirror '{}': use REGISTRY=URL, e.g. "
                                            "docker.io=http://127.0.0.1:5000",
                                            m));
    mirrors[registry::normalize_registry_key(m.substr(0, eq))].push_back(m.substr(eq + 1));
  }
  return std::make_unique<RegistriesImpl>(options, std::move(creds), std::move(explicit_creds), std::move(mirrors));
}

Result<std::unique_ptr<Source>> open_registry_source(Registries& registries, std::string_view text) {
  if (text.starts_with("docker://")) text.remove_prefix(9);
  auto ref = HOIST_TRY(ref::parse_reference(text));
  auto& impl = static_cast<RegistriesImpl&>(registries);
  return std::make_unique<RegistrySource>(impl.client(ref.registry()), std::move(ref));
}

}  // namespace hoist::transport
