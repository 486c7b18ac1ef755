#pragma once
// Typed Dockerfile commands from the syntax tree: BuildKit's instructions.Parse
// (frontend/dockerfile/instructions). Values are as written: quotes, escapes and $VARs
// in ENV/LABEL/COPY/... arguments are still there; expand.h's expand_command turns them
// into what the build uses, with the variables visible at that step.
//
// Per instruction (BuildKit's rules; its messages, with a lower-case first word as
// STYLE.md asks: "chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"):
//   FROM [--platform=P] base [AS name]   one or three arguments; name lower-cased and
//                          matching ^[a-z][a-z0-9-_.]*$
//   RUN [--mount=... --network=default|none|host --security=sandbox|insecure
//        --device=...] cmd | ["exec", ...]        heredocs become `files`
//   CMD / ENTRYPOINT cmd | [...]
//   SHELL ["exe", ...]     the JSON form only ("SHELL requires the arguments to be in JSON form")
//   COPY [--from= --chown= --chmod= --link --exclude=... --parents] src... dest
//   ADD  [--chown= --chmod= --link --exclude=... --keep-git-dir --checksum= --unpack] src... dest
//                          at least two arguments; a heredoc source becomes `contents`
//                          ("<<-" tabs already stripped), a heredoc destination is an error
//   ENV k=v ... | ENV k v words    LABEL k=v ...     pairs in order; blank keys are errors
//   ARG name[=default] ...         EXPOSE port ...   (sorted, as BuildKit)
//   VOLUME ["/a", ...] | /a /b     no empty entries
//   WORKDIR / USER / STOPSIGNAL / MAINTAINER  exactly one argument
//   HEALTHCHECK NONE | [--interval= --timeout= --start-period= --start-interval=
//                      --retries=] CMD cmd | CMD ["exec", ...]
//                          durations are Go durations ("1m30s", "500ms"), at least 1ms
//                          unless 0, stored in nanoseconds like docker's image config;
//                          the test is {"CMD-SHELL", cmd} or {"CMD", exec...}
//   ONBUILD <instruction>  kept as text (with its heredocs) for the child build; ONBUILD
//                          ONBUILD, ONBUILD FROM and ONBUILD MAINTAINER are errors
// Errors are kInvalidArgument "FILE:LINE:1: message", e.g.
// "Dockerfile:3:1: WORKDIR requires exactly one argument".
// Value types; thread-compatible.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "dockerfile/parser.h"
#include "util/result.h"

