#pragma once
// Helpers shared by the io unit tests: temp dirs, shell commands, readers and
// writers that misbehave on purpose.

#include <doctest/doctest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "io/memory.h"
#include "io/stream.h"

namespace hoist::io::test {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/hoist-io-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path_ = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string operator/(std::string_view name) const { return path_ + "/" + std::string(name); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline void write_file(const std::string& path, std::string_view data) {
  std::ofstream f(path, std::ios::binary);
  f.write(data.data(), static_cast<std::streamsize>(data.size()));
  REQUIRE(f.good());
}

inline std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  REQUIRE(f.good());
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Runs a shell command; returns its exit status (-1 if it did not exit).
inline int shell(const std::string& cmd) {
  int st = std::system(cmd.c_str());
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

inline bool have_tool(const std::string& name) { return shell("command -v " + name + " >/dev/null 2>&1") == 0; }

// Deterministic, compressible data that is not trivially repetitive: words
// drawn from a small vocabulary mixed with runs of pseudo-random bytes, like a
// tar of text and binaries.
inline std::string layer_like(size_t n, uint32_t seed = 1) {
  static const char* kWords[] = {"usr", "lib", "bin", "share", "etc", "hoist", "layer", "\n",
                                 "  ", "=", "/", "0x", "config", "json", "tar", "\t"};
  std::string s;
  s.reserve(n);
  uint32_t x = seed;
  auto next = [&] {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return x;
  };
  while (s.size() < n) {
    uint32_t r = next();
    if (r % 32 == 0) {
      for (int i = 0; i < 8 && s.size() < n; ++i) s.push_back(static_cast<char>(next()));
    } else {
      s.append(kWords[r % 16]);
    }
  }
  s.resize(n);
  return s;
}

inline std::span<const std::byte> bytes(std::string_view s) { return as_bytes(s); }

// Reads `r` to its end with reads of at most `chunk` bytes.
inline Result<std::string> read_all(Reader& r, size_t chunk = 65536) {
  std::string out;
  std::string buf(chunk, '\0');
  while (true) {
    auto n = r.read({reinterpret_cast<std::byte*>(buf.data()), buf.size()});
    if (!n) return fail(std::move(n).error());
    if (*n == 0) return out;
    out.append(buf.data(), *n);
  }
}

// Returns at most `max_chunk` bytes per read (network-like short reads).
class ChunkedReader : public Reader {
 public:
  ChunkedReader(std::string_view data, size_t max_chunk) : data_(data), max_(max_chunk) {}
  Result<size_t> read(std::span<std::byte> buf) override {
    ++reads_;
    size_t n = std::min({buf.size(), max_, data_.size() - pos_});
    std::memcpy(buf.data(), data_.data() + pos_, n);
    pos_ += n;
    return n;
  }
  size_t consumed() const { return pos_; }
  size_t reads() const { return reads_; }

 private:
  std::string_view data_;
  size_t max_;
  size_t pos_ = 0;
  size_t reads_ = 0;
};

// Serves `data`, then fails with kIo instead of reporting EOF.
class FailingReader : public Reader {
 public:
  explicit FailingReader(std::string_view data) : data_(data) {}
  Result<size_t> read(std::span<std::byte> buf) override {
    if (pos_ == data_.size()) return fail(Errc::kIo, "connection reset");
    size_t n = std::min(buf.size(), data_.size() - pos_);
    std::memcpy(buf.data(), data_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

// Accepts `budget` bytes, then fails with kIo; records close().
class FailingWriter : public Writer {
 public:
  explicit FailingWriter(size_t budget) : budget_(budget) {}
  Result<> write(std::span<const std::byte> data) override {
    if (data.size() > budget_) return fail(Errc::kIo, "disk full");
    budget_ -= data.size();
    got_.append(as_string_view(data));
    return {};
  }
  Result<> close() override {
    ++closes_;
    return {};
  }
  const std::string& got() const { return got_; }
  int closes() const { return closes_; }

 private:
  size_t budget_;
  std::string got_;
  int closes_ = 0;
};

}  // namespace hoist::io::test
