#pragma once
// hoist-build's command line: the option table (also what --help shows) and
// its translation into build::BuildOptions and build::OutputOptions.

#include "cli/cxxopts.h"

#include <string>

#include "build/options.h"
#include "build/output.h"
#include "cli/tool.h"

namespace hoist::build_tool {

extern const std::string_view kEpilog;

void add_options(cxxopts::Options& opts);

struct Parsed {
  build::BuildOptions build;
  build::OutputOptions output;
  std::string iidfile, digest_file, metadata_file;
};

// Reads the Dockerfile (-f, "-" for stdin) and the .dockerignore that goes with
// it. kUsage for a bad option value; kInvalidArgument for a context that is not
// a directory or a missing Dockerfile.
Result<Parsed> parse(cli::Context& ctx, const cxxopts::ParseResult& args);

// --iidfile, --digest-file, --metadata-file; and stdout (the pinned line, or
// one JSON object with --json).
Result<> report(cli::Context& ctx, const Parsed& p, const build::BuildResult& built, const build::Delivered& out);

}  // namespace hoist::build_tool
