#include "util/log.h"

#include <atomic>
#include <mutex>

namespace hoist::log {
namespace {
std::mutex g_mu;
SinkFn g_sink;
std::atomic<int> g_min{100};  // nothing enabled until a sink is set
}  // namespace

void set_sink(SinkFn sink, Level min_level) {
  std::lock_guard lk(g_mu);
  g_sink = std::move(sink);
  g_min = g_sink ? static_cast<int>(min_level) : 100;
}

bool enabled(Level level) { return static_cast<int>(level) >= g_min.load(std::memory_order_relaxed); }

void write(Level level, std::string_view message) {
  std::lock_guard lk(g_mu);
  if (g_sink) g_sink(level, message);
}

}  // namespace hoist::log
