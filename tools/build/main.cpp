// hoist-build [OPTIONS] [CONTEXT]: a Dockerfile and its context -> an OCI
// image in the store (and --output, --push); prints one NAME@sha256:... line.

#include <unistd.h>

#include <cstdlib>
#include <optional>

#include <fmt/core.h>

#include "build/executor.h"
#include "build/output.h"
#include "cli/step_progress.h"
#include "options.h"
#include "sys/overlay.h"
#include "sys/sealed_exe.h"
#include "sys/userns.h"
#include "store/store.h"
#include "util/log.h"

int main(int argc, char** argv) {
  // RUN steps clone their init from this process: it must run from a sealed
  // image of itself (CVE-2019-5736), and mount its step overlays in a mount
  // namespace of its own, so that a killed build leaves none behind. As an
  // ordinary user it first becomes root of a user namespace of its own
  // (sys/userns.h: the /etc/subuid ranges through newuidmap, else one id).
  // All of it needs the process to have one thread: before cli::run.
  if (auto sealed = hoist::sys::seal_exe(argv, environ); !sealed) {
    fmt::print(stderr, "hoist-build: error: {}\n", sealed.error().to_string());
    return hoist::cli::kExitFailed;
  }
  std::optional<hoist::sys::UserNamespace> userns;
  std::optional<hoist::Error> cannot;  // reported when a build is asked for (not for --help)
  // CAP_SYS_ADMIN (21) mounts the overlays: root without it (a CI job's
  // container) builds in a user namespace too.
  if (::geteuid() != 0 || !hoist::sys::has_effective_cap(21)) {
    // The store stays the user's: uid 0 of the namespace would pick /var/lib/hoist.
    if (!std::getenv("HOIST_STORE")) ::setenv("HOIST_STORE", hoist::store::default_store_dir().c_str(), 1);
    if (auto ns = hoist::sys::enter_user_namespace()) userns = std::move(*ns);
    else cannot = std::move(ns).error();
  }
  if (!cannot) {
    if (auto ns = hoist::sys::enter_private_mount_namespace(); !ns) cannot = std::move(ns).error();
  }
  cxxopts::Options opts("hoist-build", "Build an image from a Dockerfile, without a daemon");
  hoist::build_tool::add_options(opts);
  return hoist::cli::run(argc, argv, opts, [&](hoist::cli::Context& ctx, const cxxopts::ParseResult& args)
                                               -> hoist::Result<int> {
    auto p = HOIST_TRY(hoist::build_tool::parse(ctx, args));
    if (cannot) return hoist::fail(hoist::Error(*cannot).context("cannot build here"));
    if (userns) {
      hoist::log::info("unprivileged: user namespace {}", userns->describe());
      auto inside = [](const std::vector<hoist::sys::IdRange>& rs) {
        std::string out;
        for (const auto& r : rs) out += fmt::format("{}{}-{}", out.empty() ? "" : ",", r.inside, r.inside + r.count - 1);
        return out;
      };
      p.build.id_map = "uid " + inside(userns->uids) + ", gid " + inside(userns->gids);
      if (!userns->subordinate)
        p.build.warnings.push_back("RUN steps get one user and group (0): chown to another id fails, and files "
                                   "the images give to other ids are owned by 0 (" + userns->why_single + ")");
    }
    auto steps = hoist::cli::make_step_progress(ctx.progress_mode());
    auto built = HOIST_TRY(hoist::build::build(p.build, *steps, ctx.progress()));
    auto out = HOIST_TRY(hoist::build::deliver(built, p.output, ctx.progress()));
    HOIST_CHECK(hoist::build_tool::report(ctx, p, built, out));
    return hoist::cli::kExitOk;
  }, hoist::build_tool::kEpilog);
}
