#include "io/tar_format.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include <fmt/core.h>

namespace hoist::io::tar {
namespace {

using Block = std::array<char, kBlockSize>;

constexpr std::string_view kXattrPrefix = "SCHILY.xattr.";

// Go's isASCII works on runes; a byte-wise test is the same: every byte of a
// non-ASCII rune (or of invalid UTF-8) is >= 0x80. NUL counts as non-ASCII.
bool is_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c != 0 && static_cast<unsigned char>(c) < 0x80; });
}

std::string to_ascii(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s)
    if (c != 0 && static_cast<unsigned char>(c) < 0x80) out += c;
  return out;
}

// Go's fitsInOctal: len-1 octal digits and a NUL.
bool fits_octal(size_t len, uint64_t x) { return len >= 22 || x < (uint64_t{1} << ((len - 1) * 3)); }
bool fits_octal_signed(size_t len, int64_t x) { return x >= 0 && fits_octal(len, uint64_t(x)); }

// Go's formatter.formatString: copy (cut to the field), NUL after it when there
// is room. A cut that ends in '/' gets a NUL where the run of trailing slashes
// of the cut part starts, so old readers do not take a file for a directory.
void put_str(Block& b, Field f, std::string_view s) {
  if (!s.empty()) std::memcpy(b.data() + f.off, s.data(), std::min(s.size(), f.len));
  if (s.size() < f.len) b[f.off + s.size()] = '\0';
  if (s.size() > f.len && b[f.off + f.len - 1] == '/') {
    std::string_view cut = s.substr(0, f.len);
    size_t n = cut.find_last_not_of('/');
    n = n == std::string_view::npos ? 0 : n + 1;
    b[f.off + n] = '\0';
  }
}

// Go's formatter.formatOctal: len-1 digits, zero padded, NUL terminated; a value
// that does not fit is written as 0 (its PAX record holds the real one).
void put_octal(Block& b, Field f, uint64_t v) {
  if (!fits_octal(f.len, v)) v = 0;
  std::string s = fmt::format("{:0{}o}", v, f.len - 1);
  std::memcpy(b.data() + f.off, s.data(), f.len - 1);
  b[f.off + f.len - 1] = '\0';
}

void put_magic_and_checksum(Block& b) {
  std::memcpy(b.data() + kMagic.off, "ustar\0", 6);
  std::memcpy(b.data() + kVersion.off, "00", 2);
  std::memset(b.data() + kChksum.off, ' ', kChksum.len);
  unsigned sum = 0;
  for (char c : b) sum += static_cast<unsigned char>(c);
  std::string s = fmt::format("{:06o}", sum);  // at most 512 * 255 = 0373000
  std::memcpy(b.data() + kChksum.off, s.data(), 6);
  b[kChksum.off + 6] = '\0';
  b[kChksum.off + 7] = ' ';
}

void append_block(std::string& out, const Block& b) { out.append(b.data(), b.size()); }

// Go's path.Clean.
std::string clean(std::string_view p) {
  bool rooted = !p.empty() && p[0] == '/';
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i <= p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string_view::npos) j = p.size();
    std::string_view c = p.substr(i, j - i);
    i = j + 1;
    if (c.empty() || c == ".") continue;
    if (c == "..") {
      if (!parts.empty() && parts.back() != "..") {
        parts.pop_back();
      } else if (!rooted) {
        parts.push_back(c);
      }
      continue;
    }
    parts.push_back(c);
  }
  std::string out = rooted ? "/" : "";
  for (size_t k = 0; k < parts.size(); ++k) {
    if (k) out += '/';
    out.append(parts[k]);
  }
  if (out.empty()) out = ".";
  return out;
}

// The name of the 'x' entry: path.Join(dir, "PaxHeaders.0", base) with
// path.Split's dir/base, then writeRawFile's best effort (ASCII, 100 bytes, no
// trailing '/').
std::string pax_entry_name(std::string_view name) {
  size_t slash = name.rfind('/');
  std::string_view dir = slash == std::string_view::npos ? std::string_view() : name.substr(0, slash + 1);
  std::string_view base = slash == std::string_view::npos ? name : name.substr(slash + 1);
  std::string joined(dir);
  if (!joined.empty()) joined += '/';
  joined += "PaxHeaders.0";
  if (!base.empty()) joined.append("/").append(base);
  std::string n = to_ascii(clean(joined));
  if (n.size() > kName.len) n.resize(kName.len);
  while (!n.empty() && n.back() == '/') n.pop_back();
  return n;
}

Error invalid(std::string_view name, std::string_view why) {
  return Error(Errc::kInvalidArgument, fmt::format("invalid tar header for '{}': {}", name, why));
}

}  // namespace

std::string pax_record(std::string_view key, std::string_view value) {
  size_t base = key.size() + value.size() + 3;  // ' ', '=', '\n'
  size_t size = base + std::to_string(base).size();
  if (std::to_string(size).size() + base != size) size = std::to_string(size).size() + base;
  std::string r = std::to_string(size);
  r.reserve(size);
  r.append(" ").append(key).append("=").append(value).append("\n");
  return r;
}

