#pragma once
// Image config -> OCI runtime-spec config.json (runtime-spec config.md,
// image-spec conversion.md), the job of `umoci unpack` / `oci-image-tool
// create-runtime-bundle`:
//   - process.args = Entrypoint + Cmd (each overridable), env from Env (PATH
//     added when the image has none, HOME from passwd when absent, TERM=xterm
//     with a terminal), cwd = WorkingDir or "/", user from Config.User through
//     the rootfs (bundle/user.h), terminal off unless asked;
//   - namespaces, mounts, masked and read-only paths, capabilities, rlimits and
//     noNewPrivileges as `runc spec` (1.1) writes them, `runc spec --rootless`
//     for rootless bundles (user namespace mapping the invoking user to root);
//   - annotations per conversion.md: org.opencontainers.image.{os,architecture,
//     variant,os.version,os.features,author,created,stopSignal,exposedPorts},
//     Config.Labels taking precedence.
// The result validates against schemas/runtime-config.schema.json.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bundle/user.h"
#include "image/config.h"
#include "sys/fd.h"
#include "util/result.h"

namespace hoist::bundle {

inline constexpr std::string_view kOciVersion = "1.0.2";
inline constexpr std::string_view kDefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

struct SpecOptions {
  std::optional<std::vector<std::string>> entrypoint;  // replaces Config.Entrypoint
  std::optional<std::vector<std::string>> cmd;         // replaces Config.Cmd
  bool terminal = false;
  std::string hostname = "hoist";
  std::string root_path = "rootfs";
  bool readonly_root = false;
  // Rootless: user namespace with containerID 0 -> host_uid/host_gid, no network
  // namespace, /sys bind-mounted, no devices cgroup rule (runc spec --rootless).
  bool rootless = false;
  uint32_t host_uid = 0;
  uint32_t host_gid = 0;
};

// Builds the document. kInvalidArgument "no command to run: the image has neither
// Entrypoint nor Cmd" when args would be empty.
Result<nlohmann::ordered_json> make_spec(const image::ImageConfig& config, const User& user,
                                         const SpecOptions& options);

// Resolves Config.User inside `rootfs` and builds the document.
Result<nlohmann::ordered_json> make_spec_for_rootfs(const image::ImageConfig& config, const sys::Fd& rootfs,
                                                    const SpecOptions& options);

}  // namespace hoist::bundle
