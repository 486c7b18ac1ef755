#include "dockerfile/lex.h"

#include <fmt/format.h>

#include "dockerfile/pattern.h"

namespace hoist::dockerfile {

using detail::PatternToken;
using detail::TokenPattern;

Env::Env(std::initializer_list<std::pair<std::string, std::string>> init) {
  for (const auto& [k, v] : init) set(k, v);
}

void Env::set(std::string_view name, std::string value) {
  for (auto& [k, v] : entries_) {
    if (k == name) {
      v = std::move(value);
      return;
    }
  }
  entries_.emplace_back(std::string(name), std::move(value));
}

void Env::erase(std::string_view name) {
  std::erase_if(entries_, [&](const auto& e) { return e.first == name; });
}

std::optional<std::string> Env::get(std::string_view name) const {
  for (const auto& [k, v] : entries_) {
    if (k == name) return v;
  }
  return std::nullopt;
}

std::vector<std::string> Env::to_list() const {
  std::vector<std::string> out;
  out.reserve(entries_.size());
  for (const auto& [k, v] : entries_) out.push_back(k + "=" + v);
  return out;
}

Lookup Env::lookup() const {
  return [this](std::string_view name) { return get(name); };
}

Lookup empty_lookup() {
  return [](std::string_view) -> std::optional<std::string> { return std::nullopt; };
}

namespace {

constexpr int kEof = -1;

bool is_space(int c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }
bool is_digit(int c) { return c >= '0' && c <= '9'; }
// Go's unicode.IsLetter, approximated: ASCII letters and every non-ASCII byte.
bool is_letter(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80; }
bool is_special_param(int c) {
  switch (c) {
    case '@': case '*': case '#': case '?': case '-': case '$': case '!': case '0':
      return true;
    default:
      return false;
  }
}

// The word splitter (lex.go's wordsStruct), one per nesting level.
class Words {
 public:
  void add_char(char c) {
    if (is_space(static_cast<unsigned char>(c))) {
      if (in_word_ && !buf_.empty()) {
        words_.push_back(std::move(buf_));
        buf_.clear();
        in_word_ = false;
      }
    } else {
      add_raw_char(c);
    }
  }
  void add_raw_char(char c) {
    buf_ += c;
    in_word_ = true;
  }
  void add_string(std::string_view s) {
    for (char c : s) add_char(c);
  }
  void add_raw_string(std::string_view s) {
    buf_.append(s);
    in_word_ = true;
  }
  std::vector<std::string> take() {
    if (!buf_.empty()) words_.push_back(std::move(buf_));
    buf_.clear();
    in_word_ = false;
    return std::move(words_);
  }

