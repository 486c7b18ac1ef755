// hoist-build's option table and what the options mean for the library.

#include "options.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "build/remote_cache.h"
#include "cli/registry_options.h"
#include "ref/platform.h"
#include "ref/reference.h"
#include "sys/file_io.h"
#include "util/strings.h"

namespace hoist::build_tool {

const std::string_view kEpilog = R"(
CONTEXT is the directory COPY and ADD read from (default: .); it is read in
place, never copied. .dockerignore in it leaves files out (FILE.dockerignore
beside a -f FILE wins).

Every step that makes a layer (RUN, COPY, ADD, WORKDIR) is cached in the store:
unchanged inputs rebuild in the time it takes to hash the context. Builds are
reproducible: created times, history and the mtimes of files in new layers are
SOURCE_DATE_EPOCH (the environment or --source-date-epoch), else 0
(1970-01-01T00:00:00Z); --timestamp now uses the clock instead.

Examples:
  hoist-build -t 127.0.0.1:5000/team/app:1 .
  hoist-build -t 127.0.0.1:5000/team/app:1 --push --build-arg VERSION=1.2 .
  hoist-build -f - . < Dockerfile.dev
  hoist-build --target builder --output oci:./layout:app .
  hoist-build -t app:1 . | hoist-unpack - ./bundle && hoist-run run -b ./bundle c1

stdout carries one NAME@sha256:... line (sha256:... without -t; a JSON object
with --json); the steps and errors go to stderr (--progress plain in CI logs,
json for one event a line). Exit status: 0 built, 1 build failed, 2 usage,
130 interrupted.)";

void add_options(cxxopts::Options& opts) {
  opts.custom_help("[OPTIONS]");
  opts.positional_help("[CONTEXT]");
  opts.add_options()
      ("f,file", "the Dockerfile (default CONTEXT/Dockerfile; - reads stdin)", cxxopts::value<std::string>())
      ("t,tag", "name the image NAME[:TAG] (repeatable); recorded in the store", cxxopts::value<std::vector<std::string>>())
      ("build-arg", "K=V for an ARG (repeatable); K alone takes $K from the environment",
       cxxopts::value<std::vector<std::string>>())
      ("target", "build this stage (and what it needs), not the last", cxxopts::value<std::string>())
      ("label", "K=V label on the image (repeatable)", cxxopts::value<std::vector<std::string>>())
      ("no-cache", "run every step; still record the results in the cache")
      ("pull", "missing | always | never: when to pull FROM images",
       cxxopts::value<std::string>()->default_value("missing"))
      ("platform", "os/arch to build for: this host's only", cxxopts::value<std::string>())
      ("o,output", "store | oci:DIR[:TAG] | oci-archive:FILE|- | docker-archive:FILE",
       cxxopts::value<std::string>()->default_value("store"))
      ("push", "push every --tag to its registry after the build")
      ("format", "oci | docker (Docker v2 schema 2 manifest and config)",
       cxxopts::value<std::string>()->default_value("oci"))
      ("iidfile", "write the image ID (the config's digest) to FILE", cxxopts::value<std::string>())
      ("digest-file", "write the manifest's digest to FILE", cxxopts::value<std::string>())
      ("metadata-file", "write the build's metadata as JSON to FILE (digests, tags, each step's cache hit and time)",
       cxxopts::value<std::string>())
      ("secret", "id=ID,src=FILE or id=ID,env=VAR: a secret for RUN --mount=type=secret,id=ID (repeatable); "
       "id=ID alone reads $ID, else the file ID. Never in a layer, the cache or the logs",
       cxxopts::value<std::vector<std::string>>())
      ("cache-from", "read build cache records from the registry repository REF when the local cache misses "
       "(repeatable; REF or type=registry,ref=REF)", cxxopts::value<std::vector<std::string>>())
      ("cache-to", "write every step's cache record and layer to the registry repository REF (REF or "
       "type=registry,ref=REF)", cxxopts::value<std::string>())
      ("network", "host | none: the network RUN steps get", cxxopts::value<std::string>()->default_value("host"))
      ("source-date-epoch", "unix time for created times and file mtimes (default $SOURCE_DATE_EPOCH, else 0)",
       cxxopts::value<std::string>())
      ("timestamp", "now: use the clock for created times and mtimes (not reproducible)",
       cxxopts::value<std::string>())
      ("context", "CONTEXT", cxxopts::value<std::string>()->default_value("."));
  opts.parse_positional({"context"});
  cli::add_registry_options(opts, true);
}

