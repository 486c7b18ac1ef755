#include "dockerfile/runmount.h"

#include <fmt/format.h>

#include <cctype>
#include <cmath>
#include <cstdlib>

#include "util/strings.h"

namespace hoist::dockerfile {

Result<std::vector<std::string>> split_csv(std::string_view line) {
  if (line.ends_with("\r\n")) {
    line.remove_suffix(2);
  } else if (line.ends_with('\n')) {
    line.remove_suffix(1);
  }
  std::vector<std::string> out;
  if (line.empty()) return out;
  size_t i = 0;
  for (;;) {
    if (i >= line.size() || line[i] != '"') {
      size_t comma = line.find(',', i);
      std::string_view field = line.substr(i, comma == std::string_view::npos ? std::string_view::npos : comma - i);
      if (field.find('"') != std::string_view::npos) {
        return fail(Errc::kInvalidArgument, fmt::format("bare \" in non-quoted field in '{}'", line));
      }
      out.emplace_back(field);
      if (comma == std::string_view::npos) return out;
      i = comma + 1;
      continue;
    }
    ++i;  // opening quote
    std::string field;
    for (;;) {
      size_t q = line.find('"', i);
      if (q == std::string_view::npos) {
        return fail(Errc::kInvalidArgument, fmt::format("extraneous or missing \" in quoted field in '{}'", line));
      }
      field.append(line.substr(i, q - i));
      i = q + 1;
      if (i < line.size() && line[i] == '"') {  // "" is a quote
        field += '"';
        ++i;
        continue;
      }
      break;
    }
    out.push_back(std::move(field));
    if (i >= line.size()) return out;
    if (line[i] != ',') {
      return fail(Errc::kInvalidArgument, fmt::format("extraneous or missing \" in quoted field in '{}'", line));
    }
    ++i;
  }
}

std::string join_csv(const std::vector<std::string>& fields) {
  std::string out;
  for (size_t k = 0; k < fields.size(); ++k) {
    if (k) out += ',';
    const std::string& f = fields[k];
    if (f.find_first_of(",\"\r\n") == std::string::npos) {
      out += f;
      continue;
    }
    out += '"';
    for (char c : f) {
      if (c == '"') out += '"';
      out += c;
    }
    out += '"';
  }
  return out;
}

namespace {

std::optional<bool> parse_bool(std::string_view v) {
  if (v == "1" || v == "t" || v == "T" || v == "TRUE" || v == "true" || v == "True") return true;
  if (v == "0" || v == "f" || v == "F" || v == "FALSE" || v == "false" || v == "False") return false;
  return std::nullopt;
}

// docker/go-units RAMInBytes: "64m", "1.5GiB", "1024" (binary multipliers).
std::optional<int64_t> ram_in_bytes(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) ++i;
  std::string_view num = s.substr(0, i);
  if (num.empty() || num.front() == '.' || num.back() == '.') return std::nullopt;
  std::string_view unit = s.substr(i);
  if (unit.starts_with(' ')) unit.remove_prefix(1);
  double mult = 1;
  if (!unit.empty()) {
    static constexpr std::string_view kPrefixes = "kmgtp";
    size_t p = kPrefixes.find(static_cast<char>(std::tolower(static_cast<unsigned char>(unit.front()))));
    if (p != std::string_view::npos) {
      mult = std::pow(1024.0, static_cast<double>(p + 1));
      unit.remove_prefix(1);
    }
    if (!unit.empty() && (unit.front() == 'i' || unit.front() == 'I')) unit.remove_prefix(1);
    if (!unit.empty() && (unit.front() == 'b' || unit.front() == 'B')) unit.remove_prefix(1);
    if (!unit.empty()) return std::nullopt;
  }
  double v = std::strtod(std::string(num).c_str(), nullptr);
  double bytes = v * mult;
  if (!(bytes < 9.2e18)) return std::nullopt;
  return static_cast<int64_t>(bytes);
}

std::optional<uint32_t> parse_uint(std::string_view v, int base) {
  if (v.empty() || v.size() > 11) return std::nullopt;
  uint64_t n = 0;
  for (char c : v) {
    int d = c - '0';
    if (d < 0 || d >= base) return std::nullopt;
    n = n * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
  }
  if (n > 0xFFFFFFFFu) return std::nullopt;
  return static_cast<uint32_t>(n);
}

}  // namespace