 private:
  std::string buf_;
  std::vector<std::string> words_;
  bool in_word_ = false;
};

// convertShellPatternToRegex's language, compiled to tokens.
Result<TokenPattern> shell_pattern(std::string_view p) {
  TokenPattern t(/*separator_aware=*/false);
  for (size_t i = 0; i < p.size();) {
    char c = p[i];
    if (c == '*') {
      t.add_kind(PatternToken::Kind::kStar);
      ++i;
    } else if (c == '?') {
      t.add_kind(PatternToken::Kind::kAnyChar);
      ++i;
    } else if (c == '\\') {
      // "\}" and "\/" are there to get past ${}'s own syntax: the escape is not part
      // of the pattern.
      if (i + 1 < p.size() && (p[i + 1] == '}' || p[i + 1] == '/')) {
        ++i;
        continue;
      }
      if (i + 1 >= p.size() || (p[i + 1] != '*' && p[i + 1] != '?' && p[i + 1] != '\\')) {
        std::string what = i + 1 < p.size() ? std::string(1, p[i + 1]) : std::string();
        return fail(Errc::kInvalidArgument,
                    fmt::format("invalid pattern ({}) in substitution: invalid escape '\\{}'", p, what));
      }
      t.add_char(static_cast<unsigned char>(p[i + 1]));
      i += 2;
    } else {
      char32_t cp;
      i += detail::utf8_decode(p, i, &cp);
      t.add_char(cp);
    }
  }
  return t;
}

Result<std::string> trim_prefix(std::string_view pattern, const std::string& value, bool greedy) {
  auto t = HOIST_TRY(shell_pattern(pattern));
  std::vector<size_t> lens = t.matching_prefixes(value);
  if (lens.empty()) return value;
  return value.substr(greedy ? lens.back() : lens.front());
}

Result<std::string> trim_suffix(std::string_view pattern, const std::string& value, bool greedy) {
  auto t = HOIST_TRY(shell_pattern(pattern));
  // A suffix of the value is a prefix of its reversal, matched by the reversed pattern.
  std::vector<size_t> lens = t.reversed().matching_prefixes(detail::reverse_utf8(value));
  if (lens.empty()) return value;
  return value.substr(0, value.size() - (greedy ? lens.back() : lens.front()));
}

size_t char_len(std::string_view s, size_t i) {
  char32_t cp;
  return detail::utf8_decode(s, i, &cp);
}

// Go's Regexp.ReplaceAllString / first-match replacement, with leftmost-longest matches:
// an empty match right after a previous match inserts nothing.
Result<std::string> replace(std::string_view pattern, const std::string& value, const std::string& repl, bool all) {
  auto t = HOIST_TRY(shell_pattern(pattern));
  const size_t n = value.size();
  std::string out;
  size_t last_end = 0;
  size_t search = 0;
  while (search <= n) {
    std::optional<size_t> a0, a1;
    for (size_t s = search; s <= n;) {
      if (auto e = t.longest_match_at(value, s)) {
        a0 = s;
        a1 = *e;
        break;
      }
      if (s == n) break;
      s += char_len(value, s);
    }
    if (!a0) break;
    out.append(value, last_end, *a0 - last_end);
    if (*a1 > last_end || *a0 == 0) out += repl;
    last_end = *a1;
    if (!all) break;
    size_t w = search < n ? char_len(value, search) : 1;
    if (search + w > *a1) {
      search += w;
    } else {
      search = *a1;
    }
  }
  out.append(value, last_end, std::string::npos);
  return out;
}

class ShellWord {
 public:
  ShellWord(std::string_view text, const Lookup& env, const LexOptions& opts, WordExpansion& out)
      : text_(text), env_(env), opts_(opts), out_(out), raw_escapes_(opts.raw_escapes) {}

  struct Piece {
    std::string result;
    std::vector<std::string> words;
  };

  // Processes up to `stop` (consumed) or the end of the text. raw_escapes applies for
  // the duration, including nested double quotes.
  Result<Piece> process_stop_on(int stop, bool raw_escapes) {
    // ${A:-${B:-...}} recurses once per level: bound it so hostile text cannot
    // exhaust the stack.
    if (depth_ >= kMaxNesting) return fail(Errc::kInvalidArgument, "substitutions nested too deeply");
    ++depth_;
    bool saved = raw_escapes_;
    raw_escapes_ = raw_escapes;
    auto r = process_stop_on_inner(stop);
    raw_escapes_ = saved;
    --depth_;
    return r;
  }

  bool at_end() const { return pos_ >= text_.size(); }

 private:
  int peek() const { return pos_ < text_.size() ? static_cast<unsigned char>(text_[pos_]) : kEof; }
  int next() { return pos_ < text_.size() ? static_cast<unsigned char>(text_[pos_++]) : kEof; }

  Result<Piece> process_stop_on_inner(int stop) {
    Piece piece;
    Words words;
    const int esc = static_cast<unsigned char>(opts_.escape);
    while (peek() != kEof) {
      int ch = peek();
      if (stop != kEof && ch == stop) {
        next();
        piece.words = words.take();
        return piece;
      }
      if (ch == '$' || ch == '<' || (!opts_.skip_process_quotes && (ch == '\'' || ch == '"'))) {
        std::string tmp;
        if (ch == '$') {
          tmp = HOIST_TRY(process_dollar());
          words.add_string(tmp);
        } else {
          if (ch == '<') {
            tmp = process_possible_heredoc();
          } else if (ch == '\'') {
            tmp = HOIST_TRY(process_single_quote());
          } else {
            tmp = HOIST_TRY(process_double_quote());
          }
          words.add_raw_string(tmp);
        }
        piece.result += tmp;
        continue;
      }
      ch = next();
      if (ch == esc) {
        if (raw_escapes_) {
          words.add_raw_char(static_cast<char>(ch));
          piece.result += static_cast<char>(ch);
        }
        ch = next();  // the escape takes the next character literally
        if (ch == kEof) break;
        words.add_raw_char(static_cast<char>(ch));
      } else {
        words.add_char(static_cast<char>(ch));
      }
      piece.result += static_cast<char>(ch);
    }
    if (stop != kEof) {
      return fail(Errc::kInvalidArgument,
                  fmt::format("unexpected end of statement while looking for matching {}", static_cast<char>(stop)));
    }
    piece.words = words.take();
    return piece;
  }

