#include "dockerfile/line_parsers.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "dockerfile/flags.h"
#include "util/strings.h"

namespace hoist::dockerfile::detail {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

std::string_view trim_space(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

namespace {

// BuildKit's reWhitespace: [\t\v\f\r ]+ (no '\n').
bool is_ws_sep(char c) { return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r'; }

std::vector<std::string> split_whitespace(std::string_view s, size_t max_parts) {
  std::vector<std::string> out;
  size_t i = 0;
  while (true) {
    if (max_parts && out.size() + 1 == max_parts) {
      out.emplace_back(s.substr(i));
      return out;
    }
    size_t j = i;
    while (j < s.size() && !is_ws_sep(s[j])) ++j;
    out.emplace_back(s.substr(i, j - i));
    if (j >= s.size()) return out;
    while (j < s.size() && is_ws_sep(s[j])) ++j;
    i = j;
  }
}

// extractBuilderFlags: leading words that start with "--", until "--" or a word that
// does not. Returns the remaining text.
std::string_view extract_flags(std::string_view line, char escape, std::vector<std::string>& words) {
  enum { kInSpaces, kInWord, kInQuote } phase = kInSpaces;
  std::string word;
  char quote = 0;
  bool blank_ok = false;
  for (size_t pos = 0; pos <= line.size(); ++pos) {
    char ch = pos < line.size() ? line[pos] : '\0';
    if (phase == kInSpaces) {
      if (pos == line.size()) break;
      if (is_space(ch)) continue;
      if (ch != '-' || pos + 1 == line.size() || line[pos + 1] != '-') return line.substr(pos);
      phase = kInWord;
    }
    if (pos == line.size()) {
      if (word != "--" && (blank_ok || !word.empty())) words.push_back(word);
      break;
    }
    if (phase == kInWord) {
      if (is_space(ch)) {
        phase = kInSpaces;
        if (word == "--") return line.substr(pos);
        if (blank_ok || !word.empty()) words.push_back(word);
        word.clear();
        blank_ok = false;
        continue;
      }
      if (ch == '\'' || ch == '"') {
        quote = ch;
        blank_ok = true;
        phase = kInQuote;
        continue;
      }
      if (ch == escape) {
        if (pos + 1 == line.size()) continue;  // a trailing escape is dropped
        ch = line[++pos];
      }
      word += ch;
      continue;
    }
    // kInQuote
    if (ch == quote) {
      phase = kInWord;
      continue;
    }
    if (ch == escape) {
      if (pos + 1 == line.size()) {
        phase = kInWord;
        continue;
      }
      ch = line[++pos];
    }
    word += ch;
  }
  return {};
}

enum class JsonForm { kNotJson, kNotStrings, kOk };

// parseJSON: a JSON array of strings. Valid JSON with a non-string element is an error
// in BuildKit, anything else that fails to parse is the shell form.
JsonForm parse_json(std::string_view rest, std::vector<std::string>& out) {
  while (!rest.empty() && is_space(rest.front())) rest.remove_prefix(1);
  if (!rest.starts_with('[')) return JsonForm::kNotJson;
  auto j = nlohmann::json::parse(rest.begin(), rest.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_array()) return JsonForm::kNotJson;
  for (const auto& e : j) {
    if (!e.is_string()) return JsonForm::kNotStrings;
    out.push_back(e.get_ref<const std::string&>());
  }
  return JsonForm::kOk;
}

Error not_string_array() {
  return Error(Errc::kInvalidArgument, "when using JSON array syntax, arrays must be comprised of strings only");
}

void parse_whitespace_list(std::string_view rest, Node& n) {
  if (rest.empty()) return;
  n.args = split_whitespace(rest, 0);
}

Result<> parse_maybe_json(std::string_view rest, Node& n) {
  if (rest.empty()) return {};
  switch (parse_json(rest, n.args)) {
    case JsonForm::kOk:
      n.json = true;
      return {};
    case JsonForm::kNotStrings:
      return fail(not_string_array());
    case JsonForm::kNotJson:
      n.args = {std::string(rest)};
      return {};
  }
  return {};
}

Result<> parse_maybe_json_to_list(std::string_view rest, Node& n) {
  switch (parse_json(rest, n.args)) {
    case JsonForm::kOk:
      n.json = true;
      return {};
    case JsonForm::kNotStrings:
      return fail(not_string_array());
    case JsonForm::kNotJson:
      n.args.clear();
      parse_whitespace_list(rest, n);
      return {};
  }
  return {};
}

// parseNameVal for ENV and LABEL.
Result<> parse_name_val(std::string_view rest, std::string_view key, char escape, Node& n) {
  std::vector<std::string> words = parse_words(rest, escape);
  if (words.empty()) return {};
  if (words[0].find('=') == std::string::npos) {
    // Legacy "ENV name value words...": the rest of the line is the value.
    std::vector<std::string> parts = split_whitespace(rest, 2);
    if (parts.size() < 2) return fail(Errc::kInvalidArgument, fmt::format("{} must have two arguments", key));
    n.args = {parts[0], parts[1], ""};
    return {};
  }
  for (const std::string& w : words) {
    size_t eq = w.find('=');
    if (eq == std::string::npos) {
      return fail(Errc::kInvalidArgument,
                  fmt::format("syntax error - can't find = in \"{}\". Must be of the form: name=value", w));
    }
    n.args.push_back(w.substr(0, eq));
    n.args.push_back(w.substr(eq + 1));
    n.args.emplace_back("=");
  }
  return {};
}

Result<> parse_health_config(std::string_view rest, Node& n) {
  size_t sep = 0;
  while (sep < rest.size() && !is_space(rest[sep])) ++sep;
  if (sep == 0) return {};
  size_t next = sep;
  while (next < rest.size() && is_space(rest[next])) ++next;
  Node cmd;
  HOIST_CHECK(parse_maybe_json(rest.substr(next), cmd));
  n.args.emplace_back(rest.substr(0, sep));
  n.args.insert(n.args.end(), cmd.args.begin(), cmd.args.end());
  n.json = cmd.json;
  return {};
}

}  // namespace

const std::vector<std::string>& instruction_names() {
  static const std::vector<std::string> names = {
      "add",     "arg", "cmd",   "copy",       "entrypoint", "env",  "expose",  "from",   "healthcheck",
      "label", "maintainer", "onbuild", "run", "shell", "stopsignal", "user", "volume", "workdir"};
  return names;
}

SplitLine split_command(std::string_view line, char escape) {
  SplitLine out;
  std::vector<std::string> parts = split_whitespace(trim_space(line), 2);
  out.command = parts[0];
  if (parts.size() == 2) out.rest = std::string(trim_space(extract_flags(parts[1], escape, out.flags)));
  return out;
}

std::vector<std::string> parse_words(std::string_view rest, char escape) {
  enum { kInSpaces, kInWord, kInQuote } phase = kInSpaces;
  std::vector<std::string> words;
  std::string word;
  char quote = 0;
  bool blank_ok = false;
  for (size_t pos = 0; pos <= rest.size(); ++pos) {
    char ch = pos < rest.size() ? rest[pos] : '\0';
    if (phase == kInSpaces) {
      if (pos == rest.size()) break;
      if (is_space(ch)) continue;
      phase = kInWord;
    }
    if (pos == rest.size()) {
      if (blank_ok || !word.empty()) words.push_back(word);
      break;
    }
    if (phase == kInWord) {
      if (is_space(ch)) {
        phase = kInSpaces;
        if (blank_ok || !word.empty()) words.push_back(word);
        word.clear();
        blank_ok = false;
        continue;
      }
      if (ch == '\'' || ch == '"') {
        quote = ch;
        blank_ok = true;
        phase = kInQuote;
      }
      if (ch == escape) {
        if (pos + 1 == rest.size()) continue;  // a trailing escape is dropped
        // Outside quotes the escape and the character after it are kept as written,
        // even a quote: expansion removes the escape later.
        word += ch;
        ch = rest[++pos];
      }
      word += ch;
      continue;
    }
    // kInQuote: the quote characters are kept too.
    if (ch == quote) phase = kInWord;
    if (ch == escape && quote != '\'') {
      if (pos + 1 == rest.size()) {
        phase = kInWord;
        continue;
      }
      word += ch;
      ch = rest[++pos];
    }
    word += ch;
  }
  return words;
}

namespace {
// "ONBUILD ONBUILD ..." is an error for instructions.h anyway; the parser only has to
// stop a hostile chain from recursing without bound.
constexpr int kMaxOnbuildDepth = 4;

Result<Node> node_from_line_at(std::string_view line, char escape, int depth);
}  // namespace

Result<Node> node_from_line(std::string_view line, char escape) { return node_from_line_at(line, escape, 0); }

namespace {
Result<Node> node_from_line_at(std::string_view line, char escape, int depth) {
  SplitLine split = split_command(line, escape);
  Node n;
  n.command = split.command;
  n.keyword = to_lower(split.command);
  n.flags = std::move(split.flags);
  n.original = std::string(trim_space(line));
  const auto& names = instruction_names();
  if (std::find(names.begin(), names.end(), n.keyword) == names.end()) {
    std::string hint = suggest(n.command, names, /*case_sensitive=*/false);
    return fail(Errc::kInvalidArgument, fmt::format("unknown instruction \"{}\"{}", n.command,
                                                    hint.empty() ? "" : fmt::format(" (did you mean \"{}\"?)", hint)));
  }
  auto flags = parse_flags(n.flags, flag_specs(n.keyword));
  if (!flags) return fail(std::move(flags).error());
  const std::string_view rest = split.rest;
  const std::string& k = n.keyword;
  if (k == "add" || k == "copy" || k == "volume") {
    HOIST_CHECK(parse_maybe_json_to_list(rest, n));
  } else if (k == "run" || k == "cmd" || k == "entrypoint" || k == "shell") {
    HOIST_CHECK(parse_maybe_json(rest, n));
  } else if (k == "env" || k == "label") {
    HOIST_CHECK(parse_name_val(rest, k == "env" ? "ENV" : "LABEL", escape, n));
  } else if (k == "arg") {
    n.args = parse_words(rest, escape);
  } else if (k == "from" || k == "expose") {
    parse_whitespace_list(rest, n);
  } else if (k == "healthcheck") {
    HOIST_CHECK(parse_health_config(rest, n));
  } else if (k == "onbuild") {
    if (!rest.empty()) {
      if (depth >= kMaxOnbuildDepth) return fail(Errc::kInvalidArgument, "ONBUILD nested too deeply");
      Node sub = HOIST_TRY(node_from_line_at(rest, escape, depth + 1));
      n.sub.push_back(std::move(sub));
    }
  } else if (!rest.empty()) {  // maintainer, stopsignal, user, workdir
    n.args = {std::string(rest)};
  }
  return n;
}

}  // namespace

}  // namespace hoist::dockerfile::detail
