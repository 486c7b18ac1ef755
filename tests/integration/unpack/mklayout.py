#!/usr/bin/env python3
"""OCI layouts for the hoist-unpack tests, with layers written by tests/data/tar/tarlib.py.

    mklayout.py OUT SCENARIO [--compression gzip|zstd|none]

Scenarios (each one image tagged SCENARIO in the layout OUT):
  rich      busybox base + 6 layers: whiteouts, opaque dirs, a file replacing a directory
            and the reverse, hardlinks, symlinks, devices, fifos, xattrs
            (security.capability, user.*), setuid/setgid/sticky, odd owners, a sparse
            file, an uncompressed layer
  many      busybox base + 40 small layers rewriting the same paths
  user      busybox + /etc/passwd with an 'app' user; User=app, WorkingDir, Env
  escape    busybox + a layer whose entry climbs out with ..
  badid     busybox + a layer whose diff_id in the config is wrong
  bomb      busybox + a gzip'd layer of 1 GiB of zeros (about 1 MiB on disk)
  symesc    busybox + a layer with a symlink to /, then a layer writing through it
  small30k  busybox + one layer of 30,000 small text files in 300 directories (benchmarks)
"""
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "data", "tar"))
from tarlib import Tar, gzip_bomb  # noqa: E402

BUSYBOX = "/bin/busybox"
APPLETS = ["sh", "ls", "cat", "echo", "id", "true", "stat", "sha256sum", "test", "env", "pwd", "sleep"]
CAP = "\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"  # cap_net_bind_service+ep


def write_blob(out, data):
    d = hashlib.sha256(data).hexdigest()
    with open(os.path.join(out, "blobs", "sha256", d), "wb") as f:
        f.write(data)
    return "sha256:" + d, len(data)


def base(t, passwd=None):
    t.dir("bin")
    with open(BUSYBOX, "rb") as f:
        t.file("bin/busybox", f.read(), mode=0o755)
    for a in APPLETS:
        t.symlink("bin/" + a, "busybox")
    t.dir("etc")
    t.file("etc/passwd", passwd or "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n")
    t.file("etc/group", "root:x:0:\nnogroup:x:65534:\n")
    t.dir("tmp", mode=0o1777)
    t.dir("root", mode=0o700)


def scenario_layers(name, tmp):
    """Yields functions filling a Tar, one per layer; a layer is (fill, compression or None)."""
    L = []
    if name in ("rich", "many", "escape", "badid", "bomb", "symesc", "small30k"):
        L.append(lambda t: base(t))
    if name == "rich":
        def l1(t):
            t.dir("srv")
            t.dir("srv/a")
            t.file("srv/a/one", "1")
            t.dir("srv/a/deep")
            t.file("srv/a/deep/two", "2")
            t.dir("srv/b")
            t.file("srv/b/gone", "g")
            t.file("srv/b/kept", "k")
            t.dir("srv/todir")
            t.file("srv/todir/x", "x")
            t.file("srv/tofile", "f")
            t.file("srv/data", "hello\n" * 1000, mode=0o640, uid=1000, gid=1000)
            t.hardlink("srv/data-link", "srv/data")
            t.symlink("srv/abs", "/etc/passwd")
            t.symlink("srv/rel", "../etc/group")
            t.symlink("srv/dangling", "nowhere/at/all")
        def l2(t):
            t.whiteout("srv/b/gone")
            t.opaque("srv/a")
            t.file("srv/a/new", "new")
            t.file("srv/todir", "now a file")
            t.dir("srv/tofile", mode=0o750)
            t.file("srv/tofile/inner", "inner")
            t.file("usr/bin/su", "suid", mode=0o4755)
            t.file("usr/bin/wall", "sgid", mode=0o2755, gid=5)
            t.dir("shared", mode=0o1777)
            t.dir("sgiddir", mode=0o2775, gid=100)
            t.file("usr/bin/ping", "ping", mode=0o755, xattrs={"security.capability": CAP})
            t.file("etc/xattr", "x", xattrs={"user.one": "1", "user.two": "zwei"})
            t.dir("odd", uid=12345, gid=54321, mode=0o711)
            t.file("odd/file", "o", uid=4242, gid=4343, mode=0o600)
        def l3(t):
            t.dir("dev")
            t.char("dev/null", 1, 3, mode=0o666)
            t.char("dev/zero", 1, 5, mode=0o666)
            t.block("dev/loop7", 7, 7, mode=0o660)
            t.fifo("srv/fifo", mode=0o620)
            t.hardlink("srv/su-link", "usr/bin/su")
        def l4(t):
            t.whiteout("srv/data")          # the hardlinked twin stays
            t.whiteout("srv/a/deep")        # already hidden by the opaque dir
            t.file("srv/b/gone", "back again")
            t.symlink("srv/abs", "/etc/group")   # symlink replaced by symlink
        def l5(t):  # uncompressed
            t.dir("big")
            t.file("big/text", ("line %d\n" % i for i in range(1)).__next__() * 50000)
            t.file("big/empty", "")
            t.whiteout("dev/zero")
        L += [(l1, None), (l2, None), (l3, None), (l4, None), (l5, "none")]
        # A sparse file made by GNU tar, as its own layer.
        src = os.path.join(tmp, "sparse-src")
        os.makedirs(os.path.join(src, "sparse"), exist_ok=True)
        with open(os.path.join(src, "sparse", "holes"), "wb") as f:
            f.write(b"head")
            f.seek(4 << 20)
            f.write(b"tail")
        os.utime(os.path.join(src, "sparse", "holes"), (1700000000, 1700000000))
        os.utime(os.path.join(src, "sparse"), (1700000000, 1700000000))
        L.append(("gnutar", ["tar", "--sparse", "--format=pax", "--numeric-owner", "--owner=0", "--group=0",
                             "-C", src, "-cf", "{out}", "sparse"]))
    elif name == "many":
        for i in range(40):
            def li(t, i=i):
                t.dir("layers")
                t.file("layers/same", "version %d\n" % i)
                t.file("layers/n%02d" % i, "layer %d\n" % i)
                if i % 3 == 2:
                    t.whiteout("layers/n%02d" % (i - 1))
                if i % 7 == 6:
                    t.opaque("layers")
                    t.file("layers/after-opaque-%d" % i, "x")
            L.append(li)
    elif name == "user":
        L.append(lambda t: base(t, passwd="root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:App:/home/app:/bin/sh\n"))
        def lu(t):
            t.file("etc/group", "root:x:0:\napp:x:1000:\nextra:x:2000:app\n")
            t.dir("home")
            t.dir("home/app", uid=1000, gid=1000)
            t.dir("work", uid=1000, gid=1000)
        L.append(lu)
    elif name == "small30k":
        def ls(t):
            import random
            rnd = random.Random(30000)
            words = [("w%d" % i).encode() for i in range(500)]
            t.dir("files")
            for d in range(300):
                t.dir("files/d%03d" % d)
                for f in range(100):
                    n = rnd.randint(8, 600)
                    t.file("files/d%03d/f%03d.txt" % (d, f), b" ".join(rnd.choice(words) for _ in range(n)))
        L.append(ls)
    elif name == "escape":
        L.append(lambda t: t.file("../../escaped-by-hoist-test", "pwned"))
    elif name == "badid":
        L.append(lambda t: t.file("x", "real content"))
    elif name == "bomb":
        L.append(("bomb", 1 << 30))
    elif name == "symesc":
        L.append(lambda t: t.symlink("hostroot", "/"))
        L.append(lambda t: t.file("hostroot/tmp/hoist-symesc-victim", "pwned"))
    return L


