// hoist-unpack IMAGE DIR: turn an image into an OCI runtime bundle (DIR/rootfs and
// DIR/config.json) for hoist-run, runc or crun. Prints the bundle's path.
// hoist-unpack --snapshot IMAGE DIR: the rootfs is an overlay of the store's
// per-layer snapshots. hoist-unpack --remove DIR: undoes either.

#include <unistd.h>

#include <cctype>

#include "cli/tool.h"
#include "store/store.h"
#include "transport/local_sources.h"
#include "transport/open.h"
#include "unpack/bundle_writer.h"
#include "unpack/snapshot.h"
#include "util/strings.h"

namespace {

using hoist::Errc;
using hoist::Result;
using hoist::fail;

constexpr std::string_view kEpilog = R"(
IMAGE:
  127.0.0.1:5000/team/app:1.2     a reference recorded in the store (hoist-pull)
  NAME@sha256:... | sha256:...    a manifest (or index) in the store by digest
  -                               read a NAME@sha256:... line from stdin
  oci:DIR[:TAG]                   an OCI image layout

DIR must be missing or empty. The rootfs is made with every path kept inside it
(hostile layers are refused with an error naming the entry); each layer's content
is checked against the config's diff_ids.

With --snapshot (root only) each layer is unpacked once into the store's
snapshots/ and DIR/rootfs is an overlay mount of them, with the container's
writes in DIR/upper; unpacking the same image again takes milliseconds.
--remove DIR unmounts such a rootfs and removes the bundle (plain bundles too).

Examples:
  hoist-pull 127.0.0.1:5000/app:1 | hoist-unpack - ./bundle && runc run -b ./bundle c1
  hoist-unpack --snapshot 127.0.0.1:5000/app:1 ./b1 && hoist-unpack --remove ./b1
  hoist-unpack --cmd '["sh","-c","echo hi"]' oci:./layout:v1 ./bundle

stdout carries the bundle's absolute path; progress and errors go to stderr.
Exit status: 0 ok, 1 failed, 2 usage, 130 interrupted.)";

// "[\"a\",\"b\"]" as a JSON array, anything else split on spaces.
Result<std::vector<std::string>> parse_args(const std::string& opt, const std::string& text) {
  if (!text.empty() && text.front() == '[') {
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_array()) return fail(Errc::kUsage, "--" + opt + ": invalid JSON array");
    std::vector<std::string> out;
    for (const auto& v : j) {
      if (!v.is_string()) return fail(Errc::kUsage, "--" + opt + ": array elements must be strings");
      out.push_back(v.get<std::string>());
    }
    return out;
  }
  std::vector<std::string> out;
  for (auto w : hoist::split(text, ' '))
    if (!w.empty()) out.emplace_back(w);
  return out;
}

Result<uint64_t> parse_size(const std::string& s) {
  std::string_view t = hoist::trim(s);
  uint64_t mult = 1;
  if (!t.empty()) {
    char c = char(std::toupper(static_cast<unsigned char>(t.back())));
    int shift = c == 'K' ? 10 : c == 'M' ? 20 : c == 'G' ? 30 : c == 'T' ? 40 : 0;
    if (shift) {
      mult = uint64_t{1} << shift;
      t.remove_suffix(1);
    }
  }
  auto v = hoist::parse_u64(t);
  if (!v || *v == 0 || *v > UINT64_MAX / mult) return fail(Errc::kUsage, "--max-size: invalid size '" + s + "'");
  return *v * mult;
}

