#pragma once
// Reading tars the tests wrote, two ways: lib/archive's own TarReader
// (libarchive) and python's tarfile, one line per member:
//   name|type|mode|uid:gid|size|mtime|linkname|major,minor|xattr=hex,...|data
// (python drops a directory's trailing '/'; data is the content when short and
// printable, else "sha256:<12 hex>").

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "archive/tar_reader.h"
#include "archive_test_util.h"
#include "io/memory.h"

namespace hoist::archive::test {

struct ReadEntry {
  TarEntry e;
  std::string data;
};

inline std::vector<ReadEntry> read_tar(const std::string& bytes) {
  io::StringReader in(bytes);
  TarReader r(in);
  std::vector<ReadEntry> out;
  for (;;) {
    auto next = r.next();
    REQUIRE_MESSAGE(next.has_value(), (next ? "" : next.error().message()));
    if (!*next) break;
    ReadEntry re{std::move(**next), {}};
    for (;;) {
      auto b = r.read_data();
      REQUIRE(b.has_value());
      if (!*b) break;
      REQUIRE((*b)->offset == re.data.size());
      re.data.append(reinterpret_cast<const char*>((*b)->bytes.data()), (*b)->bytes.size());
    }
    out.push_back(std::move(re));
  }
  return out;
}

inline bool have_python() { return std::system("command -v python3 >/dev/null 2>&1") == 0; }

// Python's view of the tar at `path`, one line per member.
inline std::string python_dump(const std::string& dir, const std::string& path) {
  std::string script = dir + "/dump.py";
  write_all(script, R"(import hashlib, sys, tarfile
with tarfile.open(sys.argv[1], 'r:') as t:
    for m in t:
        xs = sorted((k[13:], v.encode('utf-8', 'surrogateescape').hex())
                    for k, v in m.pax_headers.items() if k.startswith('SCHILY.xattr.'))
        data = t.extractfile(m).read() if m.isreg() else b''
        shown = data.decode() if len(data) < 40 and data.isascii() and data.decode().isprintable() \
            else 'sha256:' + hashlib.sha256(data).hexdigest()[:12]
        print('%s|%s|%o|%d:%d|%d|%d|%s|%d,%d|%s|%s' % (m.name, m.type.decode(), m.mode, m.uid, m.gid, m.size,
              m.mtime, m.linkname, m.devmajor, m.devminor, ','.join(k + '=' + v for k, v in xs), shown))
)");
  std::string out = dir + "/dump.txt";
  int rc = std::system(("python3 " + script + " '" + path + "' > " + out).c_str());
  REQUIRE_MESSAGE(rc == 0, "python could not read " << path);
  return read_all(out);
}

}  // namespace hoist::archive::test
