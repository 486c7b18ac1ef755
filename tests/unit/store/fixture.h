#pragma once
// Test helpers shared by the store and layout unit tests: temp dirs, running
// commands, and a tiny valid image (one gzip'd layer made with tar(1), a config,
// an OCI manifest) built by hand.

#include <doctest/doctest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include <fmt/core.h>

#include "digest/digest.h"
#include "image/descriptor.h"
#include "image/media_types.h"
#include "store/blob_dir.h"
#include "sys/file_io.h"

namespace hoist::testing {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/hoist-store-test-XXXXXX";
    char* p = mkdtemp(tmpl);
    REQUIRE(p != nullptr);
    path_ = p;
  }
  ~TempDir() { (void)sys::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(std::string_view sub) const { return path_ + "/" + std::string(sub); }

 private:
  std::string path_;
};

struct RunResult {
  int rc = -1;
  std::string out;  // stdout and stderr
};

// Runs a shell command.
inline RunResult run(const std::string& cmd) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  REQUIRE(p != nullptr);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int st = pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

// The error text of a failed Result, "" for a success. For *_MESSAGE: doctest
// evaluates the message lazily, also for passing checks under -s, so it must be
// valid either way.
template <typename T>
std::string err(const Result<T>& r) {
  return r ? std::string() : r.error().message();
}

inline bool have_tool(const std::string& name) { return run("command -v " + name).rc == 0; }

inline std::string read_all(const std::string& path) {
  auto r = sys::read_file(path, size_t{64} << 20);
  REQUIRE(r.has_value());
  return *r;
}

struct TinyImage {
  std::string layer;       // gzip'd tar bytes
  std::string config;
  std::string manifest;
  digest::Digest diff_id;
  image::Descriptor layer_desc, config_desc, manifest_desc;

  void put_into(store::BlobDir& blobs) const {
    REQUIRE(blobs.put_small_blob(layer, layer_desc.digest).has_value());
    REQUIRE(blobs.put_small_blob(config, config_desc.digest).has_value());
    REQUIRE(blobs.put_small_blob(manifest, manifest_desc.digest).has_value());
  }
};

// `seed` makes the image unique (file content and config differ). History entries
// carry "created": umoci 0.4.7 stat crashes on history without it.
inline TinyImage make_tiny_image(const std::string& seed = "hello") {
  TempDir work;
  std::string root = work / "root";
  REQUIRE(sys::mkdir_all(root + "/etc").has_value());
  REQUIRE(sys::write_file_atomic(root + "/etc/greeting", seed + "\n").has_value());
  auto res = run(fmt::format(
      "cd '{}' && tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -cf '{}' etc && gzip -n -c '{}' > "
      "'{}'",
      root, work / "layer.tar", work / "layer.tar", work / "layer.tar.gz"));
  REQUIRE_MESSAGE(res.rc == 0, res.out);
  TinyImage img;
  std::string tar = read_all(work / "layer.tar");
  img.layer = read_all(work / "layer.tar.gz");
  img.diff_id = digest::sha256_of(tar);
  img.config = fmt::format(
      R"({{"created":"1970-01-01T00:00:00Z","architecture":"amd64","os":"linux",)"
      R"("config":{{"Env":["SEED={}"],"Cmd":["/bin/sh"]}},"rootfs":{{"type":"layers","diff_ids":["{}"]}},)"
      R"("history":[{{"created":"1970-01-01T00:00:00Z","created_by":"test"}}]}})",
      seed, img.diff_id.str());
  img.layer_desc.media_type = image::media_type::kOciLayerGzip;
  img.layer_desc.digest = digest::sha256_of(img.layer);
  img.layer_desc.size = img.layer.size();
  img.config_desc.media_type = image::media_type::kOciConfig;
  img.config_desc.digest = digest::sha256_of(img.config);
  img.config_desc.size = img.config.size();
  img.manifest = fmt::format(
      R"({{"schemaVersion":2,"mediaType":"{}","config":{},"layers":[{}]}})", image::media_type::kOciManifest,
      image::to_json(img.config_desc).dump(), image::to_json(img.layer_desc).dump());
  img.manifest_desc.media_type = image::media_type::kOciManifest;
  img.manifest_desc.digest = digest::sha256_of(img.manifest);
  img.manifest_desc.size = img.manifest.size();
  return img;
}

// Forks; the child runs fn and _exits with its result (never returning into doctest).
template <typename Fn>
pid_t fork_child(Fn&& fn) {
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int code = 1;
    try {
      code = fn();
    } catch (...) {
      code = 99;
    }
    _exit(code);
  }
  return pid;
}

inline int wait_child(pid_t pid) {
  int st = 0;
  REQUIRE(waitpid(pid, &st, 0) == pid);
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return -1;
}

}  // namespace hoist::testing
