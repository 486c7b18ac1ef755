#pragma once
// ArchiveFile: an image archive that is a regular file (oci-archive:FILE,
// docker-archive:FILE), read in place. open() reads the tar headers only,
// stepping over the data with lseek, and remembers where each regular file's
// bytes are; members are then read with pread, so nothing is extracted or
// copied and a 10 GiB archive costs a few reads to open. (A pipe cannot be read
// this way: see read_oci_archive / import_oci_archive in layout/archive.h.)
//
// Names are looked up, never used as paths: a member called "../../etc/passwd"
// can be listed but not written anywhere. Lookups take the name as the archive's
// manifest names it; clean_member_name() is the rule both sides go through.
//
// Thread-safe after open(): readers of members share nothing but the fd.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "io/stream.h"
#include "sys/fd.h"
#include "util/result.h"

namespace hoist::layout {

// "./a//b" -> "a/b". kInvalidArgument for an absolute name, an empty one, or
// one with a ".." component ("path escapes the archive").
Result<std::string> clean_member_name(std::string_view name);

class ArchiveFile {
 public:
  struct Member {
    uint64_t offset = 0;  // of the first data byte in the file
    uint64_t size = 0;
  };

  // kNotFound when the file is missing; kInvalidArgument (from the tar reader)
  // for a file that is not a tar; kIo when a member runs past the end of file.
  // Members with unclean names are left out (they cannot be named by a
  // manifest that passes clean_member_name).
  static Result<std::unique_ptr<ArchiveFile>> open(const std::string& path);

  const std::string& path() const { return path_; }
  const std::map<std::string, Member>& members() const { return members_; }
  // nullptr when absent (after clean_member_name; an unclean name is absent).
  const Member* find(std::string_view name) const;
  // A whole member, at most max_bytes (kInvalidArgument when larger, kNotFound
  // "no 'NAME' in archive 'PATH'" when absent).
  Result<std::string> read(std::string_view name, size_t max_bytes) const;
  // A reader over the member's bytes from `offset` on.
  std::unique_ptr<io::Reader> open_member(const Member& m, uint64_t offset = 0) const;

 private:
  ArchiveFile(std::string path, sys::Fd fd) : path_(std::move(path)), fd_(std::move(fd)) {}
  std::string path_;
  sys::Fd fd_;
  std::map<std::string, Member> members_;
};

}  // namespace hoist::layout
