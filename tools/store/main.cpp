// hoist-store ls|tag|rm|df: what the store holds, new names, names removed,
// the space it takes (store/admin.h).

#include <fmt/core.h>

#include "cli/tool.h"
#include "store/admin.h"
#include "util/strings.h"

namespace {

using hoist::Errc;
using hoist::Result;

constexpr std::string_view kEpilog = R"(
Commands:
  ls [PATTERN] [--digests]  the images the store names (PATTERN: a shell glob on the
                            name, with or without its registry): name, digest, size, created
  tag SRC NEW...            more names for SRC (a name, or NAME@sha256:... / sha256:...)
  rm NAME...                remove names; the blobs stay until a gc
  df                        space taken by blobs, snapshots, partial downloads and cache
                            mounts, and the blobs no name or build cache record reaches

Examples:
  hoist-store ls
  hoist-store ls '*/team/*' --json | jq -r .name
  hoist-store tag 127.0.0.1:5000/team/app:1 127.0.0.1:5000/team/app:stable
  hoist-store rm 127.0.0.1:5000/team/app:1
  hoist-store df

--json prints one object a line (ls: one per image). Exit status: 0 ok, 1 failed
(a name not in the store), 2 usage.)";

Result<int> run_store(hoist::cli::Context& ctx, const cxxopts::ParseResult& args) {
  auto pos = args.count("args") ? args["args"].as<std::vector<std::string>>() : std::vector<std::string>{};
  if (pos.empty()) return hoist::fail(Errc::kUsage, "a command is needed: ls, tag, rm or df");
  std::string cmd = pos[0];
  std::vector<std::string> rest(pos.begin() + 1, pos.end());
  auto store = HOIST_TRY(hoist::store::Store::open(ctx.store_dir().empty() ? hoist::store::default_store_dir()
                                                                            : ctx.store_dir()));
  if (cmd == "ls") {
    if (rest.size() > 1) return hoist::fail(Errc::kUsage, "ls takes one PATTERN");
    auto images = HOIST_TRY(hoist::store::list_images(*store, rest.empty() ? "" : rest[0]));
    if (!ctx.json()) ctx.print_line(fmt::format("{:<60} {:<19} {:>10}  {}", "NAME", "DIGEST", "SIZE", "CREATED"));
    for (const auto& e : images) {
      if (ctx.json()) {
        ctx.print_json({{"name", e.name}, {"digest", e.root.digest.str()}, {"mediaType", e.root.media_type},
                        {"size", e.size}, {"created", e.created}, {"lastUsed", e.last_used}});
      } else {
        std::string d = e.root.digest.str().substr(0, args.count("digests") ? std::string::npos : 19);
        ctx.print_line(fmt::format("{:<60} {:<19} {:>10}  {}", e.name, d, hoist::human_bytes(e.size), e.created));
      }
    }
    return hoist::cli::kExitOk;
  }
  if (cmd == "tag") {
    if (rest.size() < 2) return hoist::fail(Errc::kUsage, "tag needs SRC and at least one NEW name");
    auto root = HOIST_TRY(hoist::store::tag_image(*store, rest[0], {rest.begin() + 1, rest.end()}));
    ctx.say(fmt::format("tagged {} as {} name(s)", root.digest.str(), rest.size() - 1));
    return hoist::cli::kExitOk;
  }
  if (cmd == "rm") {
    if (rest.empty()) return hoist::fail(Errc::kUsage, "rm needs at least one NAME");
    HOIST_CHECK(hoist::store::remove_images(*store, rest));
    return hoist::cli::kExitOk;
  }
  if (cmd == "df") {
    auto u = HOIST_TRY(hoist::store::disk_usage(*store));
    if (ctx.json()) {
      ctx.print_json({{"images", u.images}, {"blobs", u.blobs}, {"blobBytes", u.blob_bytes},
                      {"unreferencedBlobs", u.unreferenced}, {"unreferencedBytes", u.unreferenced_bytes},
                      {"snapshotBytes", u.snapshot_bytes}, {"ingestBytes", u.ingest_bytes},
                      {"cacheMountBytes", u.cache_mount_bytes}, {"cacheRecords", u.cache_records}});
    } else {
      ctx.print_line(fmt::format("images        {}", u.images));
      ctx.print_line(fmt::format("blobs         {} in {} ({} in {} that no name or cache record reaches: what gc "
                                 "would free)", hoist::human_bytes(u.blob_bytes), u.blobs,
                                 hoist::human_bytes(u.unreferenced_bytes), u.unreferenced));
      ctx.print_line(fmt::format("snapshots     {}", hoist::human_bytes(u.snapshot_bytes)));
      ctx.print_line(fmt::format("ingest        {}", hoist::human_bytes(u.ingest_bytes)));
      ctx.print_line(fmt::format("cache mounts  {}", hoist::human_bytes(u.cache_mount_bytes)));
      ctx.print_line(fmt::format("build cache   {} records", u.cache_records));
    }
    return hoist::cli::kExitOk;
  }
  return hoist::fail(Errc::kUsage, "unknown command '" + cmd + "': use ls, tag, rm or df");
}

}  // namespace

int main(int argc, char** argv) {
  cxxopts::Options opts("hoist-store", "See and change what the store holds");
  opts.custom_help("[OPTIONS]");
  opts.positional_help("COMMAND [ARGS...]");
  opts.add_options()("digests", "ls: whole digests")("args", "COMMAND and its arguments",
                                                      cxxopts::value<std::vector<std::string>>());
  opts.parse_positional({"args"});
  return hoist::cli::run(argc, argv, opts, run_store, kEpilog);
}