Result<Mount> parse_mount(std::string_view spec) {
  auto fields = split_csv(spec);
  if (!fields) return fail(Errc::kInvalidArgument, "failed to parse csv mounts: " + fields.error().message());
  Mount m;
  bool ro_auto = true;
  auto err = [](std::string msg) { return fail(Errc::kInvalidArgument, std::move(msg)); };
  auto bad_value = [&](std::string_view k, std::string_view v) {
    return err(fmt::format("invalid value for {}: {}", k, v));
  };
  for (const std::string& field : *fields) {
    size_t eq = field.find('=');
    std::string key = to_lower(field.substr(0, eq));
    if (eq == std::string::npos) {
      if (key == "readonly" || key == "ro") {
        m.readonly = true;
        ro_auto = false;
      } else if (key == "readwrite" || key == "rw") {
        m.readonly = false;
        ro_auto = false;
      } else if (key == "required") {
        if (m.type != "secret" && m.type != "ssh") {
          return err(fmt::format("unexpected key '{}' for mount type '{}'", key, m.type));
        }
        m.required = true;
      } else {
        return err(fmt::format("invalid field '{}' must be a key=value pair", field));
      }
      continue;
    }
    std::string value = field.substr(eq + 1);
    if (key == "type") {
      std::string t = to_lower(value);
      if (t != "bind" && t != "cache" && t != "tmpfs" && t != "secret" && t != "ssh") {
        return err(fmt::format("unsupported mount type \"{}\"", value));
      }
      m.type = t;
    } else if (key == "from") {
      m.from = value;
    } else if (key == "source" || key == "src") {
      m.source = value;
    } else if (key == "target" || key == "dst" || key == "destination") {
      m.target = value;
    } else if (key == "readonly" || key == "ro" || key == "readwrite" || key == "rw") {
      auto b = parse_bool(value);
      if (!b) return bad_value(key, value);
      m.readonly = (key == "readonly" || key == "ro") ? *b : !*b;
      ro_auto = false;
    } else if (key == "required") {
      if (m.type != "secret" && m.type != "ssh") {
        return err(fmt::format("unexpected key '{}' for mount type '{}'", key, m.type));
      }
      auto b = parse_bool(value);
      if (!b) return bad_value(key, value);
      m.required = *b;
    } else if (key == "size") {
      if (m.type != "tmpfs") return err(fmt::format("unexpected key '{}' for mount type '{}'", key, m.type));
      auto n = ram_in_bytes(value);
      if (!n) return bad_value(key, value);
      m.size_limit = *n;
    } else if (key == "id") {
      m.cache_id = value;
    } else if (key == "sharing") {
      std::string v = to_lower(value);
      if (v != "shared" && v != "private" && v != "locked") {
        return err(fmt::format("unsupported sharing value \"{}\"", value));
      }
      m.sharing = v;
    } else if (key == "mode" || key == "uid" || key == "gid") {
      auto n = parse_uint(value, key == "mode" ? 8 : 10);
      if (!n) return err(fmt::format("invalid value {} for {}", value, key));
      (key == "mode" ? m.mode : key == "uid" ? m.uid : m.gid) = *n;
    } else if (key == "env") {
      m.env = value;
    } else {
      return err(fmt::format("unexpected key '{}' in '{}'", key, field));
    }
  }
  bool file_info_allowed = m.type == "secret" || m.type == "ssh" || m.type == "cache";
  if (!file_info_allowed) {
    if (m.mode) return err(fmt::format("mode not allowed for \"{}\" type mounts", m.type));
    if (m.uid) return err(fmt::format("uid not allowed for \"{}\" type mounts", m.type));
    if (m.gid) return err(fmt::format("gid not allowed for \"{}\" type mounts", m.type));
  }
  if (ro_auto) m.readonly = !(m.type == "cache" || m.type == "tmpfs");
  if (m.type == "secret") {
    if (!m.from.empty()) return err("secret mount should not have a from");
    if (!m.sharing.empty()) return err("secret mount should not define sharing");
    if (m.source.empty() && m.target.empty() && m.cache_id.empty()) {
      return err("invalid secret mount: one of source, target required");
    }
    if (!m.source.empty() && !m.cache_id.empty()) return err("both source and id can't be set");
  }
  if (!m.sharing.empty() && m.type != "cache") {
    return err(fmt::format("invalid cache sharing set for {} mount", m.type));
  }
  return m;
}

}  // namespace hoist::dockerfile
