#pragma once
// Choosing a (de)compressor: by name (a media type's +gzip / +zstd, decided by
// lib/image) or by sniffing the first bytes (docker-archive layers, stdin).

#include <memory>
#include <span>
#include <string_view>

#include "io/stream.h"

namespace hoist::io {

enum class Compression : uint8_t { kNone, kGzip, kZstd };

std::string_view compression_name(Compression c);  // "none", "gzip", "zstd"

// gzip magic 1f 8b, zstd magic 28 b5 2f fd; anything else (including too few
// bytes) is kNone. Four bytes are enough to decide.
constexpr size_t kSniffBytes = 4;
Compression sniff(std::span<const std::byte> first_bytes);

// A Reader giving the decompressed bytes of `in` (kNone: `in`'s own bytes).
// `in` must outlive the result.
Result<std::unique_ptr<Reader>> open_decompressed(Reader& in, Compression c);

// Sniffs `in` and decompresses accordingly; *detected (if given) receives what
// was found. The result owns the look-ahead, `in` must outlive it. Fails only
// when reading the first bytes fails.
Result<std::unique_ptr<Reader>> open_decompressed_auto(Reader& in, Compression* detected = nullptr);

// A Writer compressing into `out` (kNone: passes bytes through). level < 0
// means the format's default (GzipWriter::kDefaultLevel, ZstdWriter::kDefaultLevel).
// close() finishes the stream and closes `out`.
Result<std::unique_ptr<Writer>> open_compressor(Writer& out, Compression c, int level = -1);

}  // namespace hoist::io