  Result<std::string> process_single_quote() {
    std::string result;
    int ch = next();
    if (opts_.raw_quotes) result += static_cast<char>(ch);
    for (;;) {
      ch = next();
      if (ch == kEof) {
        return fail(Errc::kInvalidArgument, "unexpected end of statement while looking for matching single-quote");
      }
      if (ch == '\'') {
        if (opts_.raw_quotes) result += '\'';
        return result;
      }
      result += static_cast<char>(ch);
    }
  }

  Result<std::string> process_double_quote() {
    std::string result;
    int ch = next();
    if (opts_.raw_quotes) result += static_cast<char>(ch);
    const int esc = static_cast<unsigned char>(opts_.escape);
    for (;;) {
      switch (peek()) {
        case kEof:
          return fail(Errc::kInvalidArgument, "unexpected end of statement while looking for matching double-quote");
        case '"':
          next();
          if (opts_.raw_quotes) result += '"';
          return result;
        case '$': {
          std::string value = HOIST_TRY(process_dollar());
          result += value;
          break;
        }
        default:
          ch = next();
          if (ch == esc) {
            if (raw_escapes_) result += static_cast<char>(ch);
            int p = peek();
            if (p == kEof) continue;  // reported as the missing quote
            // Only '"', '$' and the escape itself can be escaped; other escapes stay.
            if (p == '"' || p == '$' || p == esc) ch = next();
          }
          result += static_cast<char>(ch);
      }
    }
  }

  std::string process_possible_heredoc() {
    next();
    if (peek() != '<') return "<";
    next();
    std::string result = "<<";
    while (peek() == ' ' || peek() == '\t' || peek() == '\r') result += static_cast<char>(next());
    return result;
  }

  std::string process_name() {
    std::string name;
    while (peek() != kEof) {
      int ch = peek();
      if (name.empty() && is_digit(ch)) {
        while (is_digit(peek())) name += static_cast<char>(next());
        return name;
      }
      if (name.empty() && is_special_param(ch)) {
        name += static_cast<char>(next());
        return name;
      }
      if (!is_letter(ch) && !is_digit(ch) && ch != '_') break;
      name += static_cast<char>(next());
    }
    return name;
  }

  std::optional<std::string> get_env(const std::string& name) {
    std::optional<std::string> v = env_ ? env_(name) : std::nullopt;
    (v ? out_.matched : out_.unmatched).insert(name);
    return v;
  }

