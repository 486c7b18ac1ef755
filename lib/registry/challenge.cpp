#include "registry/challenge.h"

#include "util/strings.h"

namespace hoist::registry {
namespace {

// RFC 9110 tchar.
bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-':
    case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

bool is_token68_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~' || c == '+' || c == '/';
}

class Scanner {
 public:
  explicit Scanner(std::string_view s) : s_(s) {}
  bool done() const { return i_ >= s_.size(); }
  char peek() const { return done() ? '\0' : s_[i_]; }
  void skip_ws() {
    while (!done() && (s_[i_] == ' ' || s_[i_] == '\t')) ++i_;
  }
  void skip_ws_commas() {
    while (!done() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == ',')) ++i_;
  }
  std::string_view token() {
    size_t b = i_;
    while (!done() && is_tchar(s_[i_])) ++i_;
    return s_.substr(b, i_ - b);
  }
  // A quoted-string at the cursor (which is on the opening quote); tolerates a
  // missing closing quote by taking the rest.
  std::string quoted() {
    std::string out;
    ++i_;
    while (!done()) {
      char c = s_[i_++];
      if (c == '"') return out;
      if (c == '\\' && !done()) c = s_[i_++];
      out += c;
    }
    return out;
  }
  // An unquoted value: RFC 9110 says token, but servers send URLs unquoted too,
  // so take everything up to a comma or whitespace.
  std::string_view bare() {
    size_t b = i_;
    while (!done() && s_[i_] != ',' && s_[i_] != ' ' && s_[i_] != '\t') ++i_;
    return s_.substr(b, i_ - b);
  }
  // Skips to the next comma (error recovery).
  void skip_item() {
    while (!done() && s_[i_] != ',') {
      if (s_[i_] == '"')
        quoted();
      else
        ++i_;
    }
  }
  size_t pos() const { return i_; }
  void set_pos(size_t p) { i_ = p; }
  std::string_view rest() const { return s_.substr(i_); }

 private:
  std::string_view s_;
  size_t i_ = 0;
};

}  // namespace

std::string Challenge::param(std::string_view name) const {
  auto it = params.find(to_lower(name));
  return it == params.end() ? std::string() : it->second;
}

std::vector<Challenge> parse_challenges(std::string_view header) {
  std::vector<Challenge> out;
  Scanner sc(header);
  for (;;) {
    sc.skip_ws_commas();
    if (sc.done()) break;
    std::string_view scheme = sc.token();
    if (scheme.empty()) {  // garbage where a scheme should be
      sc.skip_item();
      continue;
    }
    Challenge ch;
    ch.scheme = to_lower(scheme);
    // token68 directly after the scheme: chars then '='*, then end or comma.
    sc.skip_ws();
    {
      size_t save = sc.pos();
      std::string_view r = sc.rest();
      size_t k = 0;
      while (k < r.size() && is_token68_char(r[k])) ++k;
      size_t eq = k;
      while (eq < r.size() && r[eq] == '=') ++eq;
      size_t after = eq;
      while (after < r.size() && (r[after] == ' ' || r[after] == '\t')) ++after;
      if (k > 0 && (after == r.size() || r[after] == ',')) {
        // "Scheme abc==" or "Scheme abc" followed by end or comma: token68
        // (RFC 9110 11.2). A parameter would have a value after its '='.
        ch.token68 = std::string(r.substr(0, eq));
        sc.set_pos(save + after);
        out.push_back(std::move(ch));
        continue;
      }
      sc.set_pos(save);
    }
    // auth-params until a token that is not followed by '=' (the next scheme).
    for (;;) {
      sc.skip_ws_commas();
      if (sc.done()) break;
      size_t name_start = sc.pos();
      std::string_view name = sc.token();
      if (name.empty()) {
        sc.skip_item();
        continue;
      }
      sc.skip_ws();
      if (sc.peek() != '=') {
        // Not a parameter: the start of the next challenge.
        sc.set_pos(name_start);
        break;
      }
      sc.set_pos(sc.pos() + 1);
      sc.skip_ws();
      std::string value;
      if (sc.peek() == '"') {
        value = sc.quoted();
      } else {
        value = std::string(sc.bare());
      }
      ch.params[to_lower(name)] = std::move(value);
      sc.skip_ws();
      if (!sc.done() && sc.peek() != ',') sc.skip_item();
    }
    out.push_back(std::move(ch));
  }
  return out;
}

std::vector<Challenge> parse_challenges(const std::vector<std::string_view>& headers) {
  std::vector<Challenge> out;
  for (auto h : headers) {
    auto v = parse_challenges(h);
    out.insert(out.end(), std::make_move_iterator(v.begin()), std::make_move_iterator(v.end()));
  }
  return out;
}

}  // namespace hoist::registry
