#include "dockerfile/parser.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "dockerfile/lex.h"
#include "dockerfile/line_parsers.h"
#include "dockerfile/pattern.h"
#include "util/strings.h"

namespace hoist::dockerfile {

using detail::is_space;
using detail::trim_space;

namespace {

Error located(std::string_view file, int line, std::string_view message) {
  return Error(Errc::kInvalidArgument, fmt::format("{}:{}:1: {}", file, line, message));
}

// Lines with their endings (heredoc bodies keep them); a final line may have none.
std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < text.size()) {
    size_t j = text.find('\n', i);
    size_t end = j == std::string_view::npos ? text.size() : j + 1;
    out.push_back(text.substr(i, end - i));
    i = end;
  }
  return out;
}

std::string_view trim_newline(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::string_view trim_left(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  return s;
}

bool is_comment(std::string_view line) {
  line = trim_left(line);
  return !line.empty() && line.front() == '#';
}

// The line-continuation test: the last character before trailing blanks is the escape
// character and is not itself escaped (or is alone on the line). As in BuildKit, an
// escaped escape before it ("a \\\") is not recognised.
bool trim_continuation(std::string_view line, char escape, std::string_view* out) {
  size_t k = line.size();
  while (k > 0 && (line[k - 1] == ' ' || line[k - 1] == '\t')) --k;
  if (k > 0 && line[k - 1] == escape && (k == 1 || line[k - 2] != escape)) {
    *out = line.substr(0, k - 1);
    return true;
  }
  *out = line;
  return false;
}

bool is_directive_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'; }

// "# name = value": nullopt when the line is not a known directive.
std::optional<Directive> directive_from(std::string_view line) {
  if (!line.starts_with('#')) return std::nullopt;
  line = trim_left(line.substr(1));
  size_t i = 0;
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (i >= line.size() || !alpha(line[i])) return std::nullopt;
  while (i < line.size() && (alpha(line[i]) || digit(line[i]))) ++i;
  std::string name = to_lower(line.substr(0, i));
  while (i < line.size() && is_directive_space(line[i])) ++i;
  if (i >= line.size() || line[i] != '=') return std::nullopt;
  std::string_view rest = line.substr(i + 1);
  if (rest.empty()) return std::nullopt;
  std::string_view value = rest;
  while (!value.empty() && is_directive_space(value.front())) value.remove_prefix(1);
  while (!value.empty() && is_directive_space(value.back())) value.remove_suffix(1);
  if (value.empty()) value = rest.substr(rest.size() - 1);  // regexp "\s*(.+?)\s*$" keeps one
  if (name != "syntax" && name != "escape" && name != "check") return std::nullopt;
  return Directive{name, std::string(value), 0};
}

bool can_contain_heredoc(const Node& n) {
  const Node* target = &n;
  if (n.keyword == "onbuild" && !n.sub.empty()) target = &n.sub.front();
  const std::string& k = target->keyword;
  return (k == "run" || k == "copy" || k == "add") && !target->json;
}

// heredocsFromLine: the words of the line, quotes and escapes kept, each tried as a
// heredoc start.
Result<std::vector<Heredoc>> heredocs_from_line(std::string_view line) {
  LexOptions opts;
  opts.raw_quotes = true;
  opts.raw_escapes = true;
  opts.skip_unset = true;
  auto words = process_words(line, empty_lookup(), opts);
  std::vector<Heredoc> out;
  if (!words) return out;  // BuildKit ignores lexing errors here
  for (const std::string& w : *words) {
    auto h = HOIST_TRY(parse_heredoc_word(w));
    if (h) out.push_back(std::move(*h));
  }
  return out;
}

Result<Ast> parse_impl(std::string_view text, std::string_view file, char escape, bool structure) {
  Ast ast;
  ast.escape = escape;
  std::vector<std::string_view> lines = split_lines(text);
  bool directives_done = false;
  std::set<std::string> seen;
  std::vector<std::string> comments;
  size_t i = 0;
  while (i < lines.size()) {
    std::string_view raw = lines[i];
    if (i == 0 && raw.starts_with("\xEF\xBB\xBF")) raw.remove_prefix(3);
    const int line_no = static_cast<int>(++i);
    std::string_view stripped = trim_left(trim_newline(raw));
    if (is_comment(stripped)) {
      std::string_view c = trim_space(stripped.substr(1));
      if (c.empty()) {
        comments.clear();
      } else {
        comments.emplace_back(c);
      }
    }
    if (!directives_done) {
      if (auto d = directive_from(stripped)) {
        if (!seen.insert(d->name).second) {
          return fail(located(file, line_no, fmt::format("only one {} parser directive can be used", d->name)));
        }
        if (d->name == "escape") {
          if (d->value != "`" && d->value != "\\") {
            return fail(located(file, line_no,
                                fmt::format("invalid escape token '{}' does not match ` or \\", d->value)));
          }
          ast.escape = d->value[0];
          escape = ast.escape;
        }
        d->line = line_no;
        ast.directives.push_back(std::move(*d));
        if (!comments.empty()) comments.pop_back();
        continue;
      }
      directives_done = true;
    }
    if (is_comment(stripped)) continue;
    std::string_view first;
    bool cont = trim_continuation(stripped, escape, &first);
    if (!cont && first.empty()) continue;

    const int start = line_no;
    int end = line_no;
    std::string joined(first);
    bool empty_continuation = false;
    while (cont && i < lines.size()) {
      std::string_view c = trim_newline(lines[i]);
      end = static_cast<int>(++i);
      if (is_comment(c)) continue;
      if (trim_left(c).empty()) {
        empty_continuation = true;
        continue;
      }
      std::string_view piece;
      cont = trim_continuation(c, escape, &piece);
      joined.append(piece);
    }
    if (cont) {
      // The file ended inside a continuation: fine after some arguments ("RUN make \"),
      // an error when nothing but the keyword (or nothing at all) was written.
      std::string_view t = trim_space(joined);
      bool has_args = false;
      for (char ch : t) has_args = has_args || is_space(ch);
      if (!has_args) return fail(located(file, start, "unexpected end of file after line continuation"));
    }
    if (empty_continuation) {
      ast.warnings.push_back({fmt::format("empty continuation line found in: {}", trim_space(joined)), end});
    }
    auto node_r = detail::node_from_line(joined, escape);
    if (!node_r) return fail(located(file, start, node_r.error().message()));
    Node node = std::move(*node_r);
    node.start_line = start;
    node.comments = std::move(comments);
    comments.clear();

    if (can_contain_heredoc(node) && joined.find("<<") != std::string::npos) {
      auto docs = heredocs_from_line(joined);
      if (!docs) return fail(located(file, start, docs.error().message()));
      for (Heredoc& h : *docs) {
        bool terminated = false;
        while (i < lines.size()) {
          std::string_view l = lines[i];
          end = static_cast<int>(++i);
          std::string_view candidate = trim_newline(l);
          if (h.chomp) {
            while (candidate.starts_with('\t')) candidate.remove_prefix(1);
          }
          if (candidate == h.name) {
            terminated = true;
            break;
          }
          h.content.append(l);
        }
        if (!terminated) return fail(located(file, start, fmt::format("unterminated heredoc \"{}\"", h.name)));
        node.heredocs.push_back(std::move(h));
      }
    }
    node.end_line = end;
    for (Node& s : node.sub) {
      s.start_line = node.start_line;
      s.end_line = node.end_line;
    }
    ast.children.push_back(std::move(node));
  }

  if (structure) {
    if (ast.children.empty()) return fail(Errc::kInvalidArgument, fmt::format("{}: file with no instructions", file));
    bool have_from = false;
    for (const Node& n : ast.children) {
      if (n.keyword == "from") {
        have_from = true;
        break;
      }
      if (n.keyword != "arg") {
        return fail(located(file, n.start_line,
                            fmt::format("instruction \"{}\" before the first FROM (only ARG may precede FROM)",
                                        n.command)));
      }
    }
    if (!have_from) return fail(Errc::kInvalidArgument, fmt::format("{}: no FROM instruction", file));
  }
  return ast;
}

void quote_into(std::string& out, std::string_view s) { out += go_quote(s); }

}  // namespace

