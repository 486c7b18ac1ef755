#pragma once
// Image configuration (image-spec config.md; Docker's container image v1 JSON has
// the same fields and more). ImageConfig holds what hoist reads and writes; `raw`
// keeps the whole parsed document, so to_json() writes back the fields hoist does
// not model (Docker's Healthcheck, Shell, OnBuild, container_config, ...).
// A config read from elsewhere is never re-serialised to compute its digest.
// Pure values; thread-compatible.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "digest/digest.h"
#include "ref/platform.h"
#include "util/result.h"

namespace hoist::image {

// The "config" object: how to run a container from the image.
struct ContainerConfig {
  std::string user;                                // "User"
  std::vector<std::string> env;                    // "Env", KEY=VALUE
  std::optional<std::vector<std::string>> entrypoint;  // "Entrypoint"; nullopt = unset, [] = cleared
  std::optional<std::vector<std::string>> cmd;         // "Cmd"
  std::string working_dir;                         // "WorkingDir"
  std::map<std::string, std::string> labels;       // "Labels"
  std::vector<std::string> exposed_ports;          // "ExposedPorts" keys: "80/tcp"
  std::vector<std::string> volumes;                // "Volumes" keys
  std::string stop_signal;                         // "StopSignal"
  bool args_escaped = false;                       // "ArgsEscaped" (Windows; kept for round trips)

  bool operator==(const ContainerConfig&) const = default;
};

struct History {
  std::string created;     // RFC 3339, "" when absent
  std::string created_by;
  std::string author;
  std::string comment;
  bool empty_layer = false;

  bool operator==(const History&) const = default;
};

struct RootFs {
  std::string type = "layers";
  std::vector<digest::Digest> diff_ids;  // one per non-empty layer, in order

  bool operator==(const RootFs&) const = default;
};

struct ImageConfig {
  std::string created;  // RFC 3339, "" when absent
  std::string author;
  std::string architecture;
  std::string os;
  std::string os_version;
  std::vector<std::string> os_features;
  std::string variant;
  ContainerConfig config;
  RootFs rootfs;
  std::vector<History> history;
  // The document as parsed (an empty object for a config built in memory).
  nlohmann::json raw = nlohmann::json::object();

  // os/architecture/variant as a platform (not normalised).
  ref::Platform platform() const;
};

// Strict where it matters: an object; architecture and os non-empty strings;
// rootfs.type "layers" and every diff_id parsed with digest::parse; each modelled
// field of the documented type (null reads as absent, as Go's encoding/json does).
// Unmodelled fields are kept in `raw` unchecked. kInvalidArgument
// "invalid image config: <why>"; kUnsupported for an unknown digest algorithm.
Result<ImageConfig> parse_config(std::string_view bytes);

// The modelled fields in the Go struct order (created, author, architecture, os,
// os.version, os.features, variant, config, rootfs, history), followed by the keys of
// `raw` (and of raw["config"]) that are not modelled. Empty optional fields are
// left out; rootfs is always written.
nlohmann::ordered_json to_json(const ImageConfig& c);
std::string serialize(const ImageConfig& c);

}  // namespace hoist::image
