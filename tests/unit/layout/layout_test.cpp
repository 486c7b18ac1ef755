#include "layout/layout.h"

#include <doctest/doctest.h>

#include <set>

#include <nlohmann/json.hpp>

#include "layout/reader.h"
#include "layout/writer.h"
#include "unit/store/fixture.h"

using namespace hoist;
using hoist::testing::TempDir;

TEST_CASE("parse_layout_ref and ref names") {
  auto r = layout::parse_layout_ref("/tmp/x").value();
  CHECK(r.dir == "/tmp/x");
  CHECK(r.name.empty());
  r = layout::parse_layout_ref("/tmp/x:latest").value();
  CHECK(r.dir == "/tmp/x");
  CHECK(r.name == "latest");
  r = layout::parse_layout_ref("/s:docker.io/library/busybox:latest").value();
  CHECK(r.dir == "/s");
  CHECK(r.name == "docker.io/library/busybox:latest");
  CHECK(!layout::parse_layout_ref(":latest"));
  CHECK(!layout::parse_layout_ref("/tmp/x:"));
  CHECK(!layout::parse_layout_ref("/tmp/x:a b"));
  CHECK(layout::valid_ref_name("a--b"));
  CHECK(layout::valid_ref_name("v1.0+build@x"));
  CHECK(!layout::valid_ref_name("a---b"));
  CHECK(!layout::valid_ref_name("-a"));
  CHECK(!layout::valid_ref_name("a/"));
  CHECK(!layout::valid_ref_name("a//b"));
}

TEST_CASE("layout: write then read") {
  TempDir t;
  std::string dir = t / "oci";
  auto w = layout::LayoutWriter::open(dir).value();
  CHECK(hoist::testing::read_all(dir + "/oci-layout") == R"({"imageLayoutVersion":"1.0.0"})");
  auto empty = layout::LayoutReader::open(dir).value();
  CHECK(empty->manifests().empty());
  CHECK(empty->resolve("").error().code() == Errc::kNotFound);

  auto img = hoist::testing::make_tiny_image("one");
  // Naming a root that is not there yet is refused.
  CHECK(w->add_image(img.manifest_desc, "latest").error().code() == Errc::kNotFound);
  img.put_into(w->blobs());
  REQUIRE(w->add_image(img.manifest_desc, "latest").has_value());
  auto r = layout::LayoutReader::open(dir).value();
  auto d = r->resolve("latest").value();
  CHECK(d.digest == img.manifest_desc.digest);
  CHECK(r->resolve("").value().digest == img.manifest_desc.digest);  // the only one
  CHECK(r->read_manifest(d).value() == img.manifest);
  CHECK(r->blobs().read_small_blob(img.config_desc.digest).value() == img.config);
  CHECK(r->resolve("other").error().code() == Errc::kNotFound);

  // Same name again: replaced, not duplicated. A second name and an unnamed entry.
  auto img2 = hoist::testing::make_tiny_image("two");
  img2.put_into(w->blobs());
  REQUIRE(w->add_image(img2.manifest_desc, "latest").has_value());
  REQUIRE(w->add_image(img.manifest_desc, "v1").has_value());
  REQUIRE(w->add_image(img.manifest_desc, "").has_value());
  REQUIRE(w->add_image(img.manifest_desc, "").has_value());
  r = layout::LayoutReader::open(dir).value();
  CHECK(r->manifests().size() == 3);
  CHECK(r->resolve("latest").value().digest == img2.manifest_desc.digest);
  CHECK(r->resolve("v1").value().digest == img.manifest_desc.digest);
  CHECK(r->resolve("").error().code() == Errc::kInvalidArgument);
  CHECK(r->names() == std::vector<std::string>{"latest", "v1"});
  REQUIRE(w->remove_image("v1").has_value());
  CHECK(w->remove_image("v1").error().code() == Errc::kNotFound);
  CHECK(layout::LayoutReader::open(dir).value()->manifests().size() == 2);
  // No ingest leftovers in the layout.
  CHECK(w->blobs().list_ingest().value().empty());
}

