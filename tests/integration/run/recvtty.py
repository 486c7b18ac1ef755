#!/usr/bin/env python3
"""Console-socket peer for the terminal test (runc's contrib/recvtty, reduced):
listens on argv[1], takes one pty master via SCM_RIGHTS, writes what the
container prints to argv[2] until the pty closes."""
import array
import os
import socket
import sys

path, out = sys.argv[1], sys.argv[2]
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(1)
print("listening", flush=True)
conn, _ = srv.accept()
fds = array.array("i")
msg, anc, _, _ = conn.recvmsg(1024, socket.CMSG_SPACE(fds.itemsize))
for level, kind, data in anc:
    if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
        fds.frombytes(data[: len(data) - (len(data) % fds.itemsize)])
master = fds[0]
with open(out, "wb") as f:
    f.write(b"name=" + msg + b"\n")
    f.flush()
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: every slave fd is closed
            break
        if not chunk:
            break
        f.write(chunk)
        f.flush()
