#pragma once
// The tar header encoding every tar writer of hoist shares (lib/layout's image
// archives, lib/archive's layer tars): POSIX ustar blocks, with a PAX extended
// header ('x') in front only when a field does not fit ustar, decided field by
// field as Go's archive/tar decides (Header.allowedFormats in common.go,
// writeUSTARHeader / writePAXHeader in writer.go), so a layer written here is
// byte for byte the one BuildKit, containerd and moby write from the same
// metadata. This is pure encoding: no I/O, no file system.
//
// A PAX header is written when, and only when, one of these holds:
//   - the name is not ASCII, or is longer than 100 bytes and cannot be split at
//     a '/' into ustar's prefix (<= 155) and name (<= 100) fields;
//   - the link name is not ASCII or longer than 100 bytes;
//   - uid or gid >= 8^7 (the 8-byte octal field), size >= 8 GiB, or mtime
//     outside [0, 8^11);
//   - there is any xattr (records "SCHILY.xattr.NAME", value as raw bytes).
// Then the records are sorted by key (Go's order), a record is written for every
// field that does not fit (a long name gets "path" even when it could have been
// split), the 'x' entry is named "DIR/PaxHeaders.0/BASE" (mode, owner, mtime 0),
// and the ustar block that follows carries what fits: the name with non-ASCII
// bytes dropped, cut to 100 bytes, no prefix; a number that does not fit as 0.
// Both blocks carry magic "ustar\0" version "00"; uname and gname stay empty;
// devmajor/devminor are written as octal (0 for non-devices).
//
// Thread-safe (no state).

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "util/result.h"

namespace hoist::io::tar {

inline constexpr size_t kBlockSize = 512;
// The end-of-archive marker: two zero blocks.
inline constexpr size_t kEndOfArchiveSize = 2 * kBlockSize;
// Go refuses a PAX header larger than this (maxSpecialFileSize); so do we.
inline constexpr size_t kMaxPaxSize = size_t{1} << 20;

// Type flags.
inline constexpr char kTypeFile = '0';
inline constexpr char kTypeHardlink = '1';
inline constexpr char kTypeSymlink = '2';
inline constexpr char kTypeChar = '3';
inline constexpr char kTypeBlock = '4';
inline constexpr char kTypeDir = '5';
inline constexpr char kTypeFifo = '6';
inline constexpr char kTypePax = 'x';

// Offsets and widths of the ustar header's fields (POSIX pax "ustar Interchange
// Format"), for readers too.
struct Field {
  size_t off, len;
};
inline constexpr Field kName{0, 100}, kMode{100, 8}, kUid{108, 8}, kGid{116, 8}, kSize{124, 12}, kMtime{136, 12},
    kChksum{148, 8}, kLinkname{157, 100}, kMagic{257, 6}, kVersion{263, 2}, kUname{265, 32}, kGname{297, 32},
    kDevMajor{329, 8}, kDevMinor{337, 8}, kPrefix{345, 155};
inline constexpr size_t kTypeflag = 156;

struct Header {
  std::string_view name;      // as it goes in the archive ("dir/" for directories)
  std::string_view linkname;  // symlink target or hardlink target
  char typeflag = kTypeFile;
  uint32_t mode = 0;          // 07777 bits only
  uint64_t uid = 0;
  uint64_t gid = 0;
  uint64_t size = 0;          // data bytes following the header (0 for header-only types)
  int64_t mtime = 0;          // whole seconds
  uint32_t dev_major = 0;
  uint32_t dev_minor = 0;
  // Written as "SCHILY.xattr.<name>" PAX records; names unique, without '=' or NUL.
  std::span<const std::pair<std::string, std::string>> xattrs;
};

// Appends the encoding of `h` (an optional PAX header with its records and
// padding, then the ustar block: a multiple of kBlockSize bytes) to `out`.
// Errors, all kInvalidArgument "invalid tar header for 'NAME': ...": an empty
// name, a NUL in the name or link name, a trailing '/' on a file, device or
// fifo name, mode bits beyond 07777, device numbers beyond 8^7, a bad or
// duplicate xattr name, PAX records over kMaxPaxSize.
Result<> append_header(const Header& h, std::string& out);

// Zero bytes to pad `size` data bytes to a block boundary.
inline uint64_t padding(uint64_t size) { return (kBlockSize - size % kBlockSize) % kBlockSize; }

// `n` zero bytes, n <= kEndOfArchiveSize (padding, the end-of-archive marker).
std::span<const std::byte> zeros(size_t n);

// One PAX record, "%d key=value\n" where %d counts the whole record.
std::string pax_record(std::string_view key, std::string_view value);

// The split of `name` into ustar's prefix and name fields Go's splitUSTARPath
// makes (at the last '/' that leaves both parts fitting); false when the name
// fits the name field alone, is not ASCII, or cannot be split.
bool split_ustar_path(std::string_view name, std::string_view& prefix, std::string_view& rest);

}  // namespace hoist::io::tar
