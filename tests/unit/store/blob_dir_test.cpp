#include "store/blob_dir.h"

#include <doctest/doctest.h>
#include <signal.h>
#include <sys/stat.h>

#include <string>

#include "io/stream.h"
#include "unit/store/fixture.h"

using namespace hoist;
using hoist::testing::TempDir;

namespace {

std::string pattern(size_t n, unsigned seed = 7) {
  std::string s(n, '\0');
  uint32_t x = seed;
  for (auto& c : s) {
    x = x * 1103515245u + 12345u;
    c = char(x >> 16);
  }
  return s;
}

std::span<const std::byte> bytes(std::string_view s) { return std::as_bytes(std::span(s.data(), s.size())); }

size_t count_files(const std::string& dir) {
  auto res = hoist::testing::run("find '" + dir + "' -type f | wc -l");
  REQUIRE(res.rc == 0);
  return std::stoul(res.out);
}

}  // namespace

TEST_CASE("blob ingest: write, commit, read back") {
  TempDir t;
  store::BlobDir blobs(t.path(), t / "ingest");
  std::string data = pattern(3 << 20);  // > the 1 MiB buffer: exercises both write paths
  auto d = digest::sha256_of(data);
  auto w = blobs.ingest(d, data.size());
  REQUIRE(w.has_value());
  CHECK((*w)->offset() == 0);
  CHECK((*w)->resumable());
  // Small and large writes mixed.
  REQUIRE((*w)->write(bytes(std::string_view(data).substr(0, 100))).has_value());
  REQUIRE((*w)->write(bytes(std::string_view(data).substr(100, 2 << 20))).has_value());
  REQUIRE((*w)->write(bytes(std::string_view(data).substr(100 + (2 << 20)))).has_value());
  CHECK((*w)->offset() == data.size());
  REQUIRE((*w)->commit().has_value());
  CHECK((*w)->digest() == d);
  CHECK(blobs.has_blob(d));
  CHECK(blobs.blob_path(d) == t.path() + "/blobs/sha256/" + d.hex());
  CHECK(blobs.blob_size(d).value() == data.size());
  CHECK(blobs.read_small_blob(d, data.size()).value() == data);
  CHECK(blobs.verify_blob(d).has_value());
  struct stat st;
  REQUIRE(::stat(blobs.blob_path(d).c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0444);
  CHECK(blobs.list_ingest().value().empty());
  REQUIRE(blobs.sync().has_value());
  // A second ingest of a present blob has nothing to do.
  auto again = blobs.ingest(d, data.size());
  REQUIRE(!again);
  CHECK(again.error().code() == Errc::kAlreadyExists);
  auto listing = blobs.list().value();
  REQUIRE(listing.blobs.size() == 1);
  CHECK(listing.blobs[0] == d);
  CHECK(listing.strays.empty());
}

TEST_CASE("blob ingest: a dropped writer resumes where it stopped") {
  TempDir t;
  store::BlobDir blobs(t.path(), t / "ingest");
  std::string data = pattern(1 << 20, 3);
  auto d = digest::sha256_of(data);
  size_t half = data.size() / 2 + 17;
  {
    auto w = blobs.ingest(d, data.size()).value();
    REQUIRE(w->write(bytes(std::string_view(data).substr(0, half))).has_value());
  }  // dropped without commit or abort: the partial stays
  CHECK(blobs.list_ingest().value().size() == 1);
  auto w = blobs.ingest(d, data.size()).value();
  CHECK(w->offset() == half);
  CHECK(w->resumed_from() == half);
  REQUIRE(w->write(bytes(std::string_view(data).substr(half))).has_value());
  REQUIRE(w->commit().has_value());
  CHECK(blobs.read_small_blob(d, data.size()).value() == data);
  CHECK(blobs.list_ingest().value().empty());
}

TEST_CASE("blob ingest: kill -9 mid-write, the next process resumes") {
  TempDir t;
  std::string data = pattern(5 << 20, 11);
  auto d = digest::sha256_of(data);
  size_t half = (5 << 20) / 2;
  pid_t pid = hoist::testing::fork_child([&] {
    store::BlobDir blobs(t.path(), t / "ingest");
    auto w = blobs.ingest(d, data.size());
    if (!w) return 2;
    if (!(*w)->write(bytes(std::string_view(data).substr(0, half)))) return 3;
    if (!(*w)->close()) return 4;  // flush what is buffered, as a download loop would have
    ::kill(::getpid(), SIGKILL);
    return 5;
  });
  CHECK(hoist::testing::wait_child(pid) == 128 + SIGKILL);
  store::BlobDir blobs(t.path(), t / "ingest");
  auto w = blobs.ingest(d, data.size()).value();
  CHECK(w->offset() == half);
  REQUIRE(w->write(bytes(std::string_view(data).substr(half))).has_value());
  REQUIRE(w->commit().has_value());
  CHECK(blobs.verify_blob(d).has_value());
}

TEST_CASE("blob ingest: restart drops resumed bytes") {
  TempDir t;
  store::BlobDir blobs(t.path(), t / "ingest");
  std::string data = pattern(1000);
  auto d = digest::sha256_of(data);
  {
    auto w = blobs.ingest(d, data.size()).value();
    REQUIRE(w->write(bytes("garbage that is not a prefix")).has_value());
  }
  auto w = blobs.ingest(d, data.size()).value();
  CHECK(w->offset() > 0);
  REQUIRE(w->restart().has_value());
  CHECK(w->offset() == 0);
  REQUIRE(w->write(bytes(data)).has_value());
  REQUIRE(w->commit().has_value());
  CHECK(blobs.has_blob(d));
}

TEST_CASE("blob ingest: digest mismatch leaves nothing behind") {
  TempDir t;
  store::BlobDir blobs(t.path(), t / "ingest");
  std::string data = pattern(4096);
  auto wrong = digest::sha256_of("something else");
  auto w = blobs.ingest(wrong, data.size()).value();
  REQUIRE(w->write(bytes(data)).has_value());
  auto c = w->commit();
  REQUIRE(!c);
  CHECK(c.error().code() == Errc::kDigestMismatch);
  CHECK(!blobs.has_blob(wrong));
  CHECK(!blobs.has_blob(digest::sha256_of(data)));
  CHECK(count_files(t.path()) == 0);
}

TEST_CASE("blob ingest: size checks") {
  TempDir t;
  store::BlobDir blobs(t.path(), t / "ingest");
  std::string data = pattern(4096);
  auto d = digest::sha256_of(data);
  SUBCASE("more bytes than expected fail at the write") {
    auto w = blobs.ingest(d, data.size() - 1).value();
    auto r = w->write(bytes(data));
    REQUIRE(!r);
    CHECK(r.error().code() == Errc::kDigestMismatch);
    CHECK(!w->commit());
  }
  SUBCASE("fewer bytes than expected fail at commit") {
    auto w = blobs.ingest(d, data.size() + 1).value();
    REQUIRE(w->write(bytes(data)).has_value());
    auto r = w->commit();
    REQUIRE(!r);
    CHECK(r.error().code() == Errc::kIo);
  }
  CHECK(count_files(t.path()) == 0);
}

TEST_CASE("blob ingest: abort removes the partial") {
  TempDir t;
  store::BlobDir blobs(t.path(), t / "ingest");
  auto d = digest::sha256_of("x");
  auto w = blobs.ingest(d, 1).value();
  REQUIRE(w->write(bytes("x")).has_value());
  REQUIRE(w->close().has_value());
  CHECK(blobs.list_ingest().value().size() == 1);
  REQUIRE(w->abort().has_value());
  CHECK(blobs.list_ingest().value().empty());
  CHECK(!blobs.has_blob(d));
}

TEST_CASE("blob ingest: a second writer of one digest writes privately; first commit wins") {
  TempDir t;
  store::BlobDir a(t.path(), t / "ingest");
  store::BlobDir b(t.path(), t / "ingest");
  std::string data = pattern(300000);
  auto d = digest::sha256_of(data);
  auto w1 = a.ingest(d, data.size()).value();
  REQUIRE(w1->write(bytes(std::string_view(data).substr(0, 1000))).has_value());
  auto w2 = b.ingest(d, data.size()).value();
  CHECK(!w2->resumable());
  CHECK(w2->offset() == 0);
  REQUIRE(w2->write(bytes(data)).has_value());
  REQUIRE(w2->commit().has_value());
  REQUIRE(w1->write(bytes(std::string_view(data).substr(1000))).has_value());
  auto c1 = w1->commit();
  REQUIRE(!c1);
  CHECK(c1.error().code() == Errc::kAlreadyExists);
  CHECK(a.verify_blob(d).has_value());
  CHECK(a.list_ingest().value().empty());
}

TEST_CASE("blob ingest: two processes write one digest at once") {
  TempDir t;
  std::string data = pattern(2 << 20, 5);
  auto d = digest::sha256_of(data);
  auto writer = [&] {
    store::BlobDir blobs(t.path(), t / "ingest");
    for (int i = 0; i < 20; ++i) {
      auto w = blobs.ingest(d, data.size());
      if (!w) return w.error().code() == Errc::kAlreadyExists ? 0 : 2;
      for (size_t off = 0; off < data.size(); off += 65536)
        if (!(*w)->write(bytes(std::string_view(data).substr(off, 65536)))) return 3;
      auto c = (*w)->commit();
      if (!c && c.error().code() != Errc::kAlreadyExists) return 4;
    }
    return 0;
  };
  pid_t p1 = hoist::testing::fork_child(writer);
  pid_t p2 = hoist::testing::fork_child(writer);
  CHECK(hoist::testing::wait_child(p1) == 0);
  CHECK(hoist::testing::wait_child(p2) == 0);
  store::BlobDir blobs(t.path(), t / "ingest");
  CHECK(blobs.verify_blob(d).has_value());
  CHECK(blobs.list_ingest().value().empty());
}

TEST_CASE("blob ingest_new: digest known only at commit") {
  TempDir t;
  store::BlobDir blobs(t.path(), t / "ingest");
  std::string data = pattern(70000);
  auto w = blobs.ingest_new().value();
  CHECK(!w->resumable());
  REQUIRE(w->write(bytes(data)).has_value());
  auto d = w->digest();
  CHECK(d == digest::sha256_of(data));
  REQUIRE(w->commit(d, data.size()).has_value());
  CHECK(blobs.read_small_blob(d, data.size()).value() == data);
  CHECK(blobs.list_ingest().value().empty());
  // A dropped ingest_new writer leaves nothing.
  {
    auto w2 = blobs.ingest_new().value();
    REQUIRE(w2->write(bytes("abc")).has_value());
  }
  CHECK(blobs.list_ingest().value().empty());
}

TEST_CASE("small blobs and corruption") {
  TempDir t;
  store::BlobDir blobs(t.path(), t / "ingest");
  std::string m = R"({"schemaVersion":2})";
  auto d = digest::sha256_of(m);
  auto bad = blobs.put_small_blob(m, digest::sha256_of("other"));
  REQUIRE(!bad);
  CHECK(bad.error().code() == Errc::kDigestMismatch);
  REQUIRE(blobs.put_small_blob(m, d).has_value());
  REQUIRE(blobs.put_small_blob(m, d).has_value());  // already present: fine
  CHECK(blobs.read_small_blob(d).value() == m);
  auto big = blobs.read_small_blob(d, 3);
  REQUIRE(!big);
  CHECK(big.error().code() == Errc::kInvalidArgument);
  auto missing = blobs.read_small_blob(digest::sha256_of("nope"));
  REQUIRE(!missing);
  CHECK(missing.error().code() == Errc::kNotFound);
  // Corrupt the file behind the store's back.
  ::chmod(blobs.blob_path(d).c_str(), 0644);
  REQUIRE(sys::write_file_atomic(blobs.blob_path(d), R"({"schemaVersion":3})").has_value());
  auto corrupt = blobs.read_small_blob(d);
  REQUIRE(!corrupt);
  CHECK(corrupt.error().code() == Errc::kDigestMismatch);
  CHECK(blobs.verify_blob(d).error().code() == Errc::kDigestMismatch);
}
