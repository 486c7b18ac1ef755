#pragma once
// Content descriptors (image-spec descriptor.md). JSON (de)serialisation keeps
// field order and unknown fields out: a descriptor we write has mediaType,
// digest, size, then the optional urls, annotations, platform, artifactType
// (the order of the Go structs other tools write, so our output diffs cleanly).
// Pure values; thread-compatible.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "digest/digest.h"
#include "ref/platform.h"
#include "util/result.h"

namespace hoist::image {

struct Descriptor {
  std::string media_type;
  digest::Digest digest;
  uint64_t size = 0;
  std::vector<std::string> urls;
  std::map<std::string, std::string> annotations;
  std::optional<ref::Platform> platform;
  std::string artifact_type;

  bool operator==(const Descriptor&) const = default;
};

// Strict: an object; mediaType a non-empty string; digest parsed with digest::parse;
// size a non-negative integer no larger than int64's maximum (so -1, 1.5 and 1e3 are
// refused); urls an array of strings; annotations an object of strings; platform
// per platform_from_json; artifactType a string. An optional field may be null (Go's
// encoding/json reads null as absent). Unknown fields are ignored, as the spec asks;
// the embedded `data` field must be a string and is not kept.
// kInvalidArgument naming the field ("'size' must be a non-negative integer");
// kUnsupported for a digest algorithm digest::parse does not know.
Result<Descriptor> descriptor_from_json(const nlohmann::json& j);
nlohmann::ordered_json to_json(const Descriptor& d);

// image-index.md's platform object: architecture and os required strings; os.version,
// os.features, variant optional. Values are kept as written (not normalised):
// ref::matches normalises when comparing.
Result<ref::Platform> platform_from_json(const nlohmann::json& j);
nlohmann::ordered_json to_json(const ref::Platform& p);

}  // namespace hoist::image
