// Golden files: tests/data/dockerfile/<case>/{Dockerfile,ast.txt} and negative/<case>/
// {Dockerfile,error.txt} (BuildKit's parser testfiles and hoist's own; see README.md).
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "dockerfile/parser.h"
#include "test_data.h"

using namespace hoist::dockerfile;
using hoist::dockerfile::testing::data_dir;
using hoist::dockerfile::testing::read_file;

namespace {

std::vector<std::filesystem::path> case_dirs(const std::filesystem::path& root) {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::directory_iterator(root)) {
    if (e.is_directory() && std::filesystem::exists(e.path() / "Dockerfile")) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string chomp(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

}  // namespace

TEST_CASE("golden: every positive case dumps to its ast.txt") {
  auto dirs = case_dirs(data_dir());
  REQUIRE(dirs.size() >= 30);
  for (const auto& dir : dirs) {
    CAPTURE(dir.filename().string());
    auto ast = parse(read_file(dir / "Dockerfile"));
    REQUIRE_MESSAGE(ast.has_value(), (ast ? "" : ast.error().message()));
    CHECK(ast->dump() == chomp(read_file(dir / "ast.txt")));
  }
}

TEST_CASE("golden: every negative case fails with its message") {
  auto dirs = case_dirs(data_dir() / "negative");
  REQUIRE(dirs.size() >= 15);
  for (const auto& dir : dirs) {
    CAPTURE(dir.filename().string());
    auto ast = parse(read_file(dir / "Dockerfile"));
    REQUIRE_FALSE(ast.has_value());
    CHECK(ast.error().code() == hoist::Errc::kInvalidArgument);
    std::string want = chomp(read_file(dir / "error.txt"));
    CHECK_MESSAGE(ast.error().message().starts_with(want), ast.error().message());
  }
}

TEST_CASE("golden: line numbers of BuildKit's testfile-line") {
  // BuildKit's parser/testfile-line/Dockerfile: blank lines, a comment, continuations
  // with empty lines inside them.
  std::string text =
      "# ESCAPE=\\\n\n\n\nFROM brimstone/ubuntu:14.04\n\n\n# TORUN -v /var/run/docker.sock:/var/run/docker.sock\n"
      "\n\nENV GOPATH \\\n/go\n\n\n\n# Install the packages we need, clean up after them and us\n"
      "RUN apt-get update \\\n\t&& dpkg -l | awk '/^ii/ {print $2}' > /tmp/dpkg.clean \\\n\n\n"
      "    && apt-get --no-install-recommends install -y git golang ca-certificates \\\n"
      "    && apt-get clean \\\n    && rm -rf /var/lib/apt/lists \\\n\n"
      "\t&& go get -v github.com/brimstone/consuldock \\\n"
      "    && mv $GOPATH/bin/consuldock /usr/local/bin/consuldock \\\n\n"
      "\t&& dpkg -l | awk '/^ii/ {print $2}' > /tmp/dpkg.dirty \\\n"
      "\t&& apt-get remove --purge -y $(diff /tmp/dpkg.clean /tmp/dpkg.dirty | awk '/^>/ {print $2}') \\\n"
      "\t&& rm /tmp/dpkg.* \\\n\t&& rm -rf $GOPATH\n\n\n\n\n";
  auto ast = parse(text);
  REQUIRE(ast.has_value());
  REQUIRE(ast->children.size() == 3);
  CHECK(ast->children[0].start_line == 5);
  CHECK(ast->children[0].end_line == 5);
  CHECK(ast->children[1].start_line == 11);
  CHECK(ast->children[1].end_line == 12);
  CHECK(ast->children[2].start_line == 17);
  CHECK(ast->children[2].end_line == 31);
  // "# ESCAPE=\" is a directive (keys are case-insensitive) and not a comment.
  REQUIRE(ast->directives.size() == 1);
  CHECK(ast->directives[0].name == "escape");
  CHECK(ast->children[1].comments == std::vector<std::string>{"TORUN -v /var/run/docker.sock:/var/run/docker.sock"});
  CHECK(ast->children[2].comments == std::vector<std::string>{"Install the packages we need, clean up after them and us"});
  CHECK(ast->warnings.size() == 1);  // the RUN's empty continuation lines
}
