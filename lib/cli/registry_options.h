#pragma once
// The registry options every tool that talks to a registry takes (hoist-pull,
// hoist-push, hoist-build): --creds, --authfile, --tls-verify, --cert-dir,
// --insecure-registry, --mirror, --retries. Named as skopeo and podman name them.

#include "cli/cxxopts.h"

#include "transport/open.h"

namespace hoist::cli {

// Adds the options above; --mirror only when `mirrors` (reads may use a mirror,
// writes never do).
void add_registry_options(cxxopts::Options& opts, bool mirrors = true);
transport::RegistryOptions registry_options(const cxxopts::ParseResult& args);

}  // namespace hoist::cli