Result<Ast> parse(std::string_view text, std::string_view file_name) {
  return parse_impl(text, file_name, kDefaultEscape, /*structure=*/true);
}

Result<Ast> parse_fragment(std::string_view text, std::string_view file_name, char escape) {
  return parse_impl(text, file_name, escape, /*structure=*/false);
}

Result<std::optional<Heredoc>> parse_heredoc_word(std::string_view src) {
  // ^(\d*)<<(-?)\s*([^<]*)$
  size_t i = 0;
  while (i < src.size() && src[i] >= '0' && src[i] <= '9') ++i;
  std::string_view digits = src.substr(0, i);
  if (!src.substr(i).starts_with("<<")) return std::optional<Heredoc>();
  i += 2;
  bool chomp = i < src.size() && src[i] == '-';
  if (chomp) ++i;
  while (i < src.size() && is_directive_space(src[i])) ++i;
  std::string_view rest = src.substr(i);
  if (rest.empty() || rest.find('<') != std::string_view::npos) return std::optional<Heredoc>();

  // Lexed with and without quote removal: if the quote counts differ, some part of
  // the word was quoted and the content is not to be expanded.
  LexOptions opts;
  opts.skip_unset = true;
  auto words = HOIST_TRY(process_words(rest, empty_lookup(), opts));
  if (words.size() != 1) return std::optional<Heredoc>();
  opts.raw_quotes = true;
  auto raw = HOIST_TRY(process_words(rest, empty_lookup(), opts));
  if (raw.size() != words.size()) {
    return fail(Errc::kInvalidArgument,
                fmt::format("internal lexing of heredoc produced inconsistent results: {}", rest));
  }
  auto quotes = [](std::string_view w) { return std::count(w.begin(), w.end(), '\'') + std::count(w.begin(), w.end(), '"'); };
  Heredoc h;
  h.name = words[0];
  h.expand = quotes(words[0]) == quotes(raw[0]);
  h.chomp = chomp;
  if (auto fd = parse_u64(digits); fd && *fd <= 0xFFFFFFFFu) h.fd = static_cast<unsigned>(*fd);
  return std::optional<Heredoc>(std::move(h));
}

