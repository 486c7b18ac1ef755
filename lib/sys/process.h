#pragma once
// Processes by pid without the pid-reuse race: a process is named by (pid, start
// time) as in /proc/<pid>/stat, and signalled or waited for through a pidfd.

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sys/fd.h"

namespace hoist::sys {

struct ProcStat {
  char state = '?';          // R, S, D, Z, T, ...
  uint64_t start_time = 0;   // clock ticks after boot (field 22)
  pid_t ppid = 0;
};

// kNotFound when the process is gone.
Result<ProcStat> proc_stat(pid_t pid);

// True if `pid` runs and started at `start_time` (0 = any), and is not a zombie.
bool process_alive(pid_t pid, uint64_t start_time);

// pidfd_open(2); kNotFound when the process is gone.
Result<Fd> pidfd_open(pid_t pid);
Result<> pidfd_send_signal(const Fd& pidfd, int sig);
// Waits until the process behind `pidfd` exits; timeout_ms < 0 waits forever.
// Returns false on timeout. Works for processes that are not our children.
Result<bool> pidfd_wait_exit(const Fd& pidfd, int timeout_ms);

// waitpid(pid) retrying EINTR; returns the raw status.
Result<int> wait_pid(pid_t pid);
// Shell-style exit code from a wait status: code, or 128 + signal.
int exit_code_from_status(int status);

// The pids listed in a cgroup.procs-style file (one per line).
Result<std::vector<pid_t>> read_pids(const std::string& path);

}  // namespace hoist::sys