bool split_ustar_path(std::string_view name, std::string_view& prefix, std::string_view& rest) {
  size_t length = name.size();
  if (length <= kName.len || !is_ascii(name)) return false;
  if (length > kPrefix.len + 1) {
    length = kPrefix.len + 1;
  } else if (name[length - 1] == '/') {
    --length;
  }
  size_t i = name.substr(0, length).rfind('/');
  if (i == std::string_view::npos || i == 0) return false;
  size_t nlen = name.size() - i - 1;
  if (nlen > kName.len || nlen == 0 || i > kPrefix.len) return false;
  prefix = name.substr(0, i);
  rest = name.substr(i + 1);
  return true;
}

std::span<const std::byte> zeros(size_t n) {
  static const std::array<std::byte, kEndOfArchiveSize> z{};
  return std::span<const std::byte>(z.data(), std::min(n, z.size()));
}

Result<> append_header(const Header& h, std::string& out) {
  std::string_view name = h.name;
  if (name.empty()) return fail(Errc::kInvalidArgument, "invalid tar header: empty name");
  if (name.find('\0') != std::string_view::npos) return fail(invalid(to_ascii(name), "NUL in the name"));
  if (h.linkname.find('\0') != std::string_view::npos) return fail(invalid(name, "NUL in the link name"));
  bool slash_forbidden = h.typeflag == kTypeFile || h.typeflag == kTypeChar || h.typeflag == kTypeBlock ||
                         h.typeflag == kTypeFifo;
  if (slash_forbidden && name.back() == '/') return fail(invalid(name, "a trailing '/' on a non-directory"));
  if (h.mode & ~07777u) return fail(invalid(name, fmt::format("mode {:o} beyond 07777", h.mode)));
  if (!fits_octal(kDevMajor.len, h.dev_major) || !fits_octal(kDevMinor.len, h.dev_minor))
    return fail(invalid(name, "device number too large"));

  // Field by field, as Go's allowedFormats: what does not fit ustar gets a
  // record; `ustar` says whether the ustar block alone can hold it all.
  std::vector<std::pair<std::string, std::string>> recs;
  bool ustar = true;
  std::string_view prefix, rest = name;
  if (!is_ascii(name) || name.size() > kName.len) {
    if (!split_ustar_path(name, prefix, rest)) ustar = false;
    recs.emplace_back("path", std::string(name));
  }
  if (!is_ascii(h.linkname) || h.linkname.size() > kLinkname.len) {
    ustar = false;
    recs.emplace_back("linkpath", std::string(h.linkname));
  }
  auto number = [&](std::string_view key, uint64_t v, Field f) {
    if (fits_octal(f.len, v)) return;
    ustar = false;
    recs.emplace_back(std::string(key), std::to_string(v));
  };
  number("uid", h.uid, kUid);
  number("gid", h.gid, kGid);
  number("size", h.size, kSize);
  if (!fits_octal_signed(kMtime.len, h.mtime)) {
    ustar = false;
    recs.emplace_back("mtime", std::to_string(h.mtime));
  }
  for (const auto& [xname, value] : h.xattrs) {
    if (xname.empty() || xname.find('=') != std::string::npos || xname.find('\0') != std::string::npos)
      return fail(invalid(name, fmt::format("bad xattr name '{}'", to_ascii(xname))));
    ustar = false;
    recs.emplace_back(std::string(kXattrPrefix) + xname, value);
  }

  Block b{};
  b[kTypeflag] = h.typeflag;
  if (ustar) {
    put_str(b, kName, rest);
    put_str(b, kPrefix, prefix);
    put_str(b, kLinkname, h.linkname);
  } else {
    std::sort(recs.begin(), recs.end(), [](const auto& a, const auto& c) { return a.first < c.first; });
    for (size_t i = 1; i < recs.size(); ++i)
      if (recs[i].first == recs[i - 1].first)
        return fail(invalid(name, fmt::format("duplicate xattr '{}'", to_ascii(recs[i].first))));
    std::string data;
    for (const auto& [k, v] : recs) data += pax_record(k, v);
    if (data.size() > kMaxPaxSize) return fail(invalid(name, fmt::format("{} bytes of PAX records", data.size())));
    Block x{};
    x[kTypeflag] = kTypePax;
    put_str(x, kName, pax_entry_name(name));
    put_octal(x, kMode, 0);
    put_octal(x, kUid, 0);
    put_octal(x, kGid, 0);
    put_octal(x, kSize, data.size());
    put_octal(x, kMtime, 0);
    put_magic_and_checksum(x);
    append_block(out, x);
    out += data;
    out.append(size_t(padding(data.size())), '\0');
    put_str(b, kName, to_ascii(name));
    put_str(b, kLinkname, to_ascii(h.linkname));
  }
  put_octal(b, kMode, h.mode);
  put_octal(b, kUid, h.uid);
  put_octal(b, kGid, h.gid);
  put_octal(b, kSize, h.size);
  put_octal(b, kMtime, fits_octal_signed(kMtime.len, h.mtime) ? uint64_t(h.mtime) : 0);
  put_octal(b, kDevMajor, h.dev_major);
  put_octal(b, kDevMinor, h.dev_minor);
  put_magic_and_checksum(b);
  append_block(out, b);
  return {};
}

}  // namespace hoist::io::tar
