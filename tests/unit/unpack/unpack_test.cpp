#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "sys/file_io.h"
#include "unpack/bundle_writer.h"
#include "unpack/snapshot.h"

namespace fs = std::filesystem;
using namespace hoist;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/hoist-unpack-test-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { (void)sys::remove_all(path); }
};

digest::Digest d(char c) { return digest::parse("sha256:" + std::string(64, c)).value(); }

}  // namespace

TEST_CASE("chain IDs as image-spec config.md defines them") {
  auto ids = unpack::chain_ids({d('a'), d('b'), d('c')});
  REQUIRE(ids.size() == 3);
  CHECK(ids[0] == d('a'));  // ChainID(L0) = DiffID(L0)
  // sha256("sha256:aaa… sha256:bbb…"), computed with python's hashlib.
  CHECK(ids[1].str() == "sha256:ccd722928bd92476ba1745586fed6e45a102504185ad88cd89e01ff116fd146c");
  CHECK(ids[2].str() == "sha256:c1377126441fb2f5ec2c21ae2a60255331d639e830f0ee1b40a36e52d4c40588");
  CHECK(unpack::chain_ids({}).empty());
}

TEST_CASE("snapshot paths and presence") {
  TempDir t;
  unpack::Snapshots s(t.path + "/snapshots");
  CHECK(s.path(d('a')) == t.path + "/snapshots/sha256/" + std::string(64, 'a'));
  CHECK(!s.has(d('a')));
  fs::create_directories(s.path(d('a')));
  CHECK(s.has(d('a')));
}

TEST_CASE("remove_stale removes only temp dirs nobody holds") {
  TempDir t;
  unpack::Snapshots s(t.path + "/snapshots");
  fs::create_directories(t.path + "/snapshots/tmp/dead/sub");
  std::ofstream(t.path + "/snapshots/tmp/dead/sub/f") << "x";
  s.remove_stale();
  CHECK(!fs::exists(t.path + "/snapshots/tmp/dead"));
}

TEST_CASE("remove_bundle refuses a directory hoist did not make, removes one it did") {
  TempDir t;
  std::string foreign = t.path + "/foreign";
  fs::create_directories(foreign + "/rootfs");
  auto r = unpack::remove_bundle(foreign);
  REQUIRE(!r);
  CHECK(r.error().code() == Errc::kInvalidArgument);
  CHECK(r.error().to_string().find("is not a bundle made by hoist-unpack") != std::string::npos);
  CHECK(fs::exists(foreign + "/rootfs"));

  std::string mine = t.path + "/mine";
  {
    unpack::BundleOptions o;
    auto w = unpack::BundleWriter::create(mine, unpack::RootfsKind::kPlain, o);
    REQUIRE(w);
    CHECK(fs::exists(mine + "/" + std::string(unpack::kMarkerFile)));
    CHECK(fs::is_directory(mine + "/rootfs"));
  }
  // Not finished: the writer removed what it made.
  CHECK(!fs::exists(mine));

  fs::create_directories(mine + "/rootfs/etc");
  std::ofstream(mine + "/" + std::string(unpack::kMarkerFile)) << R"({"bundle":"hoist","version":1,"rootfs":"plain"})";
  REQUIRE(unpack::remove_bundle(mine));
  CHECK(!fs::exists(mine));
  CHECK(!unpack::remove_bundle(t.path + "/missing"));
}

TEST_CASE("a bundle directory must be empty") {
  TempDir t;
  std::ofstream(t.path + "/x") << "x";
  unpack::BundleOptions o;
  auto w = unpack::BundleWriter::create(t.path, unpack::RootfsKind::kPlain, o);
  REQUIRE(!w);
  CHECK(w.error().code() == Errc::kAlreadyExists);
  CHECK(fs::exists(t.path + "/x"));
}
