// hoist VERB ARGS...: runs hoist-VERB ARGS... (git's execv_dashed_external).
// hoist-VERB is looked up beside this binary first, then on $PATH.

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <string>
#include <string_view>
#include <vector>

namespace {

struct Verb {
  const char* name;
  const char* what;
};

// The verbs hoist knows; --help lists those whose hoist-VERB is installed.
constexpr Verb kVerbs[] = {
    {"build", "build an image from a Dockerfile"},
    {"pull", "copy images from a registry into the store, an OCI layout or an archive"},
    {"push", "send images to a registry"},
    {"unpack", "turn an image into an OCI runtime bundle"},
    {"run", "run an OCI bundle (runc-compatible)"},
    {"store", "list, tag and remove the store's images; its disk usage"},
};

std::string self_dir() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return {};
  std::string p(buf, size_t(n));
  auto slash = p.rfind('/');
  return slash == std::string::npos ? std::string() : p.substr(0, slash);
}

bool executable(const std::string& path) { return access(path.c_str(), X_OK) == 0; }

// Where execv_dashed would find hoist-VERB: beside this binary, else on $PATH.
bool installed(const std::string& dir, std::string_view verb) {
  std::string name = "hoist-" + std::string(verb);
  if (!dir.empty() && executable(dir + "/" + name)) return true;
  const char* path = getenv("PATH");
  std::string_view rest = path ? path : "";
  while (!rest.empty()) {
    size_t colon = rest.find(':');
    std::string_view d = rest.substr(0, colon);
    if (!d.empty() && executable(std::string(d) + "/" + name)) return true;
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  return false;
}

void usage(FILE* out) {
  fputs("usage: hoist VERB [ARGS...]\n\nA daemonless OCI image toolchain. Verbs:\n", out);
  std::string dir = self_dir();
  int shown = 0;
  for (const auto& v : kVerbs) {
    if (!installed(dir, v.name)) continue;
    fprintf(out, "  %-8s %s\n", v.name, v.what);
    ++shown;
  }
  if (shown == 0) fputs("  (none installed: no hoist-VERB beside this binary or on $PATH)\n", out);
  fputs("\n'hoist VERB --help' (or 'hoist-VERB --help') explains each one.\n"
        "Example:  hoist pull busybox | hoist unpack - ./bundle && hoist run run -b ./bundle c1\n",
        out);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string_view(argv[1]) == "-h" || std::string_view(argv[1]) == "--help" ||
      std::string_view(argv[1]) == "help") {
    usage(argc < 2 ? stderr : stdout);
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
