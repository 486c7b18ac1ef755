// hoist-push SRC [DEST]: send images from the store, an OCI layout or an
// archive (or another registry) to a registry; prints one NAME@sha256:... line
// per image. --sync FILE mirrors a list.

#include <fcntl.h>

#include <fmt/core.h>

#include <iostream>

#include "cli/registry_options.h"
#include "cli/tool.h"
#include "ref/reference.h"
#include "sys/file_io.h"
#include "transport/push.h"

namespace {

namespace tp = hoist::transport;
using hoist::Errc;
using hoist::Result;

constexpr std::string_view kEpilog = R"(
Sources (SRC):
  127.0.0.1:5000/team/app:v1       an image in the store, as hoist-pull recorded it
  127.0.0.1:5000/team/app@sha256:…  hoist-pull's line: the digest, looked up in the store
  sha256:…                         a manifest or index in the store
  -                                NAME@sha256:... lines (or references) on stdin
  oci:DIR[:NAME]                   an OCI layout: one image, or every image it holds
  oci-archive:FILE[:NAME]          an OCI layout in a tar file ('-': stdin)
  docker-archive:FILE[:REF|:@N]    'docker save' output, pushed as Docker schema 2
  docker://REF                     another registry: streamed, nothing written to disk
  docker://REGISTRY/REPO           every tag of that repository

Destination (DEST), a registry reference:
  one image:      DEST as written (no tag means latest)
  several images, or DEST ending in '/': a prefix; each image goes to
                  DEST/<its repository path>:<its tag>
                  (127.0.0.1:5000/team/app:v1 -> DEST/team/app:v1)
  no DEST:        each image goes back to the name and tag it records

--sync FILE: one 'SRC DEST' pair a line ('#' comments), SRC and DEST as above.
Images whose destination tag already names their digest are skipped (one HEAD,
before any blob work); one failure does not stop the rest; a summary goes to
stderr, and the exit status is 1 if any image failed.

Examples:
  hoist-pull 127.0.0.1:5000/app:1 | hoist-push - 127.0.0.1:6000/app:1
  hoist-push --tag latest oci:./layout:app 127.0.0.1:5000/team/app:1.2
  hoist-pull --output oci-archive:all.tar 127.0.0.1:5000/a:1 127.0.0.1:5000/b:2
  hoist-push oci-archive:all.tar 127.0.0.1:6000/mirror/      # -> mirror/a:1, mirror/b:2
  hoist-push --format v2s2 --digest-file d.txt oci:./l:app 127.0.0.1:5000/app:v2
  printf '%s\n' 'docker://127.0.0.1:5000/a 127.0.0.1:6000/m/' > list; hoist-push --sync list

stdout carries one NAME@sha256:... line per image pushed (or a JSON object with
--json, see schemas/hoist-push-result.schema.json); progress and errors go to
stderr. Exit status: 0 ok, 1 failed, 2 usage, 130 interrupted.)";

nlohmann::json result_json(const std::string& source, const std::string& dest, const tp::PushResult* r,
                           const hoist::Error* err) {
  nlohmann::json j = {{"source", source}, {"destination", dest}};
  if (r) {
    j["status"] = r->skipped ? "skipped" : "pushed";
    j["reference"] = r->copy.pinned();
    j["name"] = r->copy.name;
    j["digest"] = r->copy.root.digest.str();
    if (!r->skipped) {
      j["mediaType"] = r->copy.root.media_type;
      j["size"] = r->copy.root.size;
      if (r->copy.platform) j["platform"] = r->copy.platform->str();
    }
    j["blobsPushed"] = r->copy.blobs_fetched;
    j["blobsSkipped"] = r->copy.blobs_skipped;
    j["bytesPushed"] = r->copy.bytes_fetched;
  } else {
    j["status"] = "failed";
    j["error"] = err ? err->message() : "failed";
  }
  return j;
}

}  // namespace

