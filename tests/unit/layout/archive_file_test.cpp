// ArchiveFile: an archive file indexed by its headers and read in place.

#include "layout/archive_file.h"

#include <doctest/doctest.h>
#include <fcntl.h>

#include "io/fd_stream.h"
#include "layout/tar.h"
#include "unit/store/fixture.h"

using namespace hoist;
using hoist::testing::TempDir;

namespace {

std::string read_member(const layout::ArchiveFile& a, const std::string& name, uint64_t offset = 0) {
  const auto* m = a.find(name);
  REQUIRE(m != nullptr);
  auto r = a.open_member(*m, offset);
  std::string out;
  std::array<std::byte, 7> buf{};  // small reads on purpose
  for (;;) {
    auto n = r->read(buf);
    REQUIRE(n.has_value());
    if (*n == 0) break;
    out.append(reinterpret_cast<const char*>(buf.data()), *n);
  }
  return out;
}

void write_tar(const std::string& path, const std::function<void(layout::tar::TarWriter&)>& fn) {
  sys::Fd fd = sys::open_file(path, O_WRONLY | O_CREAT | O_TRUNC).value();
  io::FdWriter w(fd.get());
  layout::tar::TarWriter tw(w);
  fn(tw);
  REQUIRE(tw.finish().has_value());
}

}  // namespace

TEST_CASE("clean_member_name: normalises and refuses climbing names") {
  CHECK(layout::clean_member_name("./blobs//sha256/ab").value() == "blobs/sha256/ab");
  CHECK(layout::clean_member_name("a/./b").value() == "a/b");
  auto up = layout::clean_member_name("../../etc/passwd");
  REQUIRE_FALSE(up.has_value());
  CHECK(up.error().message().find("path escapes the archive") != std::string::npos);
  CHECK_FALSE(layout::clean_member_name("a/../../b").has_value());
  CHECK_FALSE(layout::clean_member_name("/etc/passwd").has_value());
  CHECK_FALSE(layout::clean_member_name("./").has_value());
}

TEST_CASE("ArchiveFile: members found by name and read in place, long names too") {
  TempDir t;
  std::string big(70000, 'x');
  for (size_t i = 0; i < big.size(); ++i) big[i] = char('a' + i % 26);
  std::string long_name = "blobs/sha256/" + std::string(120, 'f');  // needs a pax header
  write_tar(t / "a.tar", [&](layout::tar::TarWriter& tw) {
    REQUIRE(tw.add_directory("blobs").has_value());
    REQUIRE(tw.add_file("index.json", "{}").has_value());
    REQUIRE(tw.add_file(long_name, big).has_value());
    REQUIRE(tw.add_file("./manifest.json", "[1]").has_value());
    REQUIRE(tw.add_file("../escape", "no").has_value());
  });
  auto a = layout::ArchiveFile::open(t / "a.tar");
  REQUIRE_MESSAGE(a.has_value(), hoist::testing::err(a));
  CHECK((*a)->members().size() == 3);  // the directory and "../escape" are not members
  CHECK(read_member(**a, "index.json") == "{}");
  CHECK(read_member(**a, long_name) == big);
  CHECK(read_member(**a, long_name, 69990) == big.substr(69990));
  CHECK(read_member(**a, "manifest.json") == "[1]");
  CHECK((*a)->find("../escape") == nullptr);
  CHECK((*a)->read("manifest.json", 100).value() == "[1]");
  auto too_big = (*a)->read(long_name, 100);
  REQUIRE_FALSE(too_big.has_value());
  CHECK(too_big.error().code() == Errc::kInvalidArgument);
  auto missing = (*a)->read("nope", 100);
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().code() == Errc::kNotFound);
}

TEST_CASE("ArchiveFile: a truncated archive and a file that is not a tar are refused") {
  TempDir t;
  write_tar(t / "a.tar", [&](layout::tar::TarWriter& tw) {
    REQUIRE(tw.add_file("blob", std::string(5000, 'z')).has_value());
  });
  REQUIRE(hoist::testing::run(fmt::format("truncate -s 2048 '{}'", t / "a.tar")).rc == 0);
  auto a = layout::ArchiveFile::open(t / "a.tar");
  REQUIRE_FALSE(a.has_value());
  CHECK(a.error().message().find("runs past the end") != std::string::npos);

  REQUIRE(sys::write_file_atomic(t / "junk.tar", std::string(1024, 'j')).has_value());
  auto j = layout::ArchiveFile::open(t / "junk.tar");
  REQUIRE_FALSE(j.has_value());
  CHECK(j.error().code() == Errc::kInvalidArgument);

  auto none = layout::ArchiveFile::open(t / "absent.tar");
  REQUIRE_FALSE(none.has_value());
  CHECK(none.error().code() == Errc::kNotFound);
}