def main():
    out, name = sys.argv[1], sys.argv[2]
    comp = "gzip"
    if "--compression" in sys.argv:
        comp = sys.argv[sys.argv.index("--compression") + 1]
    if os.path.exists(out):
        shutil.rmtree(out)
    os.makedirs(os.path.join(out, "blobs", "sha256"))
    tmp = os.path.join(out, ".tmp")
    os.makedirs(tmp)
    layers, diff_ids = [], []
    for i, spec in enumerate(scenario_layers(name, tmp)):
        c = comp
        path = os.path.join(tmp, "layer%d.tar" % i)
        if isinstance(spec, tuple) and spec[0] == "gnutar":
            subprocess.run([a.replace("{out}", path) for a in spec[1]], check=True)
        elif isinstance(spec, tuple) and spec[0] == "bomb":
            gzip_bomb(path + ".gz", spec[1])
            with gzip.open(path + ".gz", "rb") as f:
                h = hashlib.sha256()
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
            d, size = write_blob(out, open(path + ".gz", "rb").read())
            layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d, "size": size})
            diff_ids.append("sha256:" + h.hexdigest())
            continue
        else:
            fill, c = (spec if isinstance(spec, tuple) else (spec, None))
            c = c or comp
            t = Tar(path)
            fill(t)
            t.close()
        raw = open(path, "rb").read()
        diff = "sha256:" + hashlib.sha256(raw).hexdigest()
        if name == "badid" and i == 1:
            diff = "sha256:" + hashlib.sha256(b"something else").hexdigest()
        if c == "gzip":
            data, mt = gzip.compress(raw, 6, mtime=0), "application/vnd.oci.image.layer.v1.tar+gzip"
        elif c == "zstd":
            data = subprocess.run(["zstd", "-q", "-c", path], check=True, capture_output=True).stdout
            mt = "application/vnd.oci.image.layer.v1.tar+zstd"
        else:
            data, mt = raw, "application/vnd.oci.image.layer.v1.tar"
        d, size = write_blob(out, data)
        layers.append({"mediaType": mt, "digest": d, "size": size})
        diff_ids.append(diff)
    shutil.rmtree(tmp)
    cfg = {"created": "2024-01-01T00:00:00Z", "architecture": "amd64", "os": "linux",
           "config": {"Cmd": ["/bin/sh"], "Env": ["PATH=/bin"], "Labels": {"test.scenario": name}},
           "rootfs": {"type": "layers", "diff_ids": diff_ids}}
    if name == "user":
        cfg["config"].update({"User": "app", "WorkingDir": "/work", "Env": ["PATH=/bin", "GREETING=hi"],
                              "Entrypoint": ["/bin/sh", "-c"], "Cmd": ["id -u; id -g; pwd; echo $GREETING $HOME"]})
    cd, cs = write_blob(out, json.dumps(cfg).encode())
    man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
           "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs},
           "layers": layers}
    md, ms = write_blob(out, json.dumps(man).encode())
    with open(os.path.join(out, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": ms,
             "annotations": {"org.opencontainers.image.ref.name": name}}]}, f)
    print(out)


main()
