#pragma once
// TarReader: the entries of a tar stream (ustar, GNU and PAX, sparse files,
// SCHILY/LIBARCHIVE xattrs) pulled from an io::Reader, through libarchive's
// tar parser and nothing else (no filters: decompression happened before).
// Entries are reported as written in the archive: paths are not cleaned or
// checked here (archive/path.h does that). Thread-compatible.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "io/stream.h"
#include "util/result.h"

namespace hoist::archive {

enum class EntryType : uint8_t { kFile, kDir, kSymlink, kHardlink, kChar, kBlock, kFifo, kOther };

struct TarEntry {
  std::string path;
  EntryType type = EntryType::kFile;
  uint32_t mode = 0;  // permission bits with setuid/setgid/sticky (07777)
  uint32_t uid = 0;
  uint32_t gid = 0;
  int64_t mtime_sec = 0;
  long mtime_nsec = 0;
  std::optional<std::pair<int64_t, long>> atime;
  uint64_t size = 0;      // file data (apparent size for sparse files)
  std::string linkname;   // symlink target or hardlink target path
  uint32_t dev_major = 0;
  uint32_t dev_minor = 0;
  bool sparse = false;
  std::vector<std::pair<std::string, std::string>> xattrs;
};

// A piece of file data at `offset` (sparse files have gaps between pieces).
struct DataBlock {
  std::span<const std::byte> bytes;
  uint64_t offset = 0;
};

class TarReader {
 public:
  // `in` must outlive the reader. Reads in chunks of up to `chunk` bytes.
  explicit TarReader(io::Reader& in, size_t chunk = size_t{1} << 20);
  ~TarReader();
  TarReader(const TarReader&) = delete;
  TarReader& operator=(const TarReader&) = delete;

  // The next entry, or nullopt at the end of the archive. An empty stream is an
  // empty archive. kInvalidArgument "invalid tar stream: <reason>" for bytes that
  // are not a tar; errors of the underlying Reader pass through unchanged.
  Result<std::optional<TarEntry>> next();
  // The current entry's data, piece by piece; nullopt at its end. The bytes stay
  // valid until the next call.
  Result<std::optional<DataBlock>> read_data();

 private:
  struct State;
  std::unique_ptr<State> st_;
};

}  // namespace hoist::archive
