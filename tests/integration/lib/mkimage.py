#!/usr/bin/env python3
"""Build OCI test images without docker: an OCI image layout directory.

Usage:
  mkimage.py --tag TAG [--layer SPEC]... [--platform os/arch[/variant]]
             [--platforms P1,P2,...] [--compression gzip[:LEVEL]|none]
             [--cache DIR | --out DIR]

Layer SPECs (in order, bottom first):
  busybox             /bin/busybox (static) + applet symlinks, /etc/passwd, /etc/group, /tmp
  files[:SEED]        a few small text files, a directory tree, a symlink
  random:SIZE[:SEED]  /data/random-SEED.bin: SIZE pseudo-random bytes (incompressible)
  text:SIZE[:SEED]    /data/text-SEED.txt: SIZE bytes of compressible text
SIZE takes K, M, G suffixes (powers of 1024). Same SEED and SIZE give the same bytes.

Everything is deterministic (mtime 0, uid/gid 0, sorted entries, gzip header mtime 0), so
the same arguments give the same digests. Random layers are gzip'd at level 1 (they do not
compress anyway); others at the --compression level (default gzip:6). With
--compression none, layers are plain tars (media type ...layer.v1.tar).

--platforms builds an image index: the same layers, one config + manifest per platform.
With --cache DIR (default), the layout is built once under DIR/<key>/ where key hashes
this script and the arguments; the layout path is printed on stdout. Layers stream: a
512 MiB layer never sits in memory.
"""
import argparse
import hashlib
import io
import json
import os
import random
import shutil
import sys
import tarfile
import tempfile
import zlib

BUSYBOX = "/bin/busybox"
APPLETS = ["sh", "ash", "ls", "cat", "true", "false", "echo", "env", "id", "mkdir", "rm", "cp", "mv",
           "sleep", "test", "uname", "wc", "head", "tail", "grep", "sed", "touch", "chmod", "ln",
           "pwd", "printf", "sha256sum", "stat", "find", "xargs", "tr", "cut", "sort", "du", "ps"]
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER_GZ = "application/vnd.oci.image.layer.v1.tar+gzip"
MT_LAYER = "application/vnd.oci.image.layer.v1.tar"
CREATED = "2024-01-01T00:00:00Z"
CHUNK = 1 << 20


def parse_size(s):
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    s = s.strip().upper()
    if s.endswith("IB"):
        s = s[:-2]
    if s and s[-1] in mult:
        return int(float(s[:-1]) * mult[s[-1]])
    return int(s)


class LayerSink:
    """File-like target for tarfile: hashes the tar (diff_id), compresses, hashes and writes the blob."""

    def __init__(self, path, level):
        self.f = open(path, "wb")
        self.diff = hashlib.sha256()
        self.blob = hashlib.sha256()
        self.size = 0
        self.z = zlib.compressobj(level, zlib.DEFLATED, 31) if level is not None else None

    def _out(self, b):
        if b:
            self.blob.update(b)
            self.size += len(b)
            self.f.write(b)

    def write(self, b):
        self.diff.update(b)
        self._out(self.z.compress(b) if self.z else bytes(b))
        return len(b)

    def close(self):
        if self.z:
            self._out(self.z.flush())
        self.f.close()


class RandomReader:
    def __init__(self, size, seed):
        self.left = size
        self.rng = random.Random(f"hoist-random-{seed}")

    def read(self, n=-1):
        n = self.left if n is None or n < 0 else min(n, self.left)
        self.left -= n
        return self.rng.randbytes(n)


class TextReader:
    """Compressible text: a 1 MiB block of seeded random words, varied per block."""

    WORDS = ("layer blob digest manifest index config registry store ingest tar gzip zstd hoist pull "
             "push build unpack run bundle rootfs mount overlay snapshot chain diff platform amd64 arm64 "
             "linux sha256 descriptor annotation media type size range retry token scope repository "
             "tag reference mirror proxy redirect header body stream hash verify commit rename fsync").split()

    def __init__(self, size, seed):
        self.left = size
        rng = random.Random(f"hoist-text-{seed}")
        out, n = [], 0
        while n < CHUNK:
            line = " ".join(rng.choice(self.WORDS) for _ in range(rng.randint(4, 14))) + "\n"
            out.append(line)
            n += len(line)
        self.block = "".join(out).encode()[:CHUNK]
        self.i = 0
        self.buf = b""

    def read(self, n=-1):
        n = self.left if n is None or n < 0 else min(n, self.left)
        while len(self.buf) < n:
            self.buf += b"block %d\n" % self.i + self.block
            self.i += 1
        r, self.buf = self.buf[:n], self.buf[n:]
        self.left -= n
        return r


