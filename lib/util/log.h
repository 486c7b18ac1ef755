#pragma once
// A logger that is silent by default. The library reports through it; tools decide
// where it goes (stderr with -v, a file with hoist-run --log). Thread-safe.

#include <fmt/core.h>

#include <functional>
#include <string_view>

namespace hoist::log {

enum class Level : uint8_t { kDebug, kInfo, kWarn, kError };

using SinkFn = std::function<void(Level, std::string_view)>;

// Installs the sink (nullptr = silent) and the lowest level passed to it.
void set_sink(SinkFn sink, Level min_level = Level::kInfo);
bool enabled(Level level);
void write(Level level, std::string_view message);

template <typename... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::kDebug)) write(Level::kDebug, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::kInfo)) write(Level::kInfo, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::kWarn)) write(Level::kWarn, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace hoist::log
