#pragma once
// The state directory of hoist-run (runc's /run/runc): <root>/<id>/ holds
//   state.json   what hoist-run needs later (ContainerState below)
//   config.json  the config as it was at create (hooks and exec use it)
//   exec.fifo    while the container is "created": its init blocks opening it
// Status is derived, never stored: init alive + fifo present = created, alive
// without fifo = running, else stopped (runtime-spec runtime.md#state).

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace hoist::runtime {

inline constexpr std::string_view kDefaultStateRoot = "/run/hoist-run";
inline constexpr std::string_view kOciVersion = "1.0.2";

enum class Status : uint8_t { kCreating, kCreated, kRunning, kStopped };
std::string_view status_name(Status s);

struct ContainerState {
  std::string id;
  pid_t pid = 0;
  uint64_t start_time = 0;  // of pid, from /proc/<pid>/stat: guards against pid reuse
  std::string bundle;
  std::string rootfs;
  std::string created;  // RFC 3339, UTC, nanoseconds
  std::string owner;
  std::vector<std::string> cgroup_dirs;
  std::vector<std::pair<std::string, std::string>> annotations;
  bool no_new_keyring = false;  // created with --no-new-keyring: exec keeps the caller's too
  Status status = Status::kCreating;  // filled by load_state, not stored
};

// "[A-Za-z0-9][A-Za-z0-9_.+-]*", at most 1024 bytes: no path tricks in ids.
Result<> validate_id(std::string_view id);

std::string state_dir(std::string_view root, std::string_view id);
Result<> save_state(std::string_view root, const ContainerState& s);
// kNotFound: "container 'x' does not exist".
Result<ContainerState> load_state(std::string_view root, std::string_view id);
Status current_status(std::string_view root, const ContainerState& s);
// Every id under root, sorted.
Result<std::vector<std::string>> list_ids(std::string_view root);

// runc's `state` JSON (ociVersion, id, pid, status, bundle, rootfs, created,
// owner, annotations); pid is 0 once stopped. This is also what hooks read.
std::string state_json(const ContainerState& s, int indent = -1);

std::string rfc3339_now();

// Writes a state-dir file atomically for readers (temp file + rename) but
// without fsync: state describes live processes and dies with them at reboot
// (runc's state.json on /run is no more durable). Saves ~25 ms per container.
Result<> write_state_file(const std::string& path, std::string_view data);

}  // namespace hoist::runtime
