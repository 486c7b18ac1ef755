"""Helpers for writing test layer tars (hostile ones included) with python's tarfile.

    t = Tar("/path/layer.tar")            # or Tar(path, fmt=tarfile.GNU_FORMAT)
    t.dir("etc", mode=0o755, uid=0, gid=0, mtime=..., xattrs={...})
    t.file("etc/passwd", b"...", mode=0o644, uid=0, gid=0, xattrs={"user.a": "b"})
    t.symlink("link", "/etc")
    t.hardlink("h", "etc/passwd")
    t.char("dev/null", 1, 3); t.block("dev/sda", 8, 0); t.fifo("pipe")
    t.whiteout("dir/name"); t.opaque("dir")
    t.close(trailer=b"")                    # bytes after the end-of-archive marker
    gzip_file(path) / zstd_file(path)       # path + ".gz" / ".zst"

Names are written exactly as given: '../x', '/abs' and 2000-character names pass
through untouched. xattrs are PAX SCHILY.xattr records.
"""
import gzip
import io
import shutil
import subprocess
import tarfile

MTIME = 1700000000


class Tar:
    def __init__(self, path, fmt=tarfile.PAX_FORMAT):
        self.path = path
        self.f = open(path, "wb")
        self.t = tarfile.open(fileobj=self.f, mode="w", format=fmt)

    def _info(self, name, typ, mode, uid, gid, mtime, xattrs):
        ti = tarfile.TarInfo(name)
        ti.type = typ
        ti.mode = mode
        ti.uid, ti.gid = uid, gid
        ti.uname = ti.gname = ""
        ti.mtime = MTIME if mtime is None else mtime
        if xattrs:
            ti.pax_headers = {"SCHILY.xattr." + k: v for k, v in xattrs.items()}
        return ti

    def dir(self, name, mode=0o755, uid=0, gid=0, mtime=None, xattrs=None):
        self.t.addfile(self._info(name, tarfile.DIRTYPE, mode, uid, gid, mtime, xattrs))

    def file(self, name, data=b"", mode=0o644, uid=0, gid=0, mtime=None, xattrs=None):
        if isinstance(data, str):
            data = data.encode()
        ti = self._info(name, tarfile.REGTYPE, mode, uid, gid, mtime, xattrs)
        ti.size = len(data)
        self.t.addfile(ti, io.BytesIO(data))

    def big_file(self, name, size, chunk=b"\0"):
        """A file of `size` bytes of `chunk` repeated, streamed (decompression bombs)."""
        ti = self._info(name, tarfile.REGTYPE, 0o644, 0, 0, None, None)
        ti.size = size

        class Gen(io.RawIOBase):
            def __init__(self):
                self.left = size

            def readable(self):
                return True

            def readinto(self, b):
                n = min(len(b), self.left)
                b[:n] = (chunk * (n // len(chunk) + 1))[:n]
                self.left -= n
                return n
        self.t.addfile(ti, io.BufferedReader(Gen(), 1 << 20))

    def symlink(self, name, target, uid=0, gid=0, mtime=None):
        ti = self._info(name, tarfile.SYMTYPE, 0o777, uid, gid, mtime, None)
        ti.linkname = target
        self.t.addfile(ti)

    def hardlink(self, name, target):
        ti = self._info(name, tarfile.LNKTYPE, 0o644, 0, 0, None, None)
        ti.linkname = target
        self.t.addfile(ti)

    def _dev(self, name, typ, major, minor, mode):
        ti = self._info(name, typ, mode, 0, 0, None, None)
        ti.devmajor, ti.devminor = major, minor
        self.t.addfile(ti)

    def char(self, name, major, minor, mode=0o666):
        self._dev(name, tarfile.CHRTYPE, major, minor, mode)

    def block(self, name, major, minor, mode=0o660):
        self._dev(name, tarfile.BLKTYPE, major, minor, mode)

    def fifo(self, name, mode=0o644):
        self._dev(name, tarfile.FIFOTYPE, 0, 0, mode)

    def whiteout(self, path):
        d, _, base = path.rpartition("/")
        self.file((d + "/" if d else "") + ".wh." + base)

    def opaque(self, d):
        self.file(d.rstrip("/") + "/.wh..wh..opq")

    def close(self, trailer=b""):
        self.t.close()
        self.f.write(trailer)
        self.f.close()
        return self.path


def gzip_file(path):
    with open(path, "rb") as src, gzip.open(path + ".gz", "wb", compresslevel=1) as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    return path + ".gz"


def zstd_file(path):
    subprocess.run(["zstd", "-q", "-f", "-o", path + ".zst", path], check=True)
    return path + ".zst"


def gzip_bomb(path, size, name="bomb"):
    """A gzip'd tar holding one file of `size` zero bytes (a multiple of 1 MiB), made
    of repeated gzip members, so writing it costs ~size/1000 bytes and no time."""
    ti = tarfile.TarInfo(name)
    ti.size = size
    ti.mtime = MTIME
    header = ti.tobuf(format=tarfile.PAX_FORMAT)
    mib = gzip.compress(b"\0" * (1 << 20), compresslevel=9)
    with open(path, "wb") as f:
        f.write(gzip.compress(header))
        for _ in range(size >> 20):
            f.write(mib)
        f.write(gzip.compress(b"\0" * 1024))
    return path
