// hoist-pull REF...: copy images from a registry into the store, an OCI layout
// or an archive; prints one NAME@sha256:... line per image.

#include <unistd.h>

#include <fmt/core.h>

#include "cli/registry_options.h"
#include "cli/tool.h"
#include "store/store.h"
#include "transport/copy.h"
#include "transport/open.h"
#include "unpack/pull.h"

namespace {

constexpr std::string_view kEpilog = R"(
References:
  busybox                         docker.io/library/busybox:latest
  127.0.0.1:5000/team/app:1.2     a tag on a local registry (plain HTTP on loopback)
  quay.io/org/app@sha256:...      a digest; NAME:TAG@sha256:... is fine too
  -                               read references from stdin, one a line

Outputs (--output):
  store                 the content store (default; the reference is recorded)
  oci:DIR[:TAG]         an OCI image layout directory
  oci-archive:FILE      an OCI layout as a tar file ('-' for stdout)
  docker-archive:FILE   what 'docker save' writes, loadable by 'docker load'

Credentials come from --creds, $REGISTRY_AUTH_FILE, ~/.docker/config.json
(auths, credHelpers, credsStore) or $XDG_RUNTIME_DIR/containers/auth.json.

Examples:
  hoist-pull busybox
  hoist-pull --platform linux/arm64 127.0.0.1:5000/app:1
  hoist-pull --output oci-archive:- alpine:3.19 | ssh far hoist-push oci-archive:- reg.local/alpine:3.19
  hoist-pull 127.0.0.1:5000/app:1 | hoist-unpack - ./bundle
  hoist-pull --mirror docker.io=http://127.0.0.1:5000 busybox
  hoist-pull --unpack ./bundle 127.0.0.1:5000/app:1 && runc run -b ./bundle c1

--unpack DIR (one image, into the store) overlaps download and unpack: layer k is
applied while later layers are still downloading; stdout is still the pinned line.

stdout carries one NAME@sha256:... line per image (or a JSON object with --json);
progress and errors go to stderr. Exit status: 0 ok, 1 failed, 2 usage, 130 interrupted.)";

}  // namespace

int main(int argc, char** argv) {
  cxxopts::Options opts("hoist-pull", "Copy images from a registry into the store, an OCI layout or an archive");
  opts.custom_help("[OPTIONS]");
  opts.positional_help("REF...");
  opts.add_options()
      ("o,output", "store | oci:DIR[:TAG] | oci-archive:FILE|- | docker-archive:FILE",
       cxxopts::value<std::string>()->default_value("store"))
      ("platform", "os/arch[/variant] to pick from a multi-platform index (default: this host)",
       cxxopts::value<std::string>())
      ("all-platforms", "keep the whole index and every platform's image")
      ("unpack", "also unpack the image into the bundle DIR (as hoist-unpack; root), each layer applied as soon "
                 "as it and the layers below it are in", cxxopts::value<std::string>())
      ("refs", "references", cxxopts::value<std::vector<std::string>>());
  hoist::cli::add_registry_options(opts);
  opts.parse_positional({"refs"});

  return hoist::cli::run(argc, argv, opts, [](hoist::cli::Context& ctx, const cxxopts::ParseResult& args)
                                               -> hoist::Result<int> {
    std::vector<std::string> given;
    if (args.count("refs")) given = args["refs"].as<std::vector<std::string>>();
    auto refs = HOIST_TRY(ctx.image_args(given));

    auto ropts = hoist::cli::registry_options(args);
    hoist::transport::CopyOptions copts;
    copts.jobs = ctx.jobs();
    copts.all_platforms = args.count("all-platforms") > 0;
    copts.stop = ctx.stop_token();
    if (args.count("platform")) {
      if (copts.all_platforms) return hoist::fail(hoist::Errc::kUsage, "--platform and --all-platforms conflict");
      copts.platform = HOIST_TRY(hoist::ref::parse_platform(args["platform"].as<std::string>()));
    }

    std::string output = args["output"].as<std::string>();
    std::optional<std::string> unpack_dir;
    if (args.count("unpack")) {
      unpack_dir = args["unpack"].as<std::string>();
      if (refs.size() != 1) return hoist::fail(hoist::Errc::kUsage, "--unpack makes one bundle: give one reference");
      if (copts.all_platforms) return hoist::fail(hoist::Errc::kUsage, "--unpack and --all-platforms conflict");
      if (output != "store") return hoist::fail(hoist::Errc::kUsage, "--unpack needs --output store");
      if (::geteuid() != 0)
        return hoist::fail(hoist::Errc::kUsage, "--unpack needs root (use hoist-unpack --rootless after the pull)");
    }
    auto registries = HOIST_TRY(hoist::transport::open_registries(ropts));
    auto sink = HOIST_TRY(hoist::transport::open_sink(output, ctx.store_dir()));
    for (const auto& text : refs) {
      auto src = HOIST_TRY(hoist::transport::open_registry_source(*registries, text));
      hoist::transport::CopyResult res;
      if (unpack_dir) {
        std::string store = ctx.store_dir().empty() ? hoist::store::default_store_dir() : ctx.store_dir();
        hoist::store::BlobDir blobs(store, store + "/ingest");
        hoist::unpack::BundleOptions bopts;
        bopts.warn = [&ctx](std::string_view w) { ctx.warn(w); };
        auto pr = HOIST_TRY(hoist::unpack::pull_and_unpack(*src, *sink, blobs, copts, *unpack_dir, bopts,
                                                          ctx.progress()));
        ctx.say("unpacked into " + pr.bundle);
        res = std::move(pr.copy);
      } else {
        res = HOIST_TRY(hoist::transport::copy(*src, *sink, copts, ctx.progress()));
      }
      if (sink->writes_stdout()) {
        ctx.say(res.pinned());
      } else if (ctx.json()) {
        nlohmann::json j = {{"reference", res.pinned()}, {"name", res.name}, {"digest", res.root.digest.str()},
                            {"mediaType", res.root.media_type}, {"size", res.root.size}, {"output", output},
                            {"blobsFetched", res.blobs_fetched}, {"blobsSkipped", res.blobs_skipped},
                            {"bytesFetched", res.bytes_fetched}};
        if (res.platform) j["platform"] = res.platform->str();
        ctx.print_json(j);
      } else {
        ctx.print_line(res.pinned());
      }
    }
    HOIST_CHECK(sink->finish());
    return hoist::cli::kExitOk;
  }, kEpilog);
}