def tinfo(name, type_=tarfile.REGTYPE, size=0, mode=0o644, linkname=""):
    ti = tarfile.TarInfo(name)
    ti.type, ti.size, ti.mode, ti.linkname = type_, size, mode, linkname
    ti.mtime, ti.uid, ti.gid, ti.uname, ti.gname = 0, 0, 0, "root", "root"
    return ti


def add_dir(tf, name):
    tf.addfile(tinfo(name, tarfile.DIRTYPE, mode=0o755))


def add_bytes(tf, name, data, mode=0o644):
    tf.addfile(tinfo(name, size=len(data), mode=mode), io.BytesIO(data))


def fill_busybox(tf):
    for d in ["bin", "etc", "tmp"]:
        add_dir(tf, d)
    with open(BUSYBOX, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        tf.addfile(tinfo("bin/busybox", size=size, mode=0o755), f)
    for a in sorted(APPLETS):
        tf.addfile(tinfo("bin/" + a, tarfile.SYMTYPE, mode=0o777, linkname="busybox"))
    add_bytes(tf, "etc/group", b"root:x:0:\nnogroup:x:65534:\napp:x:1000:\n")
    add_bytes(tf, "etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n"
              b"nobody:x:65534:65534:nobody:/nonexistent:/bin/false\napp:x:1000:1000:app:/home/app:/bin/sh\n")


def fill_files(tf, seed):
    for d in ["app", "app/data", "app/data/nested", "etc"]:
        add_dir(tf, d)
    add_bytes(tf, "app/hello.txt", b"hello from hoist test image %s\n" % seed.encode())
    add_bytes(tf, "app/run.sh", b"#!/bin/sh\necho hoist-test-%s\n" % seed.encode(), 0o755)
    add_bytes(tf, "app/data/nested/numbers.txt", "".join(f"{i}\n" for i in range(2000)).encode())
    add_bytes(tf, "etc/hoist-release", b"HOIST_TEST_SEED=%s\n" % seed.encode())
    tf.addfile(tinfo("app/link-to-hello", tarfile.SYMTYPE, mode=0o777, linkname="hello.txt"))


def fill_stream(tf, name, reader, size):
    add_dir(tf, "data")
    tf.addfile(tinfo(name, size=size), reader)


def build_layer(spec, blobdir, compression):
    kind, _, rest = spec.partition(":")
    args = rest.split(":") if rest else []
    level = compression
    tmp = tempfile.NamedTemporaryFile(dir=blobdir, delete=False, prefix=".layer-")
    tmp.close()
    if kind == "random" and compression is not None:
        level = 1
    sink = LayerSink(tmp.name, level)
    tf = tarfile.open(fileobj=sink, mode="w|", format=tarfile.PAX_FORMAT)
    if kind == "busybox":
        fill_busybox(tf)
    elif kind == "files":
        fill_files(tf, args[0] if args else "0")
    elif kind in ("random", "text"):
        if not args:
            raise SystemExit(f"mkimage: layer '{spec}' needs a size")
        size = parse_size(args[0])
        seed = args[1] if len(args) > 1 else "0"
        if kind == "random":
            fill_stream(tf, f"data/random-{seed}.bin", RandomReader(size, seed), size)
        else:
            fill_stream(tf, f"data/text-{seed}.txt", TextReader(size, seed), size)
    else:
        raise SystemExit(f"mkimage: unknown layer kind '{kind}'")
    tf.close()
    sink.close()
    digest = sink.blob.hexdigest()
    os.chmod(tmp.name, 0o644)
    os.replace(tmp.name, os.path.join(blobdir, digest))
    return {
        "mediaType": MT_LAYER_GZ if level is not None else MT_LAYER,
        "digest": "sha256:" + digest,
        "size": sink.size,
    }, "sha256:" + sink.diff.hexdigest(), spec


def put_json(blobdir, obj):
    data = json.dumps(obj, indent=2, sort_keys=True).encode()
    d = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobdir, d), "wb") as f:
        f.write(data)
    return "sha256:" + d, len(data)


