#pragma once
// TarWriter: layer tar entries pushed into an io::Writer, one after another,
// data streamed (nothing is held but one header and, for add_file, one 1 MiB
// buffer). The first stage of hoist-build's layer pipeline: tar -> diffID hasher
// -> compressor -> blob hasher -> store (STYLE.md 3.4).
//
// Encoding (io/tar_format.h, Go's archive/tar decisions): a ustar header, and a
// PAX extended header in front only when a field needs one (long or non-ASCII
// name or link name, uid/gid beyond 8^7, size >= 8 GiB, mtime outside ustar's
// range, any xattr). What goes in, from TarEntry:
//   path        as given; a directory's gets a trailing '/' when it lacks one
//   type        kFile '0', kDir '5', kSymlink '2', kHardlink '1', kChar '3',
//               kBlock '4', kFifo '6'; kOther is refused (kInvalidArgument)
//   mode        07777 (setuid/setgid/sticky kept); uid, gid numeric; uname and
//               gname empty
//   mtime_sec   whole seconds; mtime_nsec and atime are ignored (as moby and
//               containerd truncate), so equal trees give equal bytes
//   size        kFile only (0 written for every other type)
//   linkname    kSymlink and kHardlink only
//   dev_*       kChar and kBlock only
//   xattrs      PAX "SCHILY.xattr.NAME" records, in name order
//   sparse      refused (kUnsupported): files are written dense
//
// Errors: kInvalidArgument for an entry that cannot be encoded (see
// io::tar::append_header) and for misuse (data beyond or short of the size, a
// header inside a file's data); kIo "short content for 'NAME': got X of N
// bytes" when a data source ends early; the Writer's errors unchanged. After a
// failure from `out` or a short source the archive is corrupt and every later
// call fails (kInvalidArgument "tar writer failed earlier"); a refused header
// leaves the writer usable. Thread-compatible.

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "archive/tar_reader.h"
#include "io/stream.h"
#include "util/result.h"

namespace hoist::archive {

class TarWriter {
 public:
  // `out` must outlive the writer; it is never closed here.
  explicit TarWriter(io::Writer& out) : out_(out) {}
  TarWriter(const TarWriter&) = delete;
  TarWriter& operator=(const TarWriter&) = delete;

  // An entry without data: any type but a kFile with size > 0.
  Result<> add(const TarEntry& e);
  // A kFile entry and exactly e.size bytes from `data`, read in chunks of up to
  // 1 MiB (a file descriptor: io::FdReader). Bytes after e.size are not read.
  Result<> add_file(const TarEntry& e, io::Reader& data);

  // Lower level: begin() writes the header; for a kFile exactly e.size bytes
  // follow through write_data(), then end() pads to the block boundary.
  Result<> begin(const TarEntry& e);
  Result<> write_data(std::span<const std::byte> data);
  Result<> end();

  // The end-of-archive marker (two zero blocks). Does not close `out`.
  Result<> finish();

  // Bytes written to `out` so far (headers, data, padding, marker).
  uint64_t bytes_written() const { return written_; }

 private:
  Result<> put(std::span<const std::byte> bytes);
  io::Writer& out_;
  std::string header_;                 // reused between entries
  std::unique_ptr<std::byte[]> buf_;   // add_file's chunk, allocated on first use
  uint64_t written_ = 0;
  uint64_t remaining_ = 0;
  uint64_t pad_ = 0;
  bool in_file_ = false;
  bool broken_ = false;
  bool finished_ = false;
};

}  // namespace hoist::archive
