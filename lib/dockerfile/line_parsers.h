#pragma once
// Internal to lib/dockerfile: one joined instruction line -> Node (BuildKit's
// split_command.go and line_parsers.go). Errors carry no location; parser.cpp adds it.

#include <string>
#include <string_view>
#include <vector>

#include "dockerfile/parser.h"
#include "util/result.h"

namespace hoist::dockerfile::detail {

bool is_space(char c);  // Go's unicode.IsSpace, ASCII part
std::string_view trim_space(std::string_view s);

struct SplitLine {
  std::string command;             // first word as written
  std::vector<std::string> flags;  // leading "--..." words, quotes and escapes removed
  std::string rest;                // the arguments, trimmed
};
// splitCommand + extractBuilderFlags.
SplitLine split_command(std::string_view line, char escape);

// parseWords: whitespace-separated words, quotes and escapes kept as written.
std::vector<std::string> parse_words(std::string_view rest, char escape);

// Builds the node for one line: keyword checked, flags validated, arguments split per
// instruction, ONBUILD's trigger parsed into `sub`. Lines and heredocs are the caller's.
Result<Node> node_from_line(std::string_view line, char escape);

// Every instruction keyword, lower case.
const std::vector<std::string>& instruction_names();

}  // namespace hoist::dockerfile::detail
