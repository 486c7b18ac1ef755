#pragma once
// Where a built image goes (hoist-build's -t, --output and --push). Every tag
// is recorded in the store (as buildah and docker do: the image is usable by
// hoist-unpack and hoist-push at once); --output other than "store" also
// exports it through that sink (oci:DIR[:TAG], oci-archive:FILE|-,
// docker-archive:FILE), and --push sends it to every tag's registry
// (transport::copy into a registry sink: HEAD skips, cross-repository mounts,
// resumable uploads, credentials as hoist-push has them).

#include <stop_token>
#include <string>
#include <vector>

#include "build/options.h"
#include "transport/open.h"
#include "util/progress.h"
#include "util/result.h"

namespace hoist::build {

struct OutputOptions {
  std::vector<std::string> tags;  // references: "127.0.0.1:5000/app:1"
  std::string output = "store";
  bool push = false;
  transport::RegistryOptions registry;
  std::string store_dir;          // "" = the default store
  int jobs = 4;
  std::stop_token stop;
};

struct Delivered {
  std::string pinned;               // "NAME@sha256:…" (the first tag's name), or "sha256:…" untagged
  std::vector<std::string> tags;    // as recorded: "docker.io/library/app:1"
  std::vector<std::string> pushed;  // "127.0.0.1:5000/app@sha256:…"
};

// kInvalidArgument for a malformed tag (before anything is written);
// --push without a tag is kUsage.
Result<Delivered> deliver(const BuildResult& built, const OutputOptions& options, ProgressSink& progress);

}  // namespace hoist::build
