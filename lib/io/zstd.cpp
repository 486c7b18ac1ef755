#include "io/zstd.h"

#include <fmt/core.h>
#include <zstd.h>

#include <algorithm>

namespace hoist::io {

namespace {

Error corrupt(size_t code) {
  return Error(Errc::kInvalidArgument, fmt::format("corrupt zstd stream: {}", ZSTD_getErrorName(code)));
}

}  // namespace

// ---- ZstdReader -------------------------------------------------------------

struct ZstdReader::State {
  ZSTD_DCtx* dctx = ZSTD_createDCtx();
  size_t in_cap = ZSTD_DStreamInSize();
  std::unique_ptr<std::byte[]> in_buf = std::make_unique_for_overwrite<std::byte[]>(in_cap);
  ZSTD_inBuffer in{nullptr, 0, 0};
  ~State() { ZSTD_freeDCtx(dctx); }
};

ZstdReader::ZstdReader(Reader& compressed) : in_(compressed), st_(std::make_unique<State>()) {
  if (st_->dctx == nullptr) error_.set(Error(Errc::kInternal, "cannot create zstd decompression context"));
}

ZstdReader::~ZstdReader() = default;

Result<size_t> ZstdReader::read(std::span<std::byte> buf) {
  if (error_.failed()) return error_.get();
  if (buf.empty()) return 0;
  State& st = *st_;
  while (true) {
    if (st.in.pos == st.in.size && !eof_) {
      auto n = in_.read({st.in_buf.get(), st.in_cap});
      if (!n) return error_.set(std::move(n).error());
      if (*n == 0) eof_ = true;
      st.in = {st.in_buf.get(), *n, 0};
      compressed_count_ += *n;
    }
    ZSTD_outBuffer out{buf.data(), buf.size(), 0};
    size_t in_before = st.in.pos;
    size_t ret = ZSTD_decompressStream(st.dctx, &out, &st.in);
    if (ZSTD_isError(ret)) return error_.set(corrupt(ret));
    // A call that neither consumed nor produced anything (the empty read at
    // EOF) answers "how much for the next frame?", not "is this one done?".
    if (st.in.pos != in_before || out.pos > 0) last_hint_ = ret;
    if (out.pos > 0) return out.pos;
    if (st.in.pos == st.in.size && eof_) {
      // ret == 0: the last frame is complete and fully flushed. Empty input
      // never started a frame and is an error, as with zstd -d.
      if (last_hint_ != 0 || compressed_count_ == 0) {
        return error_.set(Error(Errc::kInvalidArgument, "unexpected end of zstd stream"));
      }
      return 0;
    }
  }
}

// ---- ZstdWriter -------------------------------------------------------------

struct ZstdWriter::State {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  size_t out_cap = ZSTD_CStreamOutSize();
  std::unique_ptr<std::byte[]> out_buf = std::make_unique_for_overwrite<std::byte[]>(out_cap);
  size_t out_used = 0;
  ~State() { ZSTD_freeCCtx(cctx); }
};

ZstdWriter::ZstdWriter(Writer& next, int level, int workers) : next_(next), st_(std::make_unique<State>()) {
  if (st_->cctx == nullptr) {
    error_.set(Error(Errc::kInternal, "cannot create zstd compression context"));
    return;
  }
  if (level != 0 && (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel())) {
    error_.set(Error(Errc::kInvalidArgument, fmt::format("invalid zstd level {}", level)));
    return;
  }
  size_t r = ZSTD_CCtx_setParameter(st_->cctx, ZSTD_c_compressionLevel, level);
  if (!ZSTD_isError(r)) r = ZSTD_CCtx_setParameter(st_->cctx, ZSTD_c_checksumFlag, 1);
  // A libzstd built without threads rejects nbWorkers > 0; fall back to one.
  if (!ZSTD_isError(r) && workers > 0) (void)ZSTD_CCtx_setParameter(st_->cctx, ZSTD_c_nbWorkers, workers);
  if (ZSTD_isError(r)) {
    error_.set(Error(Errc::kInternal, fmt::format("cannot configure zstd: {}", ZSTD_getErrorName(r))));
  }
}

ZstdWriter::~ZstdWriter() = default;

Result<> ZstdWriter::compress(std::span<const std::byte> data, bool finish) {
  State& st = *st_;
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  while (true) {
    ZSTD_outBuffer out{st.out_buf.get(), st.out_cap, st.out_used};
    size_t ret = ZSTD_compressStream2(st.cctx, &out, &in, finish ? ZSTD_e_end : ZSTD_e_continue);
    st.out_used = out.pos;
    if (ZSTD_isError(ret)) {
      return error_.set(Error(Errc::kInternal, fmt::format("zstd compression failed: {}", ZSTD_getErrorName(ret))));
    }
    bool done = finish ? ret == 0 : in.pos == in.size;
    // Flush when the buffer is full, and at the end so close() leaves nothing.
    if (st.out_used == st.out_cap || (done && finish)) {
      auto r = next_.write({st.out_buf.get(), st.out_used});
      st.out_used = 0;
      if (!r) return error_.set(std::move(r).error());
    }
    if (done) return {};
  }
}

Result<> ZstdWriter::write(std::span<const std::byte> data) {
  if (error_.failed()) return error_.get();
  if (closed_) return error_.set(Error(Errc::kInternal, "write after close"));
  if (data.empty()) return {};
  HOIST_CHECK(compress(data, false));
  count_ += data.size();
  return {};
}

Result<> ZstdWriter::close() {
  if (closed_) return error_.failed() ? Result<>(error_.get()) : Result<>();
  closed_ = true;
  auto finished = error_.failed() ? Result<>(error_.get()) : compress({}, true);
  if (!finished) {
    (void)next_.close();
    return error_.get();
  }
  auto r = next_.close();
  if (!r) return error_.set(std::move(r).error());
  return {};
}

}  // namespace hoist::io
