#pragma once
// Entry names of layer tars, cleaned lexically before anything touches the disk.

#include <string>
#include <string_view>

#include "util/result.h"

namespace hoist::archive {

// Layer-tar whiteouts (image-spec layer.md "Whiteouts"): ".wh.NAME" deletes NAME
// from the layers below; ".wh..wh..opq" in a directory hides everything below it.
inline constexpr std::string_view kWhiteoutPrefix = ".wh.";
inline constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";

// "./a//b/./c/" -> "a/b/c"; "/etc/passwd" -> "etc/passwd" (an absolute name is read
// relative to the rootfs, as tar and umoci do); "a/../b" -> "b"; "." and "/" -> ""
// (the rootfs itself). A name whose ".." climbs above the root ("../x", "a/../../x")
// is kInvalidArgument "path escapes the root". Names longer than PATH_MAX or with a
// component longer than NAME_MAX are kInvalidArgument too.
Result<std::string> clean_path(std::string_view name);

// Splits a cleaned path into its directory ("" for the root) and last component.
std::pair<std::string_view, std::string_view> split_path(std::string_view clean);

}  // namespace hoist::archive