int main(int argc, char** argv) {
  cxxopts::Options opts("hoist-push", "Send images from the store, an OCI layout or an archive to a registry");
  opts.custom_help("[OPTIONS]");
  opts.positional_help("SRC [DEST]");
  opts.add_options()
      ("tag", "also tag the pushed image TAG in DEST's repository (repeatable)",
       cxxopts::value<std::vector<std::string>>())
      ("format", "convert manifests to oci or v2s2 (new digest; refused where it would lose data)",
       cxxopts::value<std::string>())
      ("platform", "push only the os/arch[/variant] image of an index (default: the whole image)",
       cxxopts::value<std::string>())
      ("digest-file", "write the pushed manifest digest(s) to FILE, one a line", cxxopts::value<std::string>())
      ("sync", "mirror every 'SRC DEST' pair listed in FILE ('-': stdin)", cxxopts::value<std::string>())
      ("parallel-images", "--sync: images copied at once", cxxopts::value<int>()->default_value("3"))
      ("args", "SRC [DEST]", cxxopts::value<std::vector<std::string>>());
  hoist::cli::add_registry_options(opts, false);
  opts.parse_positional({"args"});

  return hoist::cli::run(argc, argv, opts, [](hoist::cli::Context& ctx, const cxxopts::ParseResult& args)
                                               -> Result<int> {
    std::vector<std::string> pos;
    if (args.count("args")) pos = args["args"].as<std::vector<std::string>>();

    tp::PushOptions po;
    po.copy.jobs = ctx.jobs();
    po.copy.all_platforms = true;
    po.copy.stop = ctx.stop_token();
    po.store_dir = ctx.store_dir();
    po.parallel_images = std::max(1, args["parallel-images"].as<int>());
    if (args.count("tag")) po.tags = args["tag"].as<std::vector<std::string>>();
    for (const auto& t : po.tags)
      if (!hoist::ref::valid_tag(t)) return hoist::fail(Errc::kUsage, fmt::format("invalid --tag '{}'", t));
    if (args.count("format")) {
      auto f = hoist::image::parse_format(args["format"].as<std::string>());
      if (!f) return hoist::fail(Errc::kUsage, fmt::format("invalid --format '{}': use oci or v2s2",
                                                           args["format"].as<std::string>()));
      po.format = *f;
    }
    if (args.count("platform")) {
      po.copy.all_platforms = false;
      po.copy.platform = HOIST_TRY(hoist::ref::parse_platform(args["platform"].as<std::string>()));
    }
    auto registries = HOIST_TRY(tp::open_registries(hoist::cli::registry_options(args)));

    std::vector<std::string> digests;
    auto emit = [&](const std::string& source, const std::string& dest, const tp::PushResult* r,
                    const hoist::Error* err) {
      if (ctx.json()) {
        ctx.print_json(result_json(source, dest, r, err));
      } else if (r) {
        ctx.print_line(r->copy.pinned());
      }
      if (r) digests.push_back(r->copy.root.digest.str());
    };
    auto write_digests = [&]() -> Result<> {
      if (!args.count("digest-file")) return {};
      std::string text;
      for (const auto& d : digests) text += d + "\n";
      return hoist::sys::write_file_atomic(args["digest-file"].as<std::string>(), text);
    };

    if (args.count("sync")) {
      if (!pos.empty()) return hoist::fail(Errc::kUsage, "--sync takes its sources and destinations from FILE: "
                                                         "give no SRC or DEST");
      std::string file = args["sync"].as<std::string>();
      std::string text;
      if (file == "-") {
        std::string line;
        while (std::getline(std::cin, line)) text += line + "\n";
      } else {
        text = HOIST_TRY(hoist::sys::read_file(file, size_t{16} << 20));
      }
      auto entries = HOIST_TRY(tp::parse_sync_list(text));
      if (entries.empty()) return hoist::fail(Errc::kUsage, fmt::format("sync list '{}' is empty", file));
      auto sum = tp::sync(*registries, entries, po, ctx.progress(), [&](const tp::SyncOutcome& o) {
        const hoist::Error* err = o.error ? &*o.error : nullptr;
        emit(o.source, o.dest, o.result ? &*o.result : nullptr, err);
        std::string at = fmt::format("line {}", o.entry->line);
        if (err)
          ctx.warn(fmt::format("hoist-push: {}: {} -> {}: failed: {}", at, o.source,
                               o.dest.empty() ? o.entry->dest : o.dest, err->message()));
        else if (o.result->skipped)
          ctx.say(fmt::format("{}: {} -> {}: already there", at, o.source, o.dest));
        else
          ctx.say(fmt::format("{}: {} -> {}: copied", at, o.source, o.dest));
      });
      HOIST_CHECK(write_digests());
      if (ctx.stop_token().stop_requested()) return hoist::fail(Errc::kCancelled, "interrupted");
      ctx.warn(fmt::format("hoist-push: sync: {} copied, {} skipped (already there), {} failed", sum.copied,
                           sum.skipped, sum.failed));
      return sum.failed > 0 ? hoist::cli::kExitFailed : hoist::cli::kExitOk;
    }

    if (pos.empty()) return hoist::fail(Errc::kUsage, "no source: hoist-push SRC [DEST] (see --help)");
    if (pos.size() > 2) return hoist::fail(Errc::kUsage, "too many arguments: hoist-push SRC [DEST]");
    std::string dest = pos.size() == 2 ? pos[1] : "";

    // Which images: one SRC, or the lines of stdin.
    std::vector<tp::PushSource> sources;
    bool many = false;
    std::vector<std::string> texts = pos[0] == "-" ? HOIST_TRY(ctx.image_args({"-"})) : std::vector{pos[0]};
    for (const auto& t : texts) {
      bool m = false;
      auto s = HOIST_TRY(tp::open_push_sources(*registries, t, po.store_dir, &m));
      many = many || m;
      for (auto& one : s) sources.push_back(std::move(one));
    }
    bool prefix = many || sources.size() > 1 || tp::is_prefix(dest);

    // Destinations first: a naming problem is found before anything is sent.
    std::vector<std::string> dests;
    for (const auto& s : sources) {
      if (!dest.empty()) {
        dests.push_back(HOIST_TRY_CTX(tp::destination_for(dest, *s.source, prefix), s.label));
        continue;
      }
      if (s.source->name().empty())
        return hoist::fail(Errc::kUsage, fmt::format("{} records no repository name: give a DEST", s.label));
      std::string own = s.source->name() + ":" + (s.source->tag().empty() ? "latest" : s.source->tag());
      dests.push_back(own);
    }
    if (!po.tags.empty() && sources.size() > 1)
      ctx.say(fmt::format("--tag applies to each of the {} images", sources.size()));

    for (size_t i = 0; i < sources.size(); ++i) {
      auto r = tp::push_image(*registries, *sources[i].source, dests[i], po, ctx.progress());
      if (!r) {
        HOIST_CHECK(write_digests());
        return hoist::fail(std::move(r).error().context(fmt::format("cannot push {} to '{}'", sources[i].label,
                                                                    dests[i])));
      }
      emit(sources[i].label, dests[i], &*r, nullptr);
    }
    HOIST_CHECK(write_digests());
    return hoist::cli::kExitOk;
  }, kEpilog);
}
