#pragma once
// OCI image layout directories (image-spec image-layout.md): what `oci:DIR[:NAME]`
// names. A layout holds oci-layout ({"imageLayoutVersion":"1.0.0"}), index.json
// (an image index listing the images) and blobs/<alg>/<hex>.
//
// Names follow skopeo (containers/image oci/layout): the image called NAME is the
// index.json descriptor whose annotation org.opencontainers.image.ref.name equals
// NAME exactly. skopeo writes the tag part only ("oci:DIR:latest" -> "latest");
// hoist's store writes full names ("docker.io/library/busybox:latest"). Both are
// just strings here.

#include <string>
#include <string_view>

#include "util/result.h"

namespace hoist::layout {

inline constexpr std::string_view kRefNameAnnotation = "org.opencontainers.image.ref.name";
inline constexpr std::string_view kLayoutVersion = "1.0.0";
inline constexpr std::string_view kOciLayoutFile = "oci-layout";
inline constexpr std::string_view kIndexFile = "index.json";
inline constexpr std::string_view kOciLayoutContent = R"({"imageLayoutVersion":"1.0.0"})";
// The largest index.json hoist reads (a hostile layout cannot make it hold more).
inline constexpr size_t kMaxIndexJson = size_t{16} << 20;
// Prefix of the ingest files a LayoutWriter keeps in the layout root (.partial of an
// interrupted blob, resumable; .tmp of a crashed writer). They are not part of the
// layout and readers ignore them.
inline constexpr std::string_view kIngestPrefix = ".hoist-ingest-";

struct LayoutRef {
  std::string dir;
  std::string name;  // empty: the only image of the layout
};

// "DIR" or "DIR:NAME" (the part after "oci:"), split at the first ':' as skopeo
// does, so NAME may itself hold ':' ("/s:docker.io/library/busybox:latest").
// NAME, when given, must match skopeo's ref.name grammar:
//   component ( "/" component )*, component = [A-Za-z0-9]+ ( [-._:@+] | "--" ) ...
// kInvalidArgument "invalid layout reference 'x': ..." otherwise (empty DIR too).
Result<LayoutRef> parse_layout_ref(std::string_view text);

// True when `name` matches the grammar above.
bool valid_ref_name(std::string_view name);

}  // namespace hoist::layout
