// Go's time.ParseDuration, for HEALTHCHECK --interval and friends.
#include <fmt/format.h>

#include "dockerfile/instructions.h"

namespace hoist::dockerfile {

namespace {

constexpr uint64_t kMaxDuration = uint64_t{1} << 63;  // |math.MinInt64|

struct Unit {
  std::string_view name;
  uint64_t ns;
};
constexpr Unit kUnits[] = {
    {"ns", 1},
    {"us", 1000},
    {"\xC2\xB5s", 1000},  // U+00B5 micro sign
    {"\xCE\xBCs", 1000},  // U+03BC Greek mu
    {"ms", 1000 * 1000},
    {"s", 1000ull * 1000 * 1000},
    {"m", 60ull * 1000 * 1000 * 1000},
    {"h", 3600ull * 1000 * 1000 * 1000},
};

bool digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

Result<int64_t> parse_go_duration(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return fail(Errc::kInvalidArgument, fmt::format("invalid duration \"{}\": {}", text, why));
  };
  std::string_view s = text;
  bool neg = false;
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
    neg = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return int64_t{0};
  if (s.empty()) return bad("empty");
  uint64_t total = 0;
  while (!s.empty()) {
    if (!(s.front() == '.' || digit(s.front()))) return bad("expected a number");
    // The integer part.
    uint64_t v = 0;
    size_t i = 0;
    while (i < s.size() && digit(s[i])) {
      if (v > kMaxDuration / 10) return bad("out of range");
      v = v * 10 + static_cast<uint64_t>(s[i] - '0');
      if (v > kMaxDuration) return bad("out of range");
      ++i;
    }
    bool pre = i > 0;
    s.remove_prefix(i);
    // The fraction, kept as f / scale with excess digits dropped (as Go does).
    uint64_t f = 0;
    double scale = 1;
    bool post = false;
    if (!s.empty() && s.front() == '.') {
      s.remove_prefix(1);
      size_t j = 0;
      bool overflow = false;
      while (j < s.size() && digit(s[j])) {
        if (!overflow) {
          uint64_t next = f > kMaxDuration / 10 ? kMaxDuration + 1 : f * 10 + static_cast<uint64_t>(s[j] - '0');
          if (next > kMaxDuration) {
            overflow = true;  // further digits are too small to matter
          } else {
            f = next;
            scale *= 10;
          }
        }
        ++j;
      }
      post = j > 0;
      s.remove_prefix(j);
    }
    if (!pre && !post) return bad("expected a number");
    size_t u = 0;
    while (u < s.size() && s[u] != '.' && !digit(s[u])) ++u;
    if (u == 0) return bad("missing unit");
    std::string_view unit_name = s.substr(0, u);
    s.remove_prefix(u);
    const Unit* unit = nullptr;
    for (const Unit& cand : kUnits) {
      if (cand.name == unit_name) unit = &cand;
    }
    if (!unit) return bad(fmt::format("unknown unit \"{}\"", unit_name));
    if (v > kMaxDuration / unit->ns) return bad("out of range");
    v *= unit->ns;
    if (f > 0) {
      v += static_cast<uint64_t>(static_cast<double>(f) * (static_cast<double>(unit->ns) / scale));
      if (v > kMaxDuration) return bad("out of range");
    }
    total += v;
    if (total > kMaxDuration) return bad("out of range");
  }
  if (neg) return total == kMaxDuration ? INT64_MIN : -static_cast<int64_t>(total);
  if (total > kMaxDuration - 1) return bad("out of range");
  return static_cast<int64_t>(total);
}

}  // namespace hoist::dockerfile
