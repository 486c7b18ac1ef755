#pragma once
// Parsing transport names into Sources and Sinks: the one place where the
// registry, the store and OCI layouts meet (containers/image alltransports).
//
//   docker://REF | REF     a registry (the only source hoist-pull takes)
//   store                  the content store (--store / $HOIST_STORE / default)
//   oci:DIR[:TAG]          an OCI image layout directory
//   oci-archive:FILE|-     an OCI layout in a tar stream ('-': stdout)
//   docker-archive:FILE    docker save's format

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "transport/local_sources.h"
#include "transport/transport.h"

namespace hoist::transport {

struct RegistryOptions {
  bool tls_verify = true;
  std::string cert_dir;
  std::vector<std::string> insecure;  // HOST[:PORT] reached over plain HTTP
  std::vector<std::string> mirrors;   // "docker.io=http://127.0.0.1:5000"
  std::optional<std::string> creds;   // "user:pass", for every registry
  std::optional<std::string> authfile;
  int attempts = 5;
};

// The HTTP client, credentials and per-registry clients shared by every
// source of one run. Thread-safe.
class Registries {
 public:
  virtual ~Registries() = default;
};

Result<std::unique_ptr<Registries>> open_registries(const RegistryOptions& options);
// TEXT: a reference, optionally prefixed with docker://.
Result<std::unique_ptr<Source>> open_registry_source(Registries& registries, std::string_view text);
// TEXT as listed above; store_dir "" means the default store directory.
Result<std::unique_ptr<Sink>> open_sink(std::string_view text, const std::string& store_dir);

// A local image as a source (hoist-push, hoist-unpack): TEXT is a store
// reference, NAME@sha256:..., sha256:..., oci:DIR[:NAME], oci-archive:FILE[:NAME],
// oci-archive:- or docker-archive:FILE[:REF|:@N] (transport/local_sources.h has
// the details). One image: kInvalidArgument when TEXT holds several and names
// none (the message lists how to name one); kUsage for docker://.
Result<std::unique_ptr<LocalSource>> open_source(std::string_view text, const std::string& store_dir);
// Every image TEXT holds, in the order it records them (index.json entries,
// manifest.json RepoTags, the store's refs for "store"); one for a text that
// names a single image.
Result<std::vector<std::unique_ptr<LocalSource>>> open_sources(std::string_view text, const std::string& store_dir);

// A registry as a destination (hoist-push).
struct RegistrySinkOptions {
  std::vector<std::string> tags;  // more tags for the root manifest (--tag)
  // The store that remembers upload sessions (resumed after a kill) and which
  // repositories of a registry hold a blob (cross-repository mounts).
  // "" means the default store directory.
  std::string store_dir;
};
// TEXT: docker://REF or REF. The image goes to REF's repository, tagged with
// REF's tag (none when REF names only a digest) and options.tags.
Result<std::unique_ptr<Sink>> open_registry_sink(Registries& registries, std::string_view text,
                                                 const RegistrySinkOptions& options);

}  // namespace hoist::transport
