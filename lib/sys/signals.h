#pragma once
// Signal names and numbers, as runc's `kill` and the runtime spec spell them:
// "KILL", "SIGKILL" and "9" all name SIGKILL; "RTMIN+3" real-time signals too.

#include <string>
#include <string_view>

#include "util/result.h"

namespace hoist::sys {

// kInvalidArgument for an unknown name or a number out of range.
Result<int> parse_signal(std::string_view text);
// "SIGTERM"; "SIGRTMIN+3"; "SIG<n>" for numbers without a name.
std::string signal_name(int sig);

}  // namespace hoist::sys
