#pragma once
// Rendering a build's steps (util/step_progress.h) on stderr:
//   plain (CI logs; also on a terminal, "tty"/"bars": each line as it comes)
//     #3 [stage-0 3/7] RUN make
//     #3 | cc -o app main.c
//     #3 CACHED
//     #3 DONE 1.2s
//     #3 ERROR: ...
//     WARNING: ...
//   json: one object a line: {"event":"started"|"output"|"cached"|"done"|
//     "failed"|"warning"|"note", "step":N, "total":T, "stage", "location",
//     "text", "line", "seconds", "error", "message"} (schemas/hoist-build-progress
//     .schema.json)
//   none: nothing.
// Thread-safe: output lines come from the RUN reader's thread.

#include <memory>

#include "cli/tool.h"
#include "util/step_progress.h"

namespace hoist::cli {

std::unique_ptr<StepProgress> make_step_progress(ProgressMode mode);

}  // namespace hoist::cli
