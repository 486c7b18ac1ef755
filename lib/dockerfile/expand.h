#pragma once
// The builder's variable expansion, per instruction, as BuildKit's dispatcher applies
// it (dockerfile2llb/convert.go: dispatch, dispatchArg, dispatchExpose, toCommand).
// The lexer itself is lex.h.
//
// expand_command, with `env` the variables a step sees (the stage's ENV and ARG values
// before the instruction) and the Dockerfile's escape character:
//   ENV, LABEL      every key and value, each from the values before the instruction:
//                   "ENV A=1 B=$A" gives B the A from before, not "1"
//   COPY            --chown, --chmod, sources, destination; --from must contain no
//                   variables (an error, as BuildKit); --exclude is not expanded
//   ADD             --chown, --chmod, --checksum, sources, destination
//   COPY/ADD heredocs  their content, unless the delimiter was quoted, with '\' as the
//                   escape and quotes kept (BuildKit's ExpandRaw); "\$X" stays "$X"
//   WORKDIR, USER, STOPSIGNAL, VOLUME  their arguments
//   EXPOSE          each port split into words after expansion ("$PORTS" -> 80 443)
//   RUN             each --mount field value (CSV fields re-joined); the command line
//                   and its heredocs are left to the shell
//   ARG             each default in order, later ones seeing earlier ones of the same
//                   instruction ("ARG A=1 B=$A" gives B=1); keys are not expanded.
//                   Build-arg overrides and global-ARG inheritance: resolve_args.
//   CMD, ENTRYPOINT, SHELL, HEALTHCHECK, ONBUILD, MAINTAINER  unchanged
// Errors are kInvalidArgument, "FILE:LINE:1: failed to process \"${A\": ...".
// `referenced`, when given, collects every variable name looked up (set or not): the
// build arguments the step's cache key depends on.

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "dockerfile/instructions.h"
#include "dockerfile/lex.h"

namespace hoist::dockerfile {

Result<> expand_command(Command& cmd, const Lookup& env, char escape = kDefaultEscape,
                        std::set<std::string>* referenced = nullptr);

// FROM: the base name and --platform expanded with the global ARGs (those before the
// first FROM); an empty result is "base name (X) should not be blank".
Result<> expand_stage(Stage& stage, const Lookup& global_args, char escape = kDefaultEscape,
                      std::set<std::string>* referenced = nullptr);

struct ResolvedArg {
  std::string key;
  std::optional<std::string> value;  // nullopt: declared but without a value
  bool from_build_arg = false;       // the value came from --build-arg
};

// dispatchArg for one ARG inside a stage: per name, in order, a --build-arg value wins
// (unexpanded); else the default expanded with `env` plus the names resolved before it
// in this instruction; else, for a name without a default, the global ARG's value.
Result<std::vector<ResolvedArg>> resolve_args(const ArgCmd& arg, const Lookup& env, const Lookup& build_args,
                                              const Lookup& global_args, char escape = kDefaultEscape,
                                              std::set<std::string>* referenced = nullptr);

}  // namespace hoist::dockerfile
