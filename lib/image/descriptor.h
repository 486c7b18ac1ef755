#pragma once
// Content descriptors (image-spec descriptor.md). JSON (de)serialisation keeps
// field order and unknown fields out: a descriptor we write has mediaType,
// digest, size, then the optional urls, annotations, platform, artifactType.

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

// Strict: digest parsed with digest::parse, size a non-negative integer,
// mediaType a string. kInvalidArgument naming the field otherwise.
Result<Descriptor> descriptor_from_json(const nlohmann::json& j);
nlohmann::json to_json(const Descriptor& d);

}  // namespace hoist::image
