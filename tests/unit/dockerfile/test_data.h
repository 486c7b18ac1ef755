#pragma once
// Shared by the dockerfile unit tests: where tests/data/dockerfile is, and reading it.

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "dockerfile/instructions.h"
#include "dockerfile/parser.h"

namespace hoist::dockerfile::testing {

inline std::filesystem::path data_dir() {
  // This header sits in tests/unit/dockerfile/; the data in tests/data/dockerfile/.
  return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() / "data" / "dockerfile";
}

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// One instruction, parsed; the test stops when it does not parse.
inline Command command(std::string_view text, char escape = '\\') {
  auto r = parse_instruction(text, "Dockerfile", escape);
  REQUIRE_MESSAGE(r.has_value(), (r ? "" : r.error().message()));
  return *r;
}

// The message of an instruction that must not parse.
inline std::string instruction_error(std::string_view text) {
  auto r = parse_instruction(text);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code() == Errc::kInvalidArgument);
  return r.error().message();
}

// The message of a Dockerfile that must not parse.
inline std::string parse_error(std::string_view text) {
  auto r = parse(text);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code() == Errc::kInvalidArgument);
  return r.error().message();
}

}  // namespace hoist::dockerfile::testing
