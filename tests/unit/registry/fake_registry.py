#!/usr/bin/env python3
"""A scripted distribution-API server with bearer auth, for hoist's registry
unit tests. Prints its port, then serves until killed.

Auth: GET /v2/... needs "Authorization: Bearer <live token>", else 401 with
  WWW-Authenticate: Bearer realm="http://127.0.0.1:PORT/token",service="fake"
/token?service=&scope=  issues tok-N (needs Basic user:pass if --basic USER:PASS)
/admin/revoke           invalidates every token issued so far
/admin/log              JSON list of {"path","auth"} of every request, then clears it

Repositories (GET manifests/<ref>, blobs/<digest>):
  good      manifest "latest" and by digest; blob BLOB (pattern 100000 bytes)
  flaky     blob: first response sends half the body and drops the connection
  norange   blob: ignores Range
  redirect  blob: 307 to http://localhost:PORT/storage/<digest> (another origin)
  big       manifest "latest" is 5 MiB
  liar      manifest by digest returns other bytes; "latest" sends a wrong Docker-Content-Digest
  long      blob: 100 bytes more than the pattern
  busy      manifest "latest": 503 with Retry-After: 0 twice, then the manifest
"""
import base64
import hashlib
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

BASIC = None
if len(sys.argv) > 2 and sys.argv[1] == "--basic":
    BASIC = sys.argv[2]

lock = threading.Lock()
tokens = set()
issued = [0]
log = []
flaky_hits = {}
busy_hits = [0]


def pattern(n, start=0):
    return bytes((i * 13 + 5) % 253 for i in range(start, start + n))


BLOB = pattern(100000)
BLOB_DIGEST = "sha256:" + hashlib.sha256(BLOB).hexdigest()
MANIFEST = json.dumps({
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": BLOB_DIGEST, "size": len(BLOB)},
    "layers": [],
}).encode()
MANIFEST_DIGEST = "sha256:" + hashlib.sha256(MANIFEST).hexdigest()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, code, body=b"", headers=None, ctype="application/json"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error(self, code, ecode, msg, headers=None):
        body = json.dumps({"errors": [{"code": ecode, "message": msg, "detail": None}]}).encode()
        self.send(code, body, headers)

    def port(self):
        return self.server.server_address[1]

    def handle_any(self):
        u = urlparse(self.path)
        q = parse_qs(u.query)
        p = u.path
        auth = self.headers.get("Authorization")
        if not p.startswith("/admin/"):
          with lock:
            log.append({"path": p, "auth": auth, "range": self.headers.get("Range")})
        if p == "/token":
            if BASIC is not None:
                want = "Basic " + base64.b64encode(BASIC.encode()).decode()
                if auth != want:
                    self.send(401, json.dumps({"details": "incorrect username or password"}).encode())
                    return
            with lock:
                issued[0] += 1
                tok = f"tok-{issued[0]}"
                tokens.add(tok)
            scopes = q.get("scope", [])
            self.send(200, json.dumps({"token": tok, "expires_in": 300, "scope": " ".join(scopes)}).encode())
            return
        if p == "/admin/revoke":
            with lock:
                tokens.clear()
            self.send(200, b"{}")
            return
        if p == "/admin/log":
            with lock:
                out = json.dumps(log).encode()
                log.clear()
            self.send(200, out)
            return
        if p.startswith("/storage/"):
            self.send(200, BLOB, ctype="application/octet-stream")
            return
        if not p.startswith("/v2/"):
            self.send(404, b"{}")
            return
        ok = auth is not None and auth.startswith("Bearer ") and auth[7:] in tokens
        if not ok:
            realm = f"http://127.0.0.1:{self.port()}/token"
            self.error(401, "UNAUTHORIZED", "authentication required",
                       {"WWW-Authenticate": f'Bearer realm="{realm}",service="fake"'})
            return
        if p == "/v2/":
            self.send(200, b"{}")
            return
        parts = p[len("/v2/"):].split("/")
        repo, kind, ref = "/".join(parts[:-2]), parts[-2], parts[-1]
        if kind == "manifests":
            return self.manifest(repo, ref)
        if kind == "blobs":
            return self.blob(repo, ref)
        self.send(404, b"{}")

    def manifest(self, repo, ref):
        ctype = "application/vnd.oci.image.manifest.v1+json"
        hdrs = {"Docker-Content-Digest": MANIFEST_DIGEST}
        if repo == "good" and ref in ("latest", MANIFEST_DIGEST):
            self.send(200, MANIFEST, hdrs, ctype)
        elif repo == "big":
            self.send(200, b" " * (5 << 20), {}, ctype)
        elif repo == "liar" and ref == MANIFEST_DIGEST:
            self.send(200, MANIFEST + b" ", {}, ctype)
        elif repo == "liar":
            self.send(200, MANIFEST + b" ", hdrs, ctype)
        elif repo == "busy":
            with lock:
                busy_hits[0] += 1
                n = busy_hits[0]
            if n <= 2:
                self.error(503, "UNAVAILABLE", "try later", {"Retry-After": "0"})
            else:
                self.send(200, MANIFEST, hdrs, ctype)
        else:
            self.error(404, "MANIFEST_UNKNOWN", "manifest unknown")

    def blob(self, repo, digest):
        if digest != BLOB_DIGEST:
            self.error(404, "BLOB_UNKNOWN", "blob unknown to registry")
            return
        rng = self.headers.get("Range")
        start = int(rng[6:-1]) if rng and rng.startswith("bytes=") and rng.endswith("-") else 0
        if repo == "redirect":
            self.send_response(307)
            self.send_header("Location", f"http://localhost:{self.port()}/storage/{digest}?X-Amz-Signature=s")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if repo == "long":
            self.send(200, BLOB + b"x" * 100, ctype="application/octet-stream")
            return
        if repo == "norange" or start == 0:
            if repo == "flaky":
                with lock:
                    flaky_hits[digest] = flaky_hits.get(digest, 0) + 1
                    first = flaky_hits[digest] == 1
                if first:
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(BLOB)))
                    self.end_headers()
                    self.wfile.write(BLOB[: len(BLOB) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
            self.send(200, BLOB, ctype="application/octet-stream")
            return
        body = BLOB[start:]
        self.send(206, body, {"Content-Range": f"bytes {start}-{len(BLOB) - 1}/{len(BLOB)}"},
                  "application/octet-stream")

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = handle_any


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    srv = Server(("127.0.0.1", 0), Handler)
    print(srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