std::string chomp_heredoc(std::string_view content) {
  std::string out;
  out.reserve(content.size());
  bool line_start = true;
  for (char c : content) {
    if (line_start && c == '\t') continue;
    line_start = c == '\n';
    out += c;
  }
  return out;
}

std::string go_quote(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    char32_t cp;
    size_t n = detail::utf8_decode(s, i, &cp);
    auto b = static_cast<unsigned char>(s[i]);
    if (cp >= 0x110000) {
      out += fmt::format("\\x{:02x}", b);
    } else if (cp == '"' || cp == '\\') {
      out += '\\';
      out += static_cast<char>(cp);
    } else if (cp >= 0x20 && cp < 0x7F) {
      out += static_cast<char>(cp);
    } else if (cp < 0x80) {
      switch (cp) {
        case '\a': out += "\\a"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\v': out += "\\v"; break;
        default: out += fmt::format("\\x{:02x}", b);
      }
    } else if (cp < 0xA0 || cp == 0xAD || cp == 0xFEFF) {
      out += cp > 0xFFFF ? fmt::format("\\U{:08x}", static_cast<uint32_t>(cp))
                         : fmt::format("\\u{:04x}", static_cast<uint32_t>(cp));
    } else {
      out.append(s.substr(i, n));  // printable enough: Go keeps graphic runes as they are
    }
    i += n;
  }
  out += '"';
  return out;
}

std::string Node::dump() const {
  std::string out = keyword;
  if (!flags.empty()) {
    out += " [";
    for (size_t k = 0; k < flags.size(); ++k) {
      if (k) out += ' ';
      quote_into(out, flags[k]);
    }
    out += ']';
  }
  for (const Node& s : sub) out += " (" + s.dump() + ")";
  for (const std::string& a : args) {
    out += ' ';
    quote_into(out, a);
  }
  return out;
}

const Directive* Ast::directive(std::string_view name) const {
  for (const Directive& d : directives) {
    if (d.name == name) return &d;
  }
  return nullptr;
}

std::string Ast::dump() const {
  std::string out;
  for (const Node& n : children) {
    if (!out.empty()) out += '\n';
    out += "(" + n.dump() + ")";
  }
  return out;
}

}  // namespace hoist::dockerfile
