#pragma once
// Linux capability names <-> numbers ("CAP_SYS_ADMIN" <-> 21) and name lists
// -> bit masks, as the runtime spec's process.capabilities spells them.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace hoist::runtime {

// Highest capability this build knows (CAP_CHECKPOINT_RESTORE = 40).
inline constexpr int kCapLastKnown = 40;

// kInvalidArgument for an unknown name. Accepts "CAP_X" or "x" in any case.
Result<int> parse_capability(std::string_view name);
std::string capability_name(int cap);
// Names not known to the running kernel (cap > cap_last) are dropped with a
// warning appended to `warnings`, as runc does.
Result<uint64_t> capability_mask(const std::vector<std::string>& names, int cap_last,
                                 std::vector<std::string>* warnings);

}  // namespace hoist::runtime
