// hoist-unpack IMAGE DIR: turn an image into an OCI runtime bundle (DIR/rootfs and
// DIR/config.json) for hoist-run, runc or crun. Prints the bundle's path.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include <fmt/core.h>

#include "archive/layer.h"
#include "bundle/spec.h"
#include "cli/tool.h"
#include "image_source.h"
#include "sys/file.h"
#include "sys/tree.h"
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

Examples:
  hoist-pull 127.0.0.1:5000/app:1 | hoist-unpack - ./bundle && runc run -b ./bundle c1
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

// Creates DIR (or accepts it empty). Returns true when it was created here.
Result<bool> prepare_dir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) == 0) return true;
  if (errno != EEXIST) return fail(hoist::Error::from_errno(errno, "cannot create bundle directory '" + dir + "'"));
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return fail(Errc::kAlreadyExists, "'" + dir + "' is not a directory");
  if (!std::filesystem::is_empty(dir, ec))
    return fail(Errc::kAlreadyExists, "bundle directory '" + dir + "' is not empty");
  return false;
}

// Removes DIR (or only its contents when it existed before) after a failure.
void discard_bundle(const std::string& dir, bool created) {
  std::filesystem::path p(dir);
  if (created) {
    auto parent = hoist::sys::open_file(p.parent_path().empty() ? "." : p.parent_path().string(), O_PATH | O_DIRECTORY);
    if (parent) (void)hoist::sys::remove_all_at(parent->get(), p.filename().string());
    return;
  }
  auto fd = hoist::sys::open_file(dir, O_PATH | O_DIRECTORY);
  if (!fd) return;
  if (auto names = hoist::sys::list_dir_at(fd->get(), ""))
    for (const auto& n : *names) (void)hoist::sys::remove_all_at(fd->get(), n);
}

Result<> unpack(hoist::cli::Context& ctx, const cxxopts::ParseResult& args, const hoist::unpack::ImageSource& img,
                const std::string& dir) {
  namespace archive = hoist::archive;
  bool rootless = args.count("rootless") > 0;
  std::string rootfs = dir + "/rootfs";
  if (::mkdir(rootfs.c_str(), 0755) != 0)
    return fail(hoist::Error::from_errno(errno, "cannot create '" + rootfs + "'"));
  auto root = HOIST_TRY(hoist::sys::open_file(rootfs, O_PATH | O_DIRECTORY));

  archive::SizeBudget budget;
  if (args.count("max-size")) budget.max = HOIST_TRY(parse_size(args["max-size"].as<std::string>()));
  archive::LayerOptions lopts;
  lopts.apply.rootless = rootless;
  lopts.apply.warn = [&](std::string_view w) { ctx.warn(w); };
  auto& progress = ctx.progress();
  size_t n = img.manifest.layers.size();
  for (size_t i = 0; i < n; ++i) {
    const auto& layer = img.manifest.layers[i];
    const auto& diff_id = img.config.rootfs.diff_ids[i];
    std::string id = layer.digest.str();
    std::string what = fmt::format("layer {}/{} '{}'", i + 1, n, id);
    auto c = HOIST_TRY_CTX(archive::layer_compression(layer), what);
    auto blob = HOIST_TRY_CTX(img.blobs->open_blob(layer.digest), what);
    progress.started({id, fmt::format("{} apply", layer.digest.short_hex()), 0}, 0);
    lopts.on_progress = [&](uint64_t done) { progress.advanced(id, done); };
    auto r = archive::apply_layer(*blob, c, diff_id, root, budget, lopts);
    if (!r) {
      progress.failed(id, r.error().to_string());
      return fail(std::move(r).error().context(what));
    }
    progress.verified(id);
    progress.finished(id);
  }

  hoist::bundle::SpecOptions sopts;
  if (args.count("entrypoint")) sopts.entrypoint = HOIST_TRY(parse_args("entrypoint", args["entrypoint"].as<std::string>()));
  if (args.count("cmd")) sopts.cmd = HOIST_TRY(parse_args("cmd", args["cmd"].as<std::string>()));
  sopts.terminal = args.count("terminal") > 0;
  if (args.count("hostname")) sopts.hostname = args["hostname"].as<std::string>();
  sopts.rootless = rootless;
  sopts.host_uid = ::geteuid();
  sopts.host_gid = ::getegid();
  auto spec = HOIST_TRY(hoist::bundle::make_spec_for_rootfs(img.config, root, sopts));
  HOIST_CHECK(hoist::sys::write_file_atomic(dir + "/config.json", spec.dump(2) + "\n", 0644));
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  cxxopts::Options opts("hoist-unpack", "Unpack an image into an OCI runtime bundle (rootfs + config.json)");
  opts.custom_help("[OPTIONS]");
  opts.positional_help("IMAGE DIR");
  opts.add_options()
      ("platform", "os/arch[/variant] to pick from a multi-platform image (default: this host)",
       cxxopts::value<std::string>())
      ("entrypoint", "replace the image's Entrypoint: a JSON array, or words split on spaces",
       cxxopts::value<std::string>())
      ("cmd", "replace the image's Cmd: a JSON array, or words split on spaces", cxxopts::value<std::string>())
      ("t,terminal", "process.terminal = true in config.json")
      ("hostname", "the container's hostname", cxxopts::value<std::string>())
      ("max-size", "cap on the unpacked bytes (K, M, G, T suffixes; default 64G)", cxxopts::value<std::string>())
      ("rootless", "unpack as a non-root user: owners kept in the user.rootlesscontainers xattr, devices "
                   "skipped, user-namespace mappings in config.json")
      ("args", "IMAGE DIR", cxxopts::value<std::vector<std::string>>());
  opts.parse_positional({"args"});

  return hoist::cli::run(argc, argv, opts, [](hoist::cli::Context& ctx, const cxxopts::ParseResult& args)
                                               -> hoist::Result<int> {
    std::vector<std::string> pos;
    if (args.count("args")) pos = args["args"].as<std::vector<std::string>>();
    if (pos.size() != 2) return fail(Errc::kUsage, "expected IMAGE and DIR");
    auto images = HOIST_TRY(ctx.image_args({pos[0]}));
    if (images.size() != 1) return fail(Errc::kUsage, "expected one image, got " + std::to_string(images.size()));
    std::string dir = pos[1];
    if (::geteuid() != 0 && !args.count("rootless"))
      return fail(Errc::kUsage, "not running as root: pass --rootless to unpack as this user");

    std::optional<hoist::ref::Platform> platform;
    if (args.count("platform")) platform = HOIST_TRY(hoist::ref::parse_platform(args["platform"].as<std::string>()));
    auto img = HOIST_TRY(hoist::unpack::open_image(images[0], ctx.store_dir(), platform));

    bool created = HOIST_TRY(prepare_dir(dir));
    auto r = unpack(ctx, args, img, dir);
    if (!r) {
      discard_bundle(dir, created);
      return fail(std::move(r).error().context("cannot unpack '" + images[0] + "'"));
    }
    std::error_code ec;
    auto abs = std::filesystem::absolute(dir, ec).lexically_normal().string();
    while (abs.size() > 1 && abs.back() == '/') abs.pop_back();
    ctx.print_line(abs);
    return hoist::cli::kExitOk;
  }, kEpilog);
}
