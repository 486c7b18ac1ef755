#!/usr/bin/env python3
"""A small HTTP/1.1 server for hoist's http unit tests.

Prints its port on the first line of stdout, then serves until killed.
Endpoints (all bodies deterministic):
  /bytes?n=N            N bytes of pattern; honours "Range: bytes=A-"
  /norange?n=N          N bytes, ignores Range (always 200)
  /badrange?n=N         answers a Range request with 206 starting at 0
  /status/NNN           status NNN with a JSON body; ?retry_after=S adds Retry-After
  /flaky/KEY?fail=K     first K requests for KEY get 503, then 200 "ok"
  /redirect?to=URL&code=C  redirect (default 302)
  /headers              the request's headers as JSON
  /upload               (PUT/POST/PATCH) answers {"method","length","sha256"}
  /truncate?n=N&send=S  declares Content-Length N, sends S bytes, closes
  /stall?n=N            sends N bytes, then nothing for a long time
  /count                how many requests this server has seen
With --tls CERT KEY [CLIENT_CA] it serves HTTPS (and wants a client cert).
"""
import hashlib
import json
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

counters = {}
total = [0]
lock = threading.Lock()


def pattern(n, start=0):
    return bytes((i * 7 + 3) % 251 for i in range(start, start + n))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_body(self, code, body, headers=None, ctype="application/octet-stream"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length", "0"))
        return self.rfile.read(n)

    def handle_any(self):
        with lock:
            total[0] += 1
        u = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        p = u.path
        n = int(q.get("n", "0"))
        rng = self.headers.get("Range")
        if p in ("/bytes", "/badrange"):
            if rng and rng.startswith("bytes=") and rng.endswith("-"):
                start = int(rng[6:-1])
                if p == "/badrange":
                    start = 0
                body = pattern(n - start, start) if start < n else b""
                self.send_body(206, body, {"Content-Range": f"bytes {start}-{n - 1}/{n}"})
            else:
                self.send_body(200, pattern(n))
        elif p == "/norange":
            self.send_body(200, pattern(n))
        elif p.startswith("/status/"):
            code = int(p.split("/")[2])
            hdrs = {}
            if "retry_after" in q:
                hdrs["Retry-After"] = q["retry_after"]
            body = json.dumps({"errors": [{"code": "TEST", "message": f"status {code}"}]}).encode()
            self.send_body(code, body, hdrs, "application/json")
        elif p.startswith("/flaky/"):
            key = p.split("/")[2]
            with lock:
                counters[key] = counters.get(key, 0) + 1
                c = counters[key]
            if c <= int(q.get("fail", "1")):
                self.send_body(503, b"busy", {"Retry-After": q.get("retry_after", "0")})
            else:
                self.send_body(200, b"ok")
        elif p == "/redirect":
            code = int(q.get("code", "302"))
            self.send_response(code)
            self.send_header("Location", q["to"])
            self.send_header("Content-Length", "9")
            self.end_headers()
            self.wfile.write(b"redirect\n")
        elif p == "/headers":
            hdrs = {k.lower(): v for k, v in self.headers.items()}
            hdrs[":method"] = self.command
            self.send_body(200, json.dumps(hdrs).encode(), ctype="application/json")
        elif p == "/upload":
            data = self.read_body()
            out = {"method": self.command, "length": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                   "content_length": self.headers.get("Content-Length"),
                   "chunked": self.headers.get("Transfer-Encoding", "") == "chunked"}
            self.send_body(201, json.dumps(out).encode(), ctype="application/json")
        elif p == "/truncate":
            self.send_response(200)
            self.send_header("Content-Length", str(n))
            self.end_headers()
            self.wfile.write(pattern(int(q.get("send", "0"))))
            self.wfile.flush()
            self.close_connection = True
        elif p == "/stall":
            self.send_response(200)
            self.send_header("Content-Length", str(n + 1000))
            self.end_headers()
            self.wfile.write(pattern(n))
            self.wfile.flush()
            time.sleep(30)
            self.close_connection = True
        elif p == "/count":
            self.send_body(200, str(total[0]).encode())
        else:
            self.send_body(404, b"no such endpoint")

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = handle_any


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    srv = Server(("127.0.0.1", 0), Handler)
    # --tls CERT KEY [CLIENT_CA]: HTTPS, requiring a client certificate when CLIENT_CA is given.
    if len(sys.argv) >= 4 and sys.argv[1] == "--tls":
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(sys.argv[2], sys.argv[3])
        if len(sys.argv) >= 5:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(sys.argv[4])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print(srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