namespace hoist::dockerfile {

// Where a command came from, and its text: "RUN make" for "Dockerfile:12: RUN make".
struct CommandInfo {
  std::string file;      // the file name given to the parser: "Dockerfile"
  std::string keyword;   // lower case: "run"
  std::string original;  // the joined instruction text, trimmed
  int start_line = 0;
  int end_line = 0;
  std::vector<std::string> comments;  // comment lines directly above
};

struct KeyValue {
  std::string key;
  std::string value;
  bool legacy = false;  // written "ENV key value" (no '=')
  bool operator==(const KeyValue&) const = default;
};

struct ArgDef {
  std::string key;
  std::optional<std::string> value;  // the default, when given
  bool operator==(const ArgDef&) const = default;
};

// A command line that a shell may run (BuildKit's ShellDependantCmdLine).
struct CommandLine {
  std::vector<std::string> args;  // exec form: the array; shell form: one string
  bool prepend_shell = true;      // shell form: run as SHELL + args
  std::vector<Heredoc> files;     // RUN heredocs, content as written (see Heredoc::chomp)
};

// An inline COPY/ADD source (a heredoc).
struct SourceContent {
  std::string path;  // the heredoc name: the file name it is written as
  std::string data;  // content, "<<-" tabs already removed
  bool expand = true;
  bool operator==(const SourceContent&) const = default;
};

struct RunCmd {
  CommandInfo info;
  CommandLine cmd;
  std::vector<std::string> mounts;   // --mount values, as written (CSV; runmount.h parses them)
  std::string network = "default";  // --network
  std::string security = "sandbox"; // --security
  std::vector<std::string> devices;  // --device values
  std::vector<std::string> flags_used;
};

struct CopyCmd {
  CommandInfo info;
  std::vector<std::string> sources;
  std::vector<SourceContent> contents;
  std::string dest;
  std::string from;   // --from: a stage name or index, or an image
  std::string chown;
  std::string chmod;
  bool link = false;
  std::vector<std::string> excludes;
  bool parents = false;
};

struct AddCmd {
  CommandInfo info;
  std::vector<std::string> sources;
  std::vector<SourceContent> contents;
  std::string dest;
  std::string chown;
  std::string chmod;
  bool link = false;
  std::vector<std::string> excludes;
  std::optional<bool> keep_git_dir;  // only when given
  std::string checksum;
  std::optional<bool> unpack;        // only when given
};

struct EnvCmd {
  CommandInfo info;
  std::vector<KeyValue> env;
};
struct ArgCmd {
  CommandInfo info;
  std::vector<ArgDef> args;
};
struct LabelCmd {
  CommandInfo info;
  std::vector<KeyValue> labels;
};
struct WorkdirCmd {
  CommandInfo info;
  std::string path;
};
struct UserCmd {
  CommandInfo info;
  std::string user;
};
struct CmdCmd {
  CommandInfo info;
  CommandLine cmd;
};
struct EntrypointCmd {
  CommandInfo info;
  CommandLine cmd;
};
struct ExposeCmd {
  CommandInfo info;
  std::vector<std::string> ports;  // as written; expand_command splits and expands them
};
struct VolumeCmd {
  CommandInfo info;
  std::vector<std::string> volumes;
};
struct StopsignalCmd {
  CommandInfo info;
  std::string signal;
};
struct ShellCmd {
  CommandInfo info;
  std::vector<std::string> shell;
};

// docker's HealthConfig: durations in nanoseconds, 0 meaning "inherit / default".
struct Healthcheck {
  std::vector<std::string> test;  // {"NONE"}, {"CMD-SHELL", "cmd"}, {"CMD", "exe", ...}
  int64_t interval_ns = 0;
  int64_t timeout_ns = 0;
  int64_t start_period_ns = 0;
  int64_t start_interval_ns = 0;
  int retries = 0;
  bool operator==(const Healthcheck&) const = default;
};
struct HealthcheckCmd {
  CommandInfo info;
  Healthcheck health;
};

struct OnbuildCmd {
  CommandInfo info;
  // The trigger as a Dockerfile fragment, "RUN make" (heredoc bodies appended): what
  // the image config's OnBuild list stores, parsed again by parse_instruction.
  std::string expression;
};
struct MaintainerCmd {
  CommandInfo info;
  std::string maintainer;
};

using Command = std::variant<RunCmd, CopyCmd, AddCmd, EnvCmd, ArgCmd, LabelCmd, WorkdirCmd, UserCmd, CmdCmd,
                             EntrypointCmd, ExposeCmd, VolumeCmd, StopsignalCmd, ShellCmd, HealthcheckCmd,
                             OnbuildCmd, MaintainerCmd>;

const CommandInfo& info(const Command& c);
CommandInfo& info(Command& c);

struct Stage {
  std::string base_name;  // as written: "alpine:${V}", "builder", "scratch"
  std::string name;       // "AS name", lower case; "" when unnamed
  std::string platform;   // --platform, as written
  size_t index = 0;       // position among the stages
  CommandInfo info;       // the FROM instruction
  std::vector<Command> commands;
};

struct Dockerfile {
  std::vector<ArgCmd> global_args;  // ARGs before the first FROM
  std::vector<Stage> stages;
  char escape = kDefaultEscape;
  std::vector<Directive> directives;
  std::vector<ParseWarning> warnings;

  // A stage by name (case-insensitive, as BuildKit) or nullptr.
  const Stage* find_stage(std::string_view name) const;
};

// One node (not FROM) as a command. file_name is for messages.
Result<Command> parse_command(const Node& node, std::string_view file_name = "Dockerfile");

// The stages and global ARGs of a parsed file.
Result<Dockerfile> build_dockerfile(const Ast& ast, std::string_view file_name = "Dockerfile");

// parse() then build_dockerfile().
Result<Dockerfile> parse_dockerfile(std::string_view text, std::string_view file_name = "Dockerfile");

// Exactly one instruction (heredoc bodies included), e.g. an ONBUILD trigger from a base
// image's config, parsed with the default escape character as BuildKit does. FROM is
// not a command here; more or fewer than one instruction is an error.
Result<Command> parse_instruction(std::string_view text, std::string_view file_name = "Dockerfile",
                                  char escape = kDefaultEscape);

// Go's time.ParseDuration, in nanoseconds ("1h2m3.5s", "-1.5ms", "0"); kInvalidArgument
// for malformed or out-of-range text.
Result<int64_t> parse_go_duration(std::string_view text);

}  // namespace hoist::dockerfile
