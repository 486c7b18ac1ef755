// hoist-build [OPTIONS] [CONTEXT]: a Dockerfile and its context -> an OCI
// image in the store (and --output, --push); prints one NAME@sha256:... line.

#include <unistd.h>

#include <fmt/core.h>

#include "build/executor.h"
#include "build/output.h"
#include "cli/step_progress.h"
#include "options.h"
#include "sys/overlay.h"
#include "sys/sealed_exe.h"

int main(int argc, char** argv) {
  // RUN steps clone their init from this process: it must run from a sealed
  // image of itself (CVE-2019-5736), and mount its step overlays in a mount
  // namespace of its own, so that a killed build leaves none behind. Both need
  // the process to have one thread: before cli::run.
  if (::geteuid() == 0) {
    if (auto sealed = hoist::sys::seal_exe(argv, environ); !sealed) {
      fmt::print(stderr, "hoist-build: error: {}\n", sealed.error().to_string());
      return hoist::cli::kExitFailed;
    }
    if (auto ns = hoist::sys::enter_private_mount_namespace(); !ns) {
      fmt::print(stderr, "hoist-build: error: {}\n", ns.error().to_string());
      return hoist::cli::kExitFailed;
    }
  }
  cxxopts::Options opts("hoist-build", "Build an image from a Dockerfile, without a daemon");
  hoist::build_tool::add_options(opts);
  return hoist::cli::run(argc, argv, opts, [](hoist::cli::Context& ctx, const cxxopts::ParseResult& args)
                                               -> hoist::Result<int> {
    auto p = HOIST_TRY(hoist::build_tool::parse(ctx, args));
    if (::geteuid() != 0)
      return hoist::fail(hoist::Errc::kUnsupported, "hoist-build needs root for now (overlay mounts and RUN "
                                                    "namespaces); unprivileged builds are coming");
    auto steps = hoist::cli::make_step_progress(ctx.progress_mode());
    auto built = HOIST_TRY(hoist::build::build(p.build, *steps, ctx.progress()));
    auto out = HOIST_TRY(hoist::build::deliver(built, p.output, ctx.progress()));
    HOIST_CHECK(hoist::build_tool::report(ctx, p, built, out));
    return hoist::cli::kExitOk;
  }, hoist::build_tool::kEpilog);
}
