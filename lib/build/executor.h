#pragma once
// hoist-build's library entry: Dockerfile + context -> an image in the store.
//
// The stages the target needs run in order (a stage runs once, however many
// stages use it); each starts from its base (the store's copy, pulled through
// transport::copy when missing or with --pull always, its layers made into
// snapshots once and shared), and each instruction either changes the config
// (ENV, LABEL, CMD, ... : a history entry with empty_layer) or makes a layer
// (RUN, COPY, ADD, WORKDIR) through the cache (build/cache.h): on a hit the
// layer is reused and nothing runs; on a miss the step runs on an overlay of
// the snapshots below (build/step_root.h, build/run_step.h, build/copy.h),
// and the upper directory becomes the layer (build/layer.h) and the next
// snapshot. The image (config, manifest; OCI or Docker v2s2) is written to
// the store and recorded without a name: build/output.h names and exports it.
//
// Reproducible: every time written is BuildOptions::source_date_epoch (file
// mtimes in new layers are clamped to it) unless timestamp_now.
//
// Errors: kInvalidArgument for a Dockerfile that does not parse or make sense
// ("Dockerfile:12:1: unknown instruction \"FROOB\"") before anything runs;
// a failing RUN is kInternal "Dockerfile:7: RUN make: exit status 2" with the
// last lines of its output appended; kCancelled when stopped. A failed or
// stopped build leaves no mount (the caller's private mount namespace), no
// process and no ref; the layers it finished stay in the cache.

#include "build/options.h"
#include "util/step_progress.h"
#include "util/progress.h"
#include "util/result.h"

namespace hoist::build {

Result<BuildResult> build(const BuildOptions& options, StepProgress& progress, ProgressSink& transfers);

}  // namespace hoist::build