namespace {

std::vector<std::string> many(const cxxopts::ParseResult& args, const char* name) {
  return args.count(name) ? args[name].as<std::vector<std::string>>() : std::vector<std::string>{};
}

Result<int64_t> parse_epoch(const std::string& text, const char* what) {
  auto v = parse_u64(trim(text));
  if (!v || *v > uint64_t(INT64_MAX)) return fail(Errc::kUsage, std::string(what) + ": not a unix time: '" + text + "'");
  return int64_t(*v);
}

// --secret id=ID[,src=FILE|,env=VAR][,type=file|env] (buildx's syntax).
Result<std::pair<std::string, std::string>> read_secret(const std::string& text) {
  auto usage = [&](std::string why) {
    return fail(Errc::kUsage, "--secret '" + text + "': " + why + " (want id=ID,src=FILE or id=ID,env=VAR)");
  };
  std::string id, src, env, type;
  for (auto field : split(text, ',')) {
    auto eq = field.find('=');
    if (eq == std::string_view::npos) return usage("'" + std::string(field) + "' is not KEY=VALUE");
    std::string k(field.substr(0, eq)), v(field.substr(eq + 1));
    if (k == "id") id = v;
    else if (k == "src" || k == "source") src = v;
    else if (k == "env") env = v;
    else if (k == "type") type = v;
    else return usage("unknown key '" + k + "'");
  }
  if (type == "file" && !src.empty() && !env.empty()) return usage("src= and env= both given");
  if (type == "env" && env.empty()) {
    env = src.empty() ? id : src;  // type=env,src=VAR
    src.clear();
  }
  if (type == "file" && src.empty()) src = id;
  if (!type.empty() && type != "file" && type != "env") return usage("type is file or env");
  if (id.empty()) id = !env.empty() ? env : src.substr(src.rfind('/') + 1);
  if (id.empty()) return usage("no id");
  if (!src.empty() && !env.empty()) return usage("src= and env= both given");
  if (!src.empty()) {
    auto v = HOIST_TRY_CTX(sys::read_file(src, 500 << 10), "--secret id=" + id + ": cannot read '" + src + "'");
    return std::pair{id, std::move(v)};
  }
  std::string var = env.empty() ? id : env;
  const char* v = std::getenv(var.c_str());
  if (!v && env.empty() && type.empty() && sys::exists(id)) {
    // buildx: id=X alone is $X, else the file X.
    auto f = HOIST_TRY_CTX(sys::read_file(id, 500 << 10), "--secret id=" + id + ": cannot read '" + id + "'");
    return std::pair{id, std::move(f)};
  }
  if (!v) return usage("$" + var + " is not set");
  return std::pair{id, std::string(v)};
}

Result<std::string> read_dockerfile(const std::string& path) {
  if (path == "-") return std::string(std::istreambuf_iterator<char>(std::cin), {});
  return HOIST_TRY_CTX(sys::read_file(path, 16 << 20), "cannot read Dockerfile");
}

}  // namespace

