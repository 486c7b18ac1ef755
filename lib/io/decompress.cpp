#include "io/decompress.h"

#include "io/gzip.h"
#include "io/peek.h"
#include "io/zstd.h"

namespace hoist::io {

namespace {

class ForwardReader : public Reader {
 public:
  explicit ForwardReader(Reader& in) : in_(in) {}
  Result<size_t> read(std::span<std::byte> buf) override { return in_.read(buf); }

 private:
  Reader& in_;
};

class ForwardWriter : public Writer {
 public:
  explicit ForwardWriter(Writer& out) : out_(out) {}
  Result<> write(std::span<const std::byte> data) override { return out_.write(data); }
  Result<> close() override { return out_.close(); }

 private:
  Writer& out_;
};

// Owns the PeekReader the decompressor reads from; members are destroyed in
// reverse order, so the decompressor goes before the reader it refers to.
class AutoReader : public Reader {
 public:
  explicit AutoReader(Reader& in) : peek_(std::make_unique<PeekReader>(in)) {}
  PeekReader& peek() { return *peek_; }
  void set_inner(std::unique_ptr<Reader> inner) { inner_ = std::move(inner); }
  Result<size_t> read(std::span<std::byte> buf) override { return inner_->read(buf); }

 private:
  std::unique_ptr<PeekReader> peek_;
  std::unique_ptr<Reader> inner_;
};

}  // namespace

std::string_view compression_name(Compression c) {
  switch (c) {
    case Compression::kNone: return "none";
    case Compression::kGzip: return "gzip";
    case Compression::kZstd: return "zstd";
  }
  return "none";
}

Compression sniff(std::span<const std::byte> b) {
  auto at = [&](size_t i) { return std::to_integer<unsigned>(b[i]); };
  if (b.size() >= 2 && at(0) == 0x1f && at(1) == 0x8b) return Compression::kGzip;
  if (b.size() >= 4 && at(0) == 0x28 && at(1) == 0xb5 && at(2) == 0x2f && at(3) == 0xfd) {
    return Compression::kZstd;
  }
  return Compression::kNone;
}

Result<std::unique_ptr<Reader>> open_decompressed(Reader& in, Compression c) {
  switch (c) {
    case Compression::kGzip: return std::make_unique<GzipReader>(in);
    case Compression::kZstd: return std::make_unique<ZstdReader>(in);
    case Compression::kNone: break;
  }
  return std::make_unique<ForwardReader>(in);
}

Result<std::unique_ptr<Reader>> open_decompressed_auto(Reader& in, Compression* detected) {
  auto out = std::make_unique<AutoReader>(in);
  auto first = HOIST_TRY(out->peek().peek(kSniffBytes));
  Compression c = sniff(first);
  if (detected != nullptr) *detected = c;
  auto inner = HOIST_TRY(open_decompressed(out->peek(), c));
  out->set_inner(std::move(inner));
  return std::unique_ptr<Reader>(std::move(out));
}

Result<std::unique_ptr<Writer>> open_compressor(Writer& out, Compression c, int level) {
  switch (c) {
    case Compression::kGzip:
      return std::make_unique<GzipWriter>(out, level < 0 ? GzipWriter::kDefaultLevel : level);
    case Compression::kZstd:
      return std::make_unique<ZstdWriter>(out, level < 0 ? ZstdWriter::kDefaultLevel : level);
    case Compression::kNone: break;
  }
  return std::make_unique<ForwardWriter>(out);
}

}  // namespace hoist::io
