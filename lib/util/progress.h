#pragma once
// ProgressSink: how the library reports long work (ninja's Status). The library
// calls it; lib/cli renders it as bars on a terminal, plain lines in CI logs, or
// JSON events (--progress=json). Implementations must be thread-safe: blob
// downloads report from several threads at once.

#include <cstdint>
#include <string>
#include <string_view>

namespace hoist {

struct ProgressItem {
  std::string id;     // stable key, e.g. a blob digest "sha256:ab…"
  std::string label;  // short text for people: "ab12cd34ef56 layer"
  uint64_t total = 0; // bytes expected, 0 when unknown
};

class ProgressSink {
 public:
  virtual ~ProgressSink() = default;
  virtual void started(const ProgressItem& item, uint64_t already_done) = 0;  // already_done: resumed bytes
  virtual void advanced(std::string_view id, uint64_t done) = 0;            // absolute byte count
  virtual void retried(std::string_view id, int attempt, std::string_view reason, double delay_seconds) = 0;
  virtual void verified(std::string_view id) = 0;
  virtual void skipped(std::string_view id, std::string_view why) = 0;     // e.g. already in the store
  virtual void finished(std::string_view id) = 0;
  virtual void failed(std::string_view id, std::string_view error) = 0;
  virtual void note(std::string_view message) = 0;                           // one-off line
};

// Discards everything.
class NullProgress final : public ProgressSink {
 public:
  void started(const ProgressItem&, uint64_t) override {}
  void advanced(std::string_view, uint64_t) override {}
  void retried(std::string_view, int, std::string_view, double) override {}
  void verified(std::string_view) override {}
  void skipped(std::string_view, std::string_view) override {}
  void finished(std::string_view) override {}
  void failed(std::string_view, std::string_view) override {}
  void note(std::string_view) override {}
};

}  // namespace hoist
