#pragma once
// A small tar writer and reader for image archives (oci-archive, docker-archive):
// regular files and directories only, streamed through io::Writer / io::Reader, so
// a pipe works on both sides (no seeking). Layer tars are lib/archive's business
// (libarchive); this module may not link it (STYLE 3.1), and archives of a
// handful of blobs need nothing more.
//
// Writing: POSIX ustar headers (mtime 0, uid/gid 0, so equal input gives equal
// bytes) encoded by io/tar_format.h, which lib/archive's layer writer shares: a
// name longer than ustar's name/prefix split allows, or a size of 8 GiB or
// more, adds a pax extended header ('x') first, as Go's archive/tar does.
// Reading: ustar, pax ('x' path/size/linkpath; 'g' ignored), GNU long names ('L',
// 'K') and base-256 sizes. Header checksums are verified. Entries of other types
// are returned with size 0 (their data, if any, skipped).
//
// Thread-compatible.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "io/stream.h"
#include "io/tar_format.h"
#include "util/result.h"

namespace hoist::layout::tar {

inline constexpr size_t kBlockSize = io::tar::kBlockSize;

class TarWriter {
 public:
  explicit TarWriter(io::Writer& out) : out_(out) {}

  Result<> add_directory(std::string_view name, uint32_t mode = 0755);  // "blobs/" (a '/' is appended)
  Result<> add_file(std::string_view name, std::string_view content, uint32_t mode = 0644);
  // Streams exactly `size` bytes from `in` (kIo when it ends early) in 1 MiB chunks.
  Result<> add_file_from(std::string_view name, io::Reader& in, uint64_t size, uint32_t mode = 0644);
  // Lower level: a header, then exactly `size` bytes through write_data(), then end_file().
  Result<> begin_file(std::string_view name, uint64_t size, uint32_t mode = 0644);
  Result<> write_data(std::span<const std::byte> data);  // kInvalidArgument past the announced size
  Result<> end_file();                                   // kInvalidArgument when short; pads to 512
  // The end-of-archive marker (two zero blocks). Does not close `out`.
  Result<> finish();

 private:
  Result<> header(std::string_view name, char type, uint64_t size, uint32_t mode);
  io::Writer& out_;
  uint64_t remaining_ = 0;
  uint64_t pad_ = 0;
  bool in_file_ = false;
};

struct Entry {
  std::string name;      // as stored (a leading "./" kept)
  char type = '0';       // '0' regular ('\0' and '7' read as '0'), '5' directory, others as found
  uint64_t size = 0;     // data bytes; 0 for everything but regular files
  uint32_t mode = 0;
  std::string linkname;
};

// A source that can move forward without reading the bytes in between (a
// regular file: lseek). TarReader uses it to step over entries it is not asked
// to read, so indexing a multi-GiB archive file reads only its headers.
class Skipper {
 public:
  virtual ~Skipper() = default;
  virtual Result<> skip(uint64_t n) = 0;
};

// Reads entries; the reader itself reads the current entry's data (0 at its end).
class TarReader : public io::Reader {
 public:
  explicit TarReader(io::Reader& in, Skipper* skipper = nullptr) : in_(in), skipper_(skipper) {}
  // The next entry, skipping what is left of the current one's data. nullopt at the
  // end of the archive (two zero blocks, or the stream ending on a block boundary).
  // kInvalidArgument for a bad checksum or malformed field, kIo when truncated.
  Result<std::optional<Entry>> next();
  Result<size_t> read(std::span<std::byte> buf) override;
  uint64_t remaining() const { return remaining_; }
  // Offset in the stream of the current entry's first data byte (valid after
  // next() returned an entry): an archive file can then be read in place.
  uint64_t data_offset() const { return data_offset_; }

 private:
  Result<> skip(uint64_t n);
  Result<std::string> read_small(uint64_t size, std::string_view what);
  io::Reader& in_;
  Skipper* skipper_;
  uint64_t pos_ = 0;  // bytes consumed from `in_` (read or skipped)
  uint64_t data_offset_ = 0;
  uint64_t remaining_ = 0;
  uint64_t pad_ = 0;
  bool ended_ = false;
};

}  // namespace hoist::layout::tar
