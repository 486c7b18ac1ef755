#pragma once
// Archives as ADD meets them (Dockerfile reference "ADD"): a local file is
// unpacked when, decompressed by its content (gzip, bzip2, xz, zstd, or not
// compressed at all; never by its name), it begins with a tar header whose
// checksum is right. Decompression is libarchive's, with every filter it has.

#include <memory>

#include "io/stream.h"
#include "util/result.h"

namespace hoist::archive {

// Reads the start of the file `fd` (pread: its offset is left alone), as much
// as it takes to decompress 512 bytes. False for anything that is not a tar,
// compressed or not, and for compressed data that does not decompress.
Result<bool> is_tar_archive(int fd);

// The decompressed bytes of `in`; `in` itself when it is not compressed.
// Corrupt input is kInvalidArgument "cannot decompress: <libarchive's reason>".
Result<std::unique_ptr<io::Reader>> open_any_decompressed(io::Reader& in);

}  // namespace hoist::archive
