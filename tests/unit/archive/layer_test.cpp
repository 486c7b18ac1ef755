#include "archive/layer.h"

#include "archive_test_util.h"
#include <fstream>

#include "digest/digest.h"

using namespace hoist;
using namespace hoist::archive;
using namespace hoist::archive::test;
using image::media_type::Compression;

namespace {

digest::Digest sha256_file(const std::string& p) {
  digest::Hasher h(digest::Algorithm::kSha256);
  std::string s = read_all(p);
  h.update(std::as_bytes(std::span(s.data(), s.size())));
  return h.finish();
}

// A layer descriptor of compression `c`; the blob is checked against `blob_digest`
// and `size` when the digest is valid.
image::Descriptor layer_desc(Compression c, digest::Digest blob_digest = {}, uint64_t size = 0) {
  std::string_view mt = c == Compression::kGzip   ? image::media_type::kOciLayerGzip
                        : c == Compression::kZstd ? image::media_type::kOciLayerZstd
                                                  : image::media_type::kOciLayer;
  return image::Descriptor{std::string(mt), std::move(blob_digest), size};
}

Result<LayerResult> apply_file(Sandbox& s, const std::string& blob, const image::Descriptor& layer,
                               const digest::Digest& diff_id, SizeBudget& budget, bool threaded = true) {
  sys::Fd fd = sys::open_file(blob, O_RDONLY).value();
  io::FdReader r(fd.get());
  LayerOptions o;
  o.threaded = threaded;
  return apply_layer(r, layer, diff_id, s.root_fd, budget, o);
}

Result<LayerResult> apply_file(Sandbox& s, const std::string& blob, Compression c, const digest::Digest& diff_id,
                               SizeBudget& budget, bool threaded = true) {
  return apply_file(s, blob, layer_desc(c), diff_id, budget, threaded);
}

}  // namespace

TEST_CASE("gzip, zstd and plain layers; the diffID covers bytes after the end marker") {
  for (bool threaded : {true, false}) {
    CAPTURE(threaded);
    Sandbox s;
    auto tar = s.tar("t.file('a', 'x' * 300000)\nt.close(trailer=b'\\0' * 4096)\n", false);
    auto diff = sha256_file(tar);
    auto gz = s.tar("import shutil\nshutil.copy('" + tar + "', OUT)\ngzip_file(OUT)\n", false) + ".gz";
    auto zst = s.tar("import shutil\nshutil.copy('" + tar + "', OUT)\nzstd_file(OUT)\n", false) + ".zst";
    SizeBudget b;
    for (auto [path, c] : {std::pair{tar, Compression::kNone}, {gz, Compression::kGzip}, {zst, Compression::kZstd}}) {
      auto r = apply_file(s, path, c, diff, b, threaded);
      REQUIRE_MESSAGE(r, (r ? "" : r.error().to_string()));
      CHECK(r->diff_id == diff);
      CHECK(r->uncompressed == fs::file_size(tar));
      CHECK(r->stats.data_bytes == 300000);
      CHECK(read_all(s.in("a")) == std::string(300000, 'x'));
    }
    CHECK(b.used == 3 * fs::file_size(tar));
  }
}

TEST_CASE("a diffID mismatch is an error") {
  Sandbox s;
  auto tar = s.tar("t.file('a', 'x')");
  auto other = sha256_file(s.tar("t.file('b', 'y')"));
  SizeBudget b;
  auto r = apply_file(s, tar, Compression::kNone, other, b);
  REQUIRE(!r);
  CHECK(r.error().code() == Errc::kDigestMismatch);
  CHECK(r.error().to_string().find("layer diffID mismatch: expected '" + other.str() + "', got 'sha256:") == 0);
}

TEST_CASE("compressed data that does not match the media type") {
  Sandbox s;
  auto tar = s.tar("t.file('a', 'x')");
  SizeBudget b;
  auto r = apply_file(s, tar, Compression::kGzip, {}, b);
  REQUIRE(!r);
  CHECK(r.error().to_string().find("gzip") != std::string::npos);
}

TEST_CASE("a decompression bomb stops at the size limit") {
  Sandbox s;
  // 1 GiB of zeros: about 1 MiB of gzip.
  auto gz = s.tar("t.close()\ngzip_bomb(OUT, 1 << 30)\n", false);
  CHECK(fs::file_size(gz) < (8u << 20));
  SizeBudget b;
  b.max = 16 << 20;
  auto r = apply_file(s, gz, Compression::kGzip, {}, b);
  REQUIRE(!r);
  CHECK(r.error().to_string().find("unpacked size exceeds the limit of 16777216 bytes") != std::string::npos);
  struct stat st;
  REQUIRE(::stat(s.in("bomb").c_str(), &st) == 0);
  CHECK(st.st_size <= (17 << 20));
  CHECK(s.outside_unchanged());
}

TEST_CASE("the blob is checked against its descriptor as it streams") {
  for (bool threaded : {true, false}) {
    CAPTURE(threaded);
    Sandbox s;
    auto gz = s.tar("t.file('a', 'x' * 1000)\nt.close()\ngzip_file(OUT)\n", false) + ".gz";
    auto d = sha256_file(gz);
    auto size = fs::file_size(gz);
    SizeBudget b;
    SUBCASE("the right blob") {
      auto r = apply_file(s, gz, layer_desc(Compression::kGzip, d, size), {}, b, threaded);
      REQUIRE_MESSAGE(r, (r ? "" : r.error().to_string()));
    }
    SUBCASE("another digest") {
      auto other = sha256_file(s.tar("t.file('b', 'y')"));
      auto r = apply_file(s, gz, layer_desc(Compression::kGzip, other, size), {}, b, threaded);
      REQUIRE(!r);
      CHECK(r.error().code() == Errc::kDigestMismatch);
      CHECK(r.error().to_string() == "layer blob digest mismatch: expected '" + other.str() + "', got '" + d.str() + "'");
    }
    SUBCASE("bytes after the gzip member still count") {
      {
        std::ofstream f(gz, std::ios::app | std::ios::binary);
        f << "trailing";
      }
      auto r = apply_file(s, gz, layer_desc(Compression::kGzip, d, size + 8), {}, b, threaded);
      REQUIRE(!r);
      CHECK(r.error().code() == Errc::kDigestMismatch);
      CHECK(r.error().to_string().find("layer blob digest mismatch: expected '" + d.str()) == 0);
    }
    SUBCASE("a descriptor that promises more bytes than the blob has") {
      auto r = apply_file(s, gz, layer_desc(Compression::kGzip, d, size + 100), {}, b, threaded);
      REQUIRE(!r);
      CHECK(r.error().code() == Errc::kIo);
      CHECK(r.error().to_string().find("short content for '" + d.str() + "'") == 0);
    }
  }
}

TEST_CASE("the size limit's error says why it is what it is") {
  Sandbox s;
  auto gz = s.tar("t.close()\ngzip_bomb(OUT, 64 << 20)\n", false);
  SizeBudget b;
  b.max = 1 << 20;
  b.why = "the default; --max-size raises it";
  auto r = apply_file(s, gz, Compression::kGzip, {}, b);
  REQUIRE(!r);
  CHECK(r.error().to_string() ==
        "entry 'bomb': unpacked size exceeds the limit of 1048576 bytes (1.0 MiB): the default; --max-size raises it");
}
