// hoist VERB ARGS...: runs hoist-VERB ARGS... (git's execv_dashed_external).
// hoist-VERB is looked up beside this binary first, then on $PATH.

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace {

constexpr const char* kUsage =
    "usage: hoist VERB [ARGS...]\n"
    "\n"
    "A daemonless OCI image toolchain. Verbs:\n"
    "  pull     copy images from a registry into the store, an OCI layout or an archive\n"
    "  push     send images to a registry\n"
    "  unpack   turn an image into an OCI runtime bundle\n"
    "  run      run an OCI bundle (runc-compatible)\n"
    "  build    build an image from a Dockerfile\n"
    "\n"
    "'hoist VERB --help' (or 'hoist-VERB --help') explains each one.\n"
    "Example:  hoist pull busybox | hoist unpack - ./bundle && hoist run run -b ./bundle c1\n";

std::string self_dir() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return {};
  std::string p(buf, size_t(n));
  auto slash = p.rfind('/');
  return slash == std::string::npos ? std::string() : p.substr(0, slash);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string_view(argv[1]) == "-h" || std::string_view(argv[1]) == "--help" ||
      std::string_view(argv[1]) == "help") {
    fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  std::string verb = argv[1];
  if (verb == "--version") {
    puts("hoist 0.1.0");
    return 0;
  }
  if (verb.empty() || verb[0] == '-' || verb.find('/') != std::string::npos) {
    fprintf(stderr, "hoist: '%s' is not a hoist command. See 'hoist --help'.\n", verb.c_str());
    return 2;
  }
  std::string name = "hoist-" + verb;
  std::vector<char*> args;
  args.push_back(name.data());
  for (int i = 2; i < argc; ++i) args.push_back(argv[i]);
  args.push_back(nullptr);

  int err = ENOENT;
  if (std::string dir = self_dir(); !dir.empty()) {
    std::string path = dir + "/" + name;
    execv(path.c_str(), args.data());
    err = errno;
  }
  if (err == ENOENT) {
    execvp(name.c_str(), args.data());
    err = errno;
  }
  if (err == ENOENT) {
    fprintf(stderr, "hoist: '%s' is not a hoist command. See 'hoist --help'.\n", verb.c_str());
    return 2;
  }
  fprintf(stderr, "hoist: cannot run '%s': %s\n", name.c_str(), strerror(err));
  return 1;
}
