#include "io/verify.h"

#include <doctest/doctest.h>

#include "digest/digest.h"
#include "io/memory.h"
#include "io_test_util.h"

using namespace hoist;
using namespace hoist::io;
using namespace hoist::io::test;

namespace {

struct Blob {
  std::string data;
  digest::Digest digest;
};

Blob blob(size_t n, uint32_t seed = 1) {
  Blob b{layer_like(n, seed), {}};
  b.digest = digest::sha256_of(b.data);
  return b;
}

// Writes `data` in pieces of `chunk` and closes; returns the first error.
Result<> write_through(Writer& w, std::string_view data, size_t chunk = 1000) {
  for (size_t off = 0; off < data.size(); off += chunk) HOIST_CHECK(w.write(bytes(data.substr(off, chunk))));
  return w.close();
}

}  // namespace

TEST_CASE("verifying writer: exact content passes") {
  Blob b = blob(10000);
  FailingWriter sink(1 << 20);
  VerifyingWriter v(sink, b.digest, b.data.size());
  REQUIRE(write_through(v, b.data).has_value());
  CHECK(sink.got() == b.data);
  CHECK(sink.closes() == 1);
  CHECK(v.count() == b.data.size());
  CHECK(v.close().has_value());  // idempotent
  CHECK(sink.closes() == 1);
}

TEST_CASE("verifying writer: one byte short") {
  Blob b = blob(10000);
  StringWriter sink;
  VerifyingWriter v(sink, b.digest, b.data.size());
  auto r = write_through(v, std::string_view(b.data).substr(0, b.data.size() - 1));
  REQUIRE(!r);
  CHECK(r.error().code() == Errc::kIo);
  CHECK(r.error().message() == "short content for '" + b.digest.str() + "': got 9999 of 10000 bytes");
}

TEST_CASE("verifying writer: one byte long is refused before it passes on") {
  Blob b = blob(10000);
  StringWriter sink;
  VerifyingWriter v(sink, b.digest, b.data.size());
  REQUIRE(v.write(bytes(b.data)).has_value());
  auto r = v.write(bytes("x"));
  REQUIRE(!r);
  CHECK(r.error().code() == Errc::kDigestMismatch);
  CHECK(r.error().message() == "size exceeds descriptor: more than 10000 bytes for '" + b.digest.str() + "'");
  CHECK(sink.str() == b.data);  // the extra byte never reached the sink
  CHECK(!v.close());            // broken stays broken

  // One write that straddles the limit passes none of its bytes on.
  StringWriter sink2;
  VerifyingWriter v2(sink2, b.digest, b.data.size());
  REQUIRE(!v2.write(bytes(b.data + "x")));
  CHECK(sink2.str().empty());
}

TEST_CASE("verifying writer: wrong content of the right size") {
  Blob b = blob(10000);
  std::string wrong = b.data;
  wrong[5000] = static_cast<char>(wrong[5000] ^ 1);
  StringWriter sink;
  VerifyingWriter v(sink, b.digest, b.data.size());
  auto r = write_through(v, wrong);
  REQUIRE(!r);
  CHECK(r.error().code() == Errc::kDigestMismatch);
  CHECK(r.error().message() ==
        "digest mismatch: expected '" + b.digest.str() + "', got '" + digest::sha256_of(wrong).str() + "'");
}

TEST_CASE("verifying writer: resume with a seeded hasher") {
  Blob b = blob(50000);
  size_t already = 12345;
  digest::Hasher h;
  h.update(std::string_view(b.data).substr(0, already));
  StringWriter sink;
  VerifyingWriter v(sink, b.digest, b.data.size(), std::move(h), already);
  REQUIRE(write_through(v, std::string_view(b.data).substr(already)).has_value());
  CHECK(v.count() == b.data.size());
  CHECK(sink.str() == b.data.substr(already));

  // A hasher seeded with other bytes cannot verify.
  digest::Hasher wrong;
  wrong.update(std::string(already, 'z'));
  StringWriter sink2;
  VerifyingWriter v2(sink2, b.digest, b.data.size(), std::move(wrong), already);
  auto r = write_through(v2, std::string_view(b.data).substr(already));
  REQUIRE(!r);
  CHECK(r.error().code() == Errc::kDigestMismatch);
}

TEST_CASE("verifying writer: sha512 and empty blobs") {
  std::string data = "hello";
  auto d512 = digest::of(digest::Algorithm::kSha512, data);
  StringWriter s1;
  VerifyingWriter v1(s1, d512, data.size());
  CHECK(write_through(v1, data).has_value());

  StringWriter s2;
  VerifyingWriter v2(s2, digest::sha256_of(""), 0);
  CHECK(v2.close().has_value());
  StringWriter s3;
  VerifyingWriter v3(s3, digest::sha256_of(""), 0);
  CHECK(!v3.write(bytes("a")));
}

TEST_CASE("verifying reader: exact, and never reads past size") {
  Blob b = blob(10000);
  std::string stream = b.data + "NEXT-MEMBER";
  ChunkedReader in(stream, 777);
  VerifyingReader v(in, b.digest, b.data.size());
  auto out = read_all(v, 4096);
  REQUIRE(out.has_value());
  CHECK(out.value() == b.data);
  CHECK(v.verified());
  CHECK(in.consumed() == b.data.size());  // the following bytes are untouched
  std::byte one[1];
  CHECK(v.read(one).value() == 0);
}

TEST_CASE("verifying reader: short, wrong, empty") {
  Blob b = blob(10000);
  SUBCASE("short") {
    StringReader in(std::string_view(b.data).substr(0, 9999));
    VerifyingReader v(in, b.digest, b.data.size());
    auto r = read_all(v);
    REQUIRE(!r);
    CHECK(r.error().code() == Errc::kIo);
    CHECK(r.error().message() == "short content for '" + b.digest.str() + "': got 9999 of 10000 bytes");
  }
  SUBCASE("wrong content: the last read fails instead of returning bytes") {
    std::string wrong = b.data;
    wrong[9999] = static_cast<char>(wrong[9999] ^ 1);
    StringReader in(wrong);
    VerifyingReader v(in, b.digest, b.data.size());
    std::string got;
    std::byte buf[3000];
    Result<size_t> r;
    while ((r = v.read(buf)) && *r > 0) got.append(as_string_view(std::span(buf).first(*r)));
    REQUIRE(!r);
    CHECK(r.error().code() == Errc::kDigestMismatch);
    CHECK(got.size() < b.data.size());
    CHECK(!v.verified());
    CHECK(!v.read(buf));  // sticky
  }
  SUBCASE("empty blob") {
    StringReader in("extra");
    VerifyingReader v(in, digest::sha256_of(""), 0);
    std::byte buf[16];
    CHECK(v.read(buf).value() == 0);
    CHECK(v.verified());
    CHECK(in.remaining() == 5);
    StringReader in2("");
    VerifyingReader v2(in2, b.digest, 0);  // size 0 but a non-empty digest
    CHECK(!v2.read(buf));
  }
  SUBCASE("errors of the source pass through") {
    FailingReader in(std::string_view(b.data).substr(0, 100));
    VerifyingReader v(in, b.digest, b.data.size());
    auto r = read_all(v);
    REQUIRE(!r);
    CHECK(r.error().message() == "connection reset");
  }
}