Result<hoist::unpack::BundleOptions> bundle_options(hoist::cli::Context& ctx, const cxxopts::ParseResult& args) {
  hoist::unpack::BundleOptions o;
  if (args.count("max-size")) o.max_size = HOIST_TRY(parse_size(args["max-size"].as<std::string>()));
  o.max_size_hint = "--max-size raises it";
  if (args.count("entrypoint")) o.spec.entrypoint = HOIST_TRY(parse_args("entrypoint", args["entrypoint"].as<std::string>()));
  if (args.count("cmd")) o.spec.cmd = HOIST_TRY(parse_args("cmd", args["cmd"].as<std::string>()));
  o.spec.terminal = args.count("terminal") > 0;
  if (args.count("hostname")) o.spec.hostname = args["hostname"].as<std::string>();
  o.spec.rootless = args.count("rootless") > 0;
  o.spec.host_uid = ::geteuid();
  o.spec.host_gid = ::getegid();
  o.warn = [&ctx](std::string_view w) { ctx.warn(w); };
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  cxxopts::Options opts("hoist-unpack", "Unpack an image into an OCI runtime bundle (rootfs + config.json)");
  opts.custom_help("[OPTIONS]");
  opts.positional_help("IMAGE DIR | --remove DIR");
  opts.add_options()
      ("platform", "os/arch[/variant] to pick from a multi-platform image (default: this host)",
       cxxopts::value<std::string>())
      ("entrypoint", "replace the image's Entrypoint: a JSON array, or words split on spaces",
       cxxopts::value<std::string>())
      ("cmd", "replace the image's Cmd: a JSON array, or words split on spaces", cxxopts::value<std::string>())
      ("t,terminal", "process.terminal = true in config.json")
      ("hostname", "the container's hostname", cxxopts::value<std::string>())
      ("max-size", "cap on the unpacked bytes (K, M, G, T suffixes; default: 90% of the space free where the "
                   "bytes go, so a decompression bomb stops before the disk is full)",
       cxxopts::value<std::string>())
      ("rootless", "unpack as a non-root user: owners kept in the user.rootlesscontainers xattr, devices "
                   "skipped, user-namespace mappings in config.json")
      ("snapshot", "rootfs as an overlay of per-layer snapshots in the store (root only): each layer "
                   "unpacked once, later unpacks take milliseconds")
      ("remove", "remove the bundle DIR made by hoist-unpack (unmounting a --snapshot rootfs)")
      ("args", "IMAGE DIR", cxxopts::value<std::vector<std::string>>());
  opts.parse_positional({"args"});

  return hoist::cli::run(argc, argv, opts, [](hoist::cli::Context& ctx, const cxxopts::ParseResult& args)
                                               -> hoist::Result<int> {
    std::vector<std::string> pos;
    if (args.count("args")) pos = args["args"].as<std::vector<std::string>>();
    bool snapshot = args.count("snapshot") > 0;
    if (args.count("remove")) {
      if (pos.size() != 1) return fail(Errc::kUsage, "--remove takes one argument: the bundle DIR");
      HOIST_CHECK(hoist::unpack::remove_bundle(pos[0]));
      return hoist::cli::kExitOk;
    }
    if (pos.size() != 2) return fail(Errc::kUsage, "expected IMAGE and DIR");
    auto images = HOIST_TRY(ctx.image_args({pos[0]}));
    if (images.size() != 1) return fail(Errc::kUsage, "expected one image, got " + std::to_string(images.size()));
    std::string dir = pos[1];
    if (snapshot && args.count("rootless"))
      return fail(Errc::kUsage, "--snapshot and --rootless conflict: snapshots need root (overlay mounts)");
    if (::geteuid() != 0 && snapshot)
      return fail(Errc::kUsage, "--snapshot needs root (overlay mounts of the store's snapshots)");
    if (::geteuid() != 0 && !args.count("rootless"))
      return fail(Errc::kUsage, "not running as root: pass --rootless to unpack as this user");
    auto bopts = HOIST_TRY(bundle_options(ctx, args));

    std::optional<hoist::ref::Platform> platform;
    if (args.count("platform")) platform = HOIST_TRY(hoist::ref::parse_platform(args["platform"].as<std::string>()));
    auto src = HOIST_TRY(hoist::transport::open_source(images[0], ctx.store_dir()));
    const hoist::store::BlobDir* blobs = src->blob_dir();
    if (!blobs)
      return fail(Errc::kUsage, "hoist-unpack reads images from the store or an oci: layout, not from '" + images[0] +
                                    "': push or pull it there first (hoist-pull --output oci:DIR, or into the store)");
    auto img = HOIST_TRY(hoist::transport::resolve_image(*src, platform));

    Result<std::string> made = fail(Errc::kInternal, "not unpacked");
    if (snapshot) {
      std::string store = ctx.store_dir().empty() ? hoist::store::default_store_dir() : ctx.store_dir();
      made = hoist::unpack::unpack_snapshot(*blobs, store, img.manifest, img.config, dir, bopts, ctx.progress());
    } else {
      made = hoist::unpack::unpack_image(*blobs, img.manifest, img.config, dir, bopts, ctx.progress());
    }
    if (!made) return fail(std::move(made).error().context("cannot unpack '" + images[0] + "'"));
    ctx.print_line(*made);
    return hoist::cli::kExitOk;
  }, kEpilog);
}