Result<Parsed> parse(cli::Context& ctx, const cxxopts::ParseResult& args) {
  Parsed p;
  build::BuildOptions& b = p.build;
  b.context_dir = args["context"].as<std::string>();
  struct stat st;
  if (::stat(b.context_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return fail(Errc::kInvalidArgument, "build context '" + b.context_dir + "' is not a directory");
  std::string file = args.count("file") ? args["file"].as<std::string>() : b.context_dir + "/Dockerfile";
  b.dockerfile = HOIST_TRY(read_dockerfile(file));
  b.dockerfile_name = file == "-" ? "Dockerfile" : file.starts_with("./") ? file.substr(2) : file;
  for (const auto& ign : {file + ".dockerignore", b.context_dir + "/.dockerignore"}) {
    if (file == "-" && ign == file + ".dockerignore") continue;
    if (auto text = sys::read_file(ign, 16 << 20)) {
      b.ignore_text = std::move(*text);
      b.ignore_name = ign;
      break;
    }
  }
  for (const auto& a : many(args, "build-arg")) {
    auto eq = a.find('=');
    if (eq != std::string::npos) {
      b.build_args.emplace_back(a.substr(0, eq), a.substr(eq + 1));
    } else if (const char* v = std::getenv(a.c_str())) {
      b.build_args.emplace_back(a, v);
    }
  }
  for (const auto& sec : many(args, "secret")) {
    auto [id, value] = HOIST_TRY(read_secret(sec));
    b.secrets[id] = std::move(value);
  }
  for (const auto& l : many(args, "label")) {
    auto eq = l.find('=');
    if (eq == std::string::npos || eq == 0) return fail(Errc::kUsage, "--label '" + l + "': want KEY=VALUE");
    b.labels[l.substr(0, eq)] = l.substr(eq + 1);
  }
  if (args.count("target")) b.target = args["target"].as<std::string>();
  b.no_cache = args.count("no-cache") > 0;
  std::string pull = args["pull"].as<std::string>();
  if (pull == "missing" || pull == "false") b.pull = build::PullPolicy::kMissing;
  else if (pull == "always" || pull == "true") b.pull = build::PullPolicy::kAlways;
  else if (pull == "never") b.pull = build::PullPolicy::kNever;
  else return fail(Errc::kUsage, "--pull '" + pull + "': use missing, always or never");
  if (args.count("platform")) {
    auto want = HOIST_TRY(ref::parse_platform(args["platform"].as<std::string>()));
    auto host = ref::host_platform();
    if (!ref::matches(host, want))
      return fail(Errc::kUsage, "--platform " + args["platform"].as<std::string>() +
                                    ": this host builds only for its own platform, " + host.os + "/" + host.architecture);
  }
  std::string format = args["format"].as<std::string>();
  if (format == "oci") b.format = build::ImageFormat::kOci;
  else if (format == "docker" || format == "v2s2") b.format = build::ImageFormat::kDocker;
  else return fail(Errc::kUsage, "--format '" + format + "': use oci or docker");
  std::string net = args["network"].as<std::string>();
  if (net != "host" && net != "none" && net != "default") return fail(Errc::kUsage, "--network '" + net + "': use host or none");
  b.network_none = net == "none";
  if (const char* e = std::getenv("SOURCE_DATE_EPOCH"); e && *e) b.source_date_epoch = HOIST_TRY(parse_epoch(e, "SOURCE_DATE_EPOCH"));
  if (args.count("source-date-epoch"))
    b.source_date_epoch = HOIST_TRY(parse_epoch(args["source-date-epoch"].as<std::string>(), "--source-date-epoch"));
  if (args.count("timestamp")) {
    std::string t = args["timestamp"].as<std::string>();
    if (t == "now") b.timestamp_now = true;
    else b.source_date_epoch = HOIST_TRY(parse_epoch(t, "--timestamp"));
  }
  for (const auto& c : many(args, "cache-from")) b.cache_from.push_back(HOIST_TRY(build::parse_cache_ref(c, "--cache-from")));
  if (args.count("cache-to")) b.cache_to = HOIST_TRY(build::parse_cache_ref(args["cache-to"].as<std::string>(), "--cache-to"));
  b.store_dir = ctx.store_dir();
  b.registry = cli::registry_options(args);
  b.jobs = ctx.jobs();
  b.stop = ctx.stop_token();

  build::OutputOptions& o = p.output;
  o.tags = many(args, "tag");
  o.output = args["output"].as<std::string>();
  o.push = args.count("push") > 0;
  o.registry = b.registry;
  o.store_dir = b.store_dir;
  o.jobs = b.jobs;
  o.stop = b.stop;
  if (o.push && o.tags.empty()) return fail(Errc::kUsage, "--push needs a --tag naming where to push");
  if (o.push && o.output == "store") {
    for (const auto& t : o.tags) {
      auto r = HOIST_TRY_CTX(ref::parse_reference(t), "invalid --tag '" + t + "'");
      b.push_registries.push_back(r.registry());
    }
  }
  if (args.count("iidfile")) p.iidfile = args["iidfile"].as<std::string>();
  if (args.count("digest-file")) p.digest_file = args["digest-file"].as<std::string>();
  if (args.count("metadata-file")) p.metadata_file = args["metadata-file"].as<std::string>();
  return p;
}

Result<> report(cli::Context& ctx, const Parsed& p, const build::BuildResult& built, const build::Delivered& out) {
  if (!p.iidfile.empty()) HOIST_CHECK(sys::write_file_atomic(p.iidfile, built.config.digest.str()));
  if (!p.digest_file.empty()) HOIST_CHECK(sys::write_file_atomic(p.digest_file, built.manifest.digest.str()));
  nlohmann::ordered_json steps = nlohmann::ordered_json::array();
  for (const auto& s : built.steps)
    steps.push_back({{"step", s.number}, {"stage", s.stage}, {"location", s.location}, {"instruction", s.instruction},
                     {"cached", s.cached}, {"ran", s.ran}, {"seconds", s.seconds}, {"cacheKey", s.cache_key},
                     {"cacheSource", s.cache_source},       {"cacheMiss", s.cache_miss},
                     {"cacheInputs", s.inputs.empty() ? nlohmann::ordered_json(nullptr)
                                                      : nlohmann::ordered_json::parse(s.inputs)},
                     {"layer", s.layer}});
  nlohmann::ordered_json result = {{"image", out.pinned},       {"digest", built.manifest.digest.str()},
                                   {"config", built.config.digest.str()}, {"tags", out.tags},
                                   {"pushed", out.pushed},       {"warnings", built.warnings}};
  if (!p.build.cache_from.empty() || p.build.cache_to) {
    result["cacheExported"] = built.cache_exported;
    result["cacheBytesFetched"] = built.cache_bytes_fetched;
  }
  if (!p.metadata_file.empty()) {
    nlohmann::ordered_json meta = result;
    meta["containerimage.digest"] = built.manifest.digest.str();
    meta["containerimage.config.digest"] = built.config.digest.str();
    meta["steps"] = steps;
    HOIST_CHECK(sys::write_file_atomic(p.metadata_file, meta.dump(2) + "\n"));
  }
  if (ctx.json()) ctx.print_json(result);
  else ctx.print_line(out.pinned);
  return {};
}

}  // namespace hoist::build_tool
