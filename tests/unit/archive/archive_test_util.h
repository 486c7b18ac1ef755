#pragma once
// Test sandboxes for lib/archive: a temp dir holding rootfs/ (where layers go)
// and outside/ (sentinels that no layer may touch), and real tars written by
// python's tarfile through tests/data/tar/tarlib.py.

#include <doctest/doctest.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "archive/apply.h"
#include "archive/layer.h"
#include "io/fd_stream.h"
#include "sys/file_io.h"

namespace hoist::archive::test {

namespace fs = std::filesystem;

inline std::string tarlib_dir() {
  return (fs::path(__FILE__).parent_path() / ".." / ".." / "data" / "tar").lexically_normal().string();
}

inline std::string read_all(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline void write_all(const std::string& p, const std::string& s) {
  std::ofstream f(p, std::ios::binary);
  f << s;
}

// path -> "type mode size content-or-target" for every entry under `dir`.
inline std::map<std::string, std::string> snapshot(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator(); ++it) {
    struct stat st;
    std::string p = it->path().string();
    REQUIRE(::lstat(p.c_str(), &st) == 0);
    std::string v = std::to_string(st.st_mode) + " " + std::to_string(st.st_uid) + ":" + std::to_string(st.st_gid) +
                    " " + std::to_string(st.st_size) + " " + std::to_string(st.st_nlink) + " " +
                    std::to_string(st.st_mtim.tv_sec);
    if (S_ISREG(st.st_mode)) v += " " + read_all(p);
    if (S_ISLNK(st.st_mode)) v += " -> " + fs::read_symlink(it->path()).string();
    out[p.substr(dir.size())] = v;
  }
  return out;
}

struct Sandbox {
  std::string dir, root, outside;
  sys::Fd root_fd;
  std::map<std::string, std::string> before;
  int ntar = 0;

  Sandbox() {
    char tmpl[] = "/tmp/hoist-archive-XXXXXX";
    dir = mkdtemp(tmpl);
    root = dir + "/rootfs";
    outside = dir + "/outside";
    fs::create_directories(root);
    fs::create_directories(outside + "/sub");
    write_all(outside + "/victim", "keep");
    write_all(outside + "/sub/victim2", "keep2");
    ::symlink("victim", (outside + "/link").c_str());
    root_fd = sys::open_file(root, O_PATH | O_DIRECTORY).value();
    before = snapshot(outside);
  }
  ~Sandbox() { (void)sys::remove_all(dir); }

  // Runs python `code` with `t` and OUT (a fresh tar path) predefined (t =
  // Tar(OUT)); the code must not call t.close() unless it passes a trailer.
  // Returns the tar's path.
  std::string tar(const std::string& code, bool auto_close = true) {
    std::string out = dir + "/layer" + std::to_string(ntar++) + ".tar";
    std::string script = dir + "/gen.py";
    write_all(script, "import sys, tarfile\nsys.path.insert(0, '" + tarlib_dir() + "')\nfrom tarlib import *\nOUT = '" +
                          out + "'\nOUTSIDE = '" + outside + "'\nt = Tar(OUT)\n" + code + "\n" +
                          (auto_close ? "t.close()\n" : ""));
    std::string cmd = "/usr/bin/python3 " + script;
    int rc = std::system(cmd.c_str());
    REQUIRE_MESSAGE(rc == 0, "python failed for: " << code);
    return out;
  }

  Result<ApplyStats> apply(const std::string& tar_path, ApplyOptions opts = {}) {
    sys::Fd fd = sys::open_file(tar_path, O_RDONLY).value();
    io::FdReader r(fd.get());
    return apply_tar(r, root_fd, opts);
  }

  std::string in(const std::string& p) const { return root + "/" + p; }
  bool outside_unchanged() const { return snapshot(outside) == before; }
};

}  // namespace hoist::archive::test
