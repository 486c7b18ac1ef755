#include "io/hashing.h"

namespace hoist::io {

Result<> HashingWriter::write(std::span<const std::byte> data) {
  // Pass on first: the digest covers exactly the bytes `next` accepted, so a
  // failed write leaves digest() and count() describing what is downstream.
  HOIST_CHECK(next_.write(data));
  hasher_.update(data);
  count_ += data.size();
  return {};
}

Result<size_t> HashingReader::read(std::span<std::byte> buf) {
  size_t n = HOIST_TRY(in_.read(buf));
  hasher_.update(buf.first(n));
  count_ += n;
  return n;
}

}  // namespace hoist::io
