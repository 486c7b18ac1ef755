#!/usr/bin/env python3
"""Print a rootfs tree as sorted lines for diffing two unpackers' results:

    tree.py [--no-mtime] [--dir-mtime] [--rootless] DIR

One line per entry: path, type, mode (octal, with setuid/setgid/sticky), uid:gid,
size and sha256 for files, target for symlinks, major:minor for devices, the
xattrs (sorted, values hex), a hardlink group id (the first path of the inode),
and the mtime (files and symlinks; directories with --dir-mtime, since applying a
later layer legitimately changes them). With --rootless, owners come from the
user.rootlesscontainers xattr (which is then left out) instead of the inode.
"""
import hashlib
import os
import stat
import sys


def varints(b):
    out, i = {}, 0
    while i < len(b):
        key = b[i]
        i += 1
        v, shift = 0, 0
        while True:
            c = b[i]
            i += 1
            v |= (c & 0x7F) << shift
            shift += 7
            if not c & 0x80:
                break
        out[key >> 3] = v
    return out


def main():
    args = sys.argv[1:]
    mtime = "--no-mtime" not in args
    dir_mtime = "--dir-mtime" in args
    rootless = "--rootless" in args
    root = [a for a in args if not a.startswith("--")][0]
    inodes = {}
    lines = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            mode = st.st_mode
            kind = {stat.S_IFREG: "file", stat.S_IFDIR: "dir", stat.S_IFLNK: "link", stat.S_IFCHR: "char",
                    stat.S_IFBLK: "block", stat.S_IFIFO: "fifo", stat.S_IFSOCK: "sock"}[stat.S_IFMT(mode)]
            xattrs = {}
            try:
                for k in sorted(os.listxattr(p, follow_symlinks=False)):
                    xattrs[k] = os.getxattr(p, k, follow_symlinks=False)
            except OSError:
                pass
            uid, gid = st.st_uid, st.st_gid
            if rootless:
                v = varints(xattrs.pop("user.rootlesscontainers", b""))
                uid, gid = v.get(1, 0), v.get(2, 0)
            f = [rel, kind, "%05o" % stat.S_IMODE(mode), "%d:%d" % (uid, gid)]
            if kind == "file":
                h = hashlib.sha256()
                with open(p, "rb") as fh:
                    for chunk in iter(lambda: fh.read(1 << 20), b""):
                        h.update(chunk)
                f += [str(st.st_size), h.hexdigest()]
                key = (st.st_dev, st.st_ino)
                if st.st_nlink > 1:
                    f.append("inode=" + inodes.setdefault(key, rel))
            elif kind == "link":
                f.append("-> " + os.readlink(p))
            elif kind in ("char", "block"):
                f.append("%d:%d" % (os.major(st.st_rdev), os.minor(st.st_rdev)))
            for k, v in xattrs.items():
                f.append("xattr:%s=%s" % (k, v.hex()))
            if mtime and (kind != "dir" or dir_mtime):
                f.append("mtime=%d" % st.st_mtime)
            lines.append(" ".join(f))
    print("\n".join(lines))


main()