TEST_CASE("layout: readers refuse what is not a layout") {
  TempDir t;
  CHECK(layout::LayoutReader::open(t.path()).error().code() == Errc::kNotFound);
  REQUIRE(sys::write_file_atomic(t / "oci-layout", R"({"imageLayoutVersion":"2.0.0"})").has_value());
  CHECK(layout::LayoutReader::open(t.path()).error().code() == Errc::kUnsupported);
  CHECK(layout::LayoutWriter::open(t.path()).error().code() == Errc::kUnsupported);
  REQUIRE(sys::write_file_atomic(t / "oci-layout", R"({"imageLayoutVersion":"1.0.0"})").has_value());
  REQUIRE(sys::write_file_atomic(t / "index.json", R"({"manifests":[{"digest":"nope"}]})").has_value());
  CHECK(layout::LayoutReader::open(t.path()).error().code() == Errc::kInvalidArgument);
}

TEST_CASE("layout: processes adding images to one DIR at once lose no entry") {
  TempDir t;
  std::string dir = t / "oci";
  auto img = hoist::testing::make_tiny_image();
  {
    auto w = layout::LayoutWriter::open(dir).value();
    img.put_into(w->blobs());
  }
  auto adder = [&](int which) {
    return [&, which] {
      auto w = layout::LayoutWriter::open(dir);
      if (!w) return 2;
      for (int i = 0; i < 40; ++i)
        if (!(*w)->add_image(img.manifest_desc, fmt::format("p{}-{}", which, i))) return 3;
      return 0;
    };
  };
  pid_t a = hoist::testing::fork_child(adder(0));
  pid_t b = hoist::testing::fork_child(adder(1));
  pid_t c = hoist::testing::fork_child(adder(2));
  CHECK(hoist::testing::wait_child(a) == 0);
  CHECK(hoist::testing::wait_child(b) == 0);
  CHECK(hoist::testing::wait_child(c) == 0);
  auto r = layout::LayoutReader::open(dir).value();
  auto names = r->names();
  CHECK(names.size() == 120);
  CHECK(std::set<std::string>(names.begin(), names.end()).size() == 120);
}

TEST_CASE("layout: skopeo and umoci read what LayoutWriter wrote") {
  if (!hoist::testing::have_tool("skopeo")) {
    MESSAGE("skopeo not installed; skipped");
    return;
  }
  TempDir t;
  std::string dir = t / "oci";
  auto w = layout::LayoutWriter::open(dir).value();
  auto img = hoist::testing::make_tiny_image("skopeo");
  img.put_into(w->blobs());
  REQUIRE(w->add_image(img.manifest_desc, "v1").has_value());
  auto res = hoist::testing::run(fmt::format("skopeo inspect oci:{}:v1", dir));
  CHECK_MESSAGE(res.rc == 0, res.out);
  auto j = nlohmann::json::parse(res.out, nullptr, false);
  REQUIRE(j.is_object());
  CHECK(j["Digest"] == img.manifest_desc.digest.str());
  CHECK(j["Layers"][0] == img.layer_desc.digest.str());
  res = hoist::testing::run(fmt::format("skopeo copy oci:{}:v1 oci:{}:copy", dir, t / "copy"));
  CHECK_MESSAGE(res.rc == 0, res.out);
  // And the reverse: what skopeo wrote, LayoutReader reads.
  auto r = layout::LayoutReader::open(t / "copy").value();
  auto d = r->resolve("copy").value();
  CHECK(r->read_manifest(d).has_value());
  if (hoist::testing::have_tool("umoci")) {
    res = hoist::testing::run(fmt::format("umoci stat --image {}:v1", dir));
    CHECK_MESSAGE(res.rc == 0, res.out);
    res = hoist::testing::run(fmt::format("umoci list --layout {}", dir));
    CHECK_MESSAGE(res.rc == 0, res.out);
    CHECK(res.out.find("v1") != std::string::npos);
  }
}
