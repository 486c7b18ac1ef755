#pragma once
// The sync protocol between the launcher (parent) and the container init (child),
// over a SOCK_SEQPACKET socketpair, after runc's libcontainer/sync.go. Fixed-size
// messages so the child never allocates; the pty master travels as SCM_RIGHTS.
//
// parent                              child (runtime/init)
//   clone ───────────────────────────▶ waits kGo
//   uid/gid maps, cgroups, oom ─ kGo ▶ namespaces joined and made
//                 ◀── kPid {index=pid} (pid namespace joined: the child forks,
//   reaps the first child;              its child waits, it exits)
//   the second is its child ──── kGo ▶ (subreaper) mounts
//                         ◀── kHooks   (only when there are pre-pivot hooks)
//   prestart/createRuntime/
//   createContainer hooks ─────── kGo ▶ pivot_root, masked paths, sysctl, pty
//                    ◀── kPty + fd     (terminal only)
//                         ◀── kReady   rlimits done; pdeathsig cleared
//   (create: exits; start opens exec.fifo)   waits on exec.fifo or kGo
//   (run: startContainer hooks) ── kGo ▶ user, caps, seccomp, execve
//                     ◀── EOF          execve succeeded (sync fd is CLOEXEC)
//                     ◀── kError       any step failed {step, errno, index}
// After `start` (create's container): the same kError message, or EOF at
// execve, arrive on exec.fifo instead, which the init keeps open for writing
// (CLOEXEC) after its one-byte handshake; `start` reads it to the end.

#include <cstdint>

namespace hoist::runtime::init {

enum class Msg : uint32_t { kGo = 1, kHooks, kPty, kReady, kError, kPid };

// Each step the init takes, in order; named in the parent's error message.
enum class Step : uint32_t {
  kSync = 1,
  kSetns,
  kUnshare,
  kSetsid,
  kKeyring,
  kFork,
  kRootPropagation,
  kRootBind,
  kRootOpen,
  kMount,
  kMountPropagation,
  kBind,
  kRemount,
  kDevice,
  kSymlink,
  kPivotRoot,
  kMask,
  kReadonlyPath,
  kRootReadonly,
  kHostname,
  kDomainname,
  kSysctl,
  kTerminal,
  kRlimit,
  kFifo,
  kCloseFds,
  kCwd,
  kCwdOutsideRoot,
  kCapBounding,
  kKeepCaps,
  kSetgroups,
  kSetgid,
  kSetuid,
  kCapset,
  kAmbient,
  kUmask,
  kNoNewPrivs,
  kSeccomp,
  kExec,
  kStdio,
};

struct Message {
  Msg type;
  Step step;
  int32_t err;    // errno for kError
  int32_t index;  // which mount op / path / rlimit / sysctl, or -1
};

const char* step_name(Step s);

}  // namespace hoist::runtime::init
