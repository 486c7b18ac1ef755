// Validates the JSON hoist writes against schemas/ with tests/tools/validate_json.py
// (python3-jsonschema). Skips, with a message, only when no python3 with jsonschema
// is found.

#include <doctest/doctest.h>
#include <fmt/core.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>
#include <sys/wait.h>

#include "fixtures.h"
#include "image/config.h"
#include "image/convert.h"
#include "image/json_fields.h"
#include "image/manifest.h"
#include "image/media_types.h"
#include "ref/reference.h"

using namespace hoist;
using namespace hoist::image;
namespace fs = std::filesystem;
namespace mt = hoist::image::media_type;

namespace {

fs::path source_root() {
  if (const char* s = std::getenv("HOIST_SRC")) return s;
  // tests/unit/image/schema_test.cpp -> the repository root.
  return fs::path(__FILE__).parent_path().parent_path().parent_path().parent_path();
}

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

int run(const std::string& cmd) {
  int st = std::system(cmd.c_str());
  return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

// A python3 that can import jsonschema, or "".
std::string python() {
  // Debian's own python3 first: it starts faster than a version manager's shim.
  for (std::string py : {"/usr/bin/python3", "python3"}) {
    if (run(py + " -c 'import jsonschema' >/dev/null 2>&1") == 0) return py;
  }
  return {};
}

class Validator {
 public:
  Validator() : py_(python()), root_(source_root()) {
    char tmpl[] = "/tmp/hoist-schema-test-XXXXXX";
    if (mkdtemp(tmpl)) dir_ = tmpl;
  }
  ~Validator() {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }
  bool available() const { return !py_.empty() && !dir_.empty(); }

  // Writes each text to a file of its own and runs validate_json.py SCHEMA FILE...
  // once (python's start-up dominates); returns its exit status. files() and
  // output() tell what it was given and what it said on stderr.
  int validate(const std::string& schema, const std::vector<std::string>& texts) {
    files_.clear();
    std::string args;
    for (const auto& text : texts) {
      files_.push_back(dir_ / fmt::format("doc{}.json", n_++));
      std::ofstream(files_.back()) << text;
      args += " " + quote(files_.back().string());
    }
    fs::path log = dir_ / "stderr.txt";
    std::string cmd = fmt::format("{} {} {}{} 2>{}", py_, quote((root_ / "tests/tools/validate_json.py").string()),
                                  quote((root_ / "schemas" / schema).string()), args, quote(log.string()));
    int status = run(cmd);
    std::ifstream in(log);
    output_.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    return status;
  }
  const std::vector<fs::path>& files() const { return files_; }
  const std::string& output() const { return output_; }

 private:
  std::string py_;
  fs::path root_;
  fs::path dir_;
  int n_ = 0;
  std::vector<fs::path> files_;
  std::string output_;
};

// All texts valid against schema.
#define CHECK_ALL_VALID(v, schema, ...)                          \
  do {                                                           \
    int _st = (v).validate(schema, {__VA_ARGS__});               \
    CHECK_MESSAGE(_st == 0, (v).output());                       \
  } while (0)

// Every text refused: status 1, and each file named in the complaints.
#define CHECK_ALL_REFUSED(v, schema, ...)                                                   \
  do {                                                                                   \
    int _st = (v).validate(schema, {__VA_ARGS__});                                       \
    CHECK_MESSAGE(_st == 1, (v).output());                                               \
    for (const auto& _f : (v).files())                                                   \
      CHECK_MESSAGE((v).output().find(_f.string() + ": at /") != std::string::npos,      \
                    (std::string(_f.string()) + " was accepted: " + (v).output()));      \
  } while (0)

}  // namespace

TEST_CASE("what hoist writes matches schemas/") {
  Validator v;
  if (!v.available()) {
    MESSAGE("skipped: no python3 with jsonschema (apt-get install python3-jsonschema)");
    return;
  }
  REQUIRE(fs::exists(source_root() / "schemas/image-manifest.schema.json"));

  Manifest m = parse_manifest(test::kOciManifest).value();
  m.artifact_type = "application/vnd.example.sbom";
  m.layers[0].platform = ref::parse_platform("linux/arm64/v8").value();
  m.layers[0].urls = {"https://example.com/l"};
  Manifest converted = convert(parse_manifest(test::kDockerManifest).value(), Format::kOci).value().value;
  CHECK_ALL_VALID(v, "image-manifest.schema.json", serialize(m), serialize(converted));

  Index idx = parse_index(test::kOciIndex).value();
  // A layout's index.json is an image index with ref.name annotations.
  Index layout;
  layout.media_type = std::string(mt::kOciIndex);
  Descriptor entry = describe(mt::kOciManifest, serialize(m));
  entry.annotations["org.opencontainers.image.ref.name"] = "v1";
  layout.manifests.push_back(entry);
  CHECK_ALL_VALID(v, "image-index.schema.json", serialize(idx), serialize(layout));
  CHECK_ALL_VALID(v, "layout-index.schema.json", serialize(layout));
  CHECK_ALL_VALID(v, "content-descriptor.schema.json", detail::dump(to_json(entry)));

  ImageConfig fresh;
  fresh.architecture = "amd64";
  fresh.os = "linux";
  fresh.created = "1970-01-01T00:00:00Z";
  fresh.config.entrypoint = std::vector<std::string>{};
  fresh.config.exposed_ports = {"80/tcp"};
  fresh.rootfs.diff_ids.push_back(digest::sha256_of("layer"));
  CHECK_ALL_VALID(v, "image-config.schema.json", serialize(parse_config(test::kDockerConfig).value()),
                  serialize(fresh));

  // hoist-pull --json lines built from References, IPv6 registries included: one
  // file of JSON Lines, as the tool prints them.
  std::string lines;
  Descriptor d = describe(mt::kOciIndex, serialize(idx));
  for (std::string text : {std::string("busybox:latest"), std::string("[::1]:5000/a/b:t"),
                           std::string("127.0.0.1:5000/x"), "ghcr.io/o/r@" + d.digest.str()}) {
    auto r = ref::parse_reference(text).value();
    nlohmann::ordered_json line;
    line["reference"] = r.with_digest(d.digest).str();
    line["name"] = r.name();
    line["digest"] = d.digest.str();
    line["mediaType"] = d.media_type;
    line["size"] = d.size;
    line["platform"] = ref::host_platform().str();
    line["output"] = "oci:/tmp/out";
    lines += detail::dump(line) + "\n";
  }
  CHECK_ALL_VALID(v, "hoist-pull-result.schema.json", lines);
}

TEST_CASE("schemas/ refuse what the spec refuses (the validator really validates)") {
  Validator v;
  if (!v.available()) {
    MESSAGE("skipped: no python3 with jsonschema (apt-get install python3-jsonschema)");
    return;
  }
  nlohmann::ordered_json m = to_json(parse_manifest(test::kOciManifest).value());
  auto bad_size = m;
  bad_size["layers"][0]["size"] = -1;
  auto bad_digest = m;
  bad_digest["config"]["digest"] = "sha256:abc";
  auto docker_type = m;
  docker_type["mediaType"] = mt::kDockerManifest;
  auto v1 = m;
  v1["schemaVersion"] = 1;
  auto fractional = m;
  fractional["config"]["size"] = 1.5;
  CHECK_ALL_REFUSED(v, "image-manifest.schema.json", detail::dump(bad_size), detail::dump(bad_digest),
                    detail::dump(docker_type), detail::dump(v1), detail::dump(fractional));
  // A manifest is not an index, and an index with config is refused.
  auto idx = to_json(parse_index(test::kOciIndex).value());
  idx["config"] = m["config"];
  CHECK_ALL_REFUSED(v, "image-index.schema.json", detail::dump(m), detail::dump(idx));
  CHECK_ALL_REFUSED(v, "image-config.schema.json", R"({"architecture":"amd64","os":"linux"})",
                    R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:0"]}})");
  CHECK_ALL_REFUSED(v, "oci-layout.schema.json", R"({"imageLayoutVersion":"2.0.0"})");
  CHECK_ALL_REFUSED(v, "hoist-pull-result.schema.json",
                    R"({"reference":"busybox","name":"docker.io/library/busybox","digest":"sha256:00",)"
                    R"("mediaType":"application/vnd.oci.image.index.v1+json","size":1,"output":"store"})");
  CHECK(v.validate("image-manifest.schema.json", {"{not json"}) == 1);
  CHECK(v.output().find("is not valid JSON") != std::string::npos);
}