def parse_platform(p):
    parts = p.split("/")
    if len(parts) not in (2, 3):
        raise SystemExit(f"mkimage: bad platform '{p}'")
    plat = {"os": parts[0], "architecture": parts[1]}
    if len(parts) == 3:
        plat["variant"] = parts[2]
    return plat


def build(out, args):
    blobdir = os.path.join(out, "blobs", "sha256")
    os.makedirs(blobdir)
    compression = None
    if args.compression != "none":
        kind, _, lvl = args.compression.partition(":")
        if kind != "gzip":
            raise SystemExit(f"mkimage: unknown compression '{args.compression}'")
        compression = int(lvl) if lvl else 6
    layers, diff_ids, history = [], [], []
    for spec in args.layer:
        desc, diff_id, created_by = build_layer(spec, blobdir, compression)
        layers.append(desc)
        diff_ids.append(diff_id)
        history.append({"created": CREATED, "created_by": f"mkimage.py {created_by}"})
    platforms = [parse_platform(p) for p in (args.platforms.split(",") if args.platforms else [args.platform])]
    manifests = []
    for plat in platforms:
        config = dict(plat)
        config.update({
            "created": CREATED,
            "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                       "Cmd": ["/bin/sh"], "WorkingDir": "/",
                       "Labels": {"org.hoist.test.tag": args.tag}},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": history,
        })
        cdig, csize = put_json(blobdir, config)
        manifest = {"schemaVersion": 2, "mediaType": MT_MANIFEST,
                    "config": {"mediaType": MT_CONFIG, "digest": cdig, "size": csize},
                    "layers": layers}
        mdig, msize = put_json(blobdir, manifest)
        manifests.append({"mediaType": MT_MANIFEST, "digest": mdig, "size": msize, "platform": plat})
    if args.platforms:
        idig, isize = put_json(blobdir, {"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": manifests})
        top = {"mediaType": MT_INDEX, "digest": idig, "size": isize}
    else:
        top = {k: manifests[0][k] for k in ("mediaType", "digest", "size")}
    top["annotations"] = {"org.opencontainers.image.ref.name": args.tag}
    with open(os.path.join(out, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": [top]}, f, indent=2)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tag", default="latest")
    ap.add_argument("--layer", action="append", default=[])
    ap.add_argument("--platform", default="linux/amd64")
    ap.add_argument("--platforms", default="")
    ap.add_argument("--compression", default="gzip:6")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--cache", default=os.environ.get("HOIST_TEST_CACHE", "/tmp/hoist-test-cache"))
    g.add_argument("--out")
    args = ap.parse_args()
    if not args.layer:
        args.layer = ["busybox"]

    if args.out:
        if os.path.exists(args.out):
            raise SystemExit(f"mkimage: '{args.out}' exists")
        build(args.out, args)
        print(args.out)
        return
    h = hashlib.sha256()
    with open(__file__, "rb") as f:
        h.update(f.read())
    st = os.stat(BUSYBOX)
    key_args = {k: getattr(args, k) for k in ("tag", "layer", "platform", "platforms", "compression")}
    h.update(json.dumps([key_args, st.st_size, st.st_mtime_ns], sort_keys=True).encode())
    final = os.path.join(args.cache, h.hexdigest()[:32])
    if not os.path.isfile(os.path.join(final, "index.json")):
        os.makedirs(args.cache, exist_ok=True)
        tmp = tempfile.mkdtemp(dir=args.cache, prefix=".build-")
        try:
            out = os.path.join(tmp, "layout")
            build(out, args)
            try:
                os.rename(out, final)          # atomic; a concurrent builder may have won
            except OSError:
                if not os.path.isfile(os.path.join(final, "index.json")):
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    print(final)


if __name__ == "__main__":
    main()