  Result<std::string> process_dollar() {
    next();  // '$'
    if (peek() != '{') {
      std::string name = process_name();
      if (name.empty()) return std::string("$");
      auto v = get_env(name);
      if (!v && opts_.skip_unset) return "$" + name;
      return v.value_or("");
    }
    next();  // '{'
    int p = peek();
    if (p == kEof) return fail(Errc::kInvalidArgument, "syntax error: missing '}'");
    if (p == '{' || p == '}' || p == ':') return fail(Errc::kInvalidArgument, "syntax error: bad substitution");
    std::string name = process_name();
    int ch = next();
    if (ch == kEof) return fail(Errc::kInvalidArgument, "syntax error: missing '}'");
    std::string chs(1, static_cast<char>(ch));
    if (ch == '}') {
      auto v = get_env(name);
      if (!v && opts_.skip_unset) return "${" + name + "}";
      return v.value_or("");
    }
    if (ch == '/') return process_replace(name);
    bool null_is_unset = false;
    if (ch == ':') {
      null_is_unset = true;
      ch = next();
      if (ch == kEof) return fail(Errc::kInvalidArgument, "syntax error: missing '}'");
      chs += static_cast<char>(ch);
    }
    bool known = ch == '+' || ch == '-' || ch == '?' || ch == '#' || ch == '%';
    if (!known && !null_is_unset) {
      return fail(Errc::kInvalidArgument, fmt::format("unsupported modifier ({}) in substitution", chs));
    }
    bool pattern_op = ch == '#' || ch == '%';
    if (null_is_unset && pattern_op) {
      return fail(Errc::kInvalidArgument, fmt::format("unsupported modifier ({}) in substitution", chs));
    }
    auto word_r = process_stop_on('}', pattern_op);
    if (!word_r) {
      if (at_end()) return fail(Errc::kInvalidArgument, "syntax error: missing '}'");
      return fail(std::move(word_r).error());
    }
    std::string word = std::move(word_r->result);
    if (!known) {
      return fail(Errc::kInvalidArgument, fmt::format("unsupported modifier ({}) in substitution", chs));
    }
    auto v = get_env(name);
    if (!v && opts_.skip_unset) return "${" + name + chs + word + "}";
    bool empty = !v || (null_is_unset && v->empty());
    switch (ch) {
      case '-':
        return empty ? word : *v;
      case '+':
        return empty ? std::string() : word;
      case '?':
        if (!v) {
          return fail(Errc::kInvalidArgument,
                      fmt::format("{}: {}", name, word.empty() ? "is not allowed to be unset" : word));
        }
        if (null_is_unset && v->empty()) {
          return fail(Errc::kInvalidArgument,
                      fmt::format("{}: {}", name, word.empty() ? "is not allowed to be empty" : word));
        }
        return *v;
      default: {  // '#' or '%'; doubled for the greedy form
        bool greedy = !word.empty() && word.front() == static_cast<char>(ch);
        std::string_view pat = word;
        if (greedy) pat.remove_prefix(1);
        std::string value = v.value_or("");
        if (ch == '%') return trim_suffix(pat, value, greedy);
        return trim_prefix(pat, value, greedy);
      }
    }
  }

  Result<std::string> process_replace(const std::string& name) {
    bool all = peek() == '/';
    if (all) next();
    auto pattern = process_stop_on('/', true);
    if (!pattern) {
      if (at_end()) return fail(Errc::kInvalidArgument, "syntax error: missing '/' in ${}");
      return fail(std::move(pattern).error());
    }
    auto repl = process_stop_on('}', true);
    if (!repl) {
      if (at_end()) return fail(Errc::kInvalidArgument, "syntax error: missing '}'");
      return fail(std::move(repl).error());
    }
    auto v = get_env(name);
    if (!v && opts_.skip_unset) {
      return "${" + name + (all ? "//" : "/") + pattern->result + "/" + repl->result + "}";
    }
    return replace(pattern->result, v.value_or(""), repl->result, all);
  }

  std::string_view text_;
  size_t pos_ = 0;
  const Lookup& env_;
  const LexOptions& opts_;
  WordExpansion& out_;
  bool raw_escapes_;
  int depth_ = 0;
  static constexpr int kMaxNesting = 64;
};

}  // namespace

Result<WordExpansion> process(std::string_view text, const Lookup& env, const LexOptions& opts) {
  WordExpansion out;
  ShellWord sw(text, env, opts, out);
  auto piece = sw.process_stop_on(kEof, opts.raw_escapes);
  if (!piece) {
    return fail(Errc::kInvalidArgument, fmt::format("failed to process \"{}\": {}", text, piece.error().message()));
  }
  out.word = std::move(piece->result);
  out.words = std::move(piece->words);
  return out;
}

namespace {
void note(const WordExpansion& w, std::set<std::string>* referenced) {
  if (!referenced) return;
  referenced->insert(w.matched.begin(), w.matched.end());
  referenced->insert(w.unmatched.begin(), w.unmatched.end());
}
}  // namespace

Result<std::string> process_word(std::string_view text, const Lookup& env, const LexOptions& opts,
                                 std::set<std::string>* referenced) {
  auto w = HOIST_TRY(process(text, env, opts));
  note(w, referenced);
  return std::move(w.word);
}

Result<std::vector<std::string>> process_words(std::string_view text, const Lookup& env, const LexOptions& opts,
                                               std::set<std::string>* referenced) {
  auto w = HOIST_TRY(process(text, env, opts));
  note(w, referenced);
  return std::move(w.words);
}

}  // namespace hoist::dockerfile
