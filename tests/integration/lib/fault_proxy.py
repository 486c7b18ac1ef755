#!/usr/bin/env python3
"""A fault-injecting reverse proxy in front of a registry (stdlib only).

  fault_proxy.py --upstream http://127.0.0.1:REGPORT --port-file F --redirect-port-file F2 --log LOG
                 [--upstream-creds USER:PASS] [--rules FILE]

Two listeners on 127.0.0.1: the main one proxies everything to --upstream (Host header and
Range kept, so Location headers and 206 answers come back right); the redirect listener
(another port, so another host:port for the client) serves GET/HEAD of the same paths
itself, fetching from upstream with --upstream-creds (Basic, or a bearer token fetched from
the upstream's challenge with those creds). It never forwards the client's Authorization.

Control API on the main listener (JSON bodies):
  POST /__fault   {rule} or [{rule}, ...]  -> {"ids": [...]}   rules are tried in order, first match wins
  POST /__reset                            drop all rules
  GET  /__rules                            rules with their remaining "times"
  GET  /__mark                             {"seq": N}: the log's last sequence number
  GET  /__log[?since=N]                    JSON array of log entries with seq > N
Both wait (up to 60 s; then 504) until no proxied request is in flight: a request is logged
when it ends, so one whose client was just killed is still being answered (a throttled
body, a hang) and would otherwise land in the log after the caller's mark.
A rule: {"mode": M, "kind": "blob"|"manifest"|"upload"|"any", "digest": "substring of the path",
         "path": "regex searched in the path", "method": "GET" | ["GET","HEAD"], "times": N (-1 = always),
         "skip": N (let the first N matching requests through untouched, default 0)}
Defaults: kind "blob" and method GET for body modes; kind "manifest", methods GET+HEAD for
manifest modes; kind "any", any method for status/reset/delay/unauth/lose_session/hang; times -1.
("upload" is /v2/NAME/blobs/uploads/..., the POST, PATCHes, PUT, status GET and DELETE of a push.)
Modes and their parameters:
  corrupt   {"offset": body offset (default: the middle), "count": 1}  flip bytes, same length
  truncate  {"bytes": N | "fraction": 0.5}   full Content-Length, N bytes of body, then close
  status    {"status": 500, "retry_after": S, "code": "X"}  answer with that status (registry-style
            error body with code X; default by status, e.g. 416 BLOB_UPLOAD_INVALID)
  reset     close the connection without an answer (TCP RST)
  unauth    forward without the client's Authorization: the upstream's own 401 and challenge
            (a token that stopped working halfway through a push)
  lose_session  DELETE the upload session upstream (with the client's Authorization), then
            answer 404 BLOB_UPLOAD_UNKNOWN: the registry forgot the upload
  hang      {"seconds": 300}  take the request, never answer; close after that long (a client
            killed meanwhile finds its request unanswered and unforwarded)
  delay     {"seconds": 1}                     wait, then pass through
  redirect  {"status": 307}                    Location: the redirect listener, same path and query
  throttle  {"rate": bytes/s, "after": N}      first N body bytes at full speed, the rest at rate
  longer    {"extra": 1024}                    body + extra bytes, Content-Length says so too
  oversize_manifest {"size": 5 MiB}            a valid JSON OCI manifest larger than size
  schema1   {"content_type": ...}              a signed schema 1 manifest (v1+prettyjws)
Log (JSON lines, --log and /__log): seq, time, listener (main|redirect), method, path, query, range,
auth (Authorization present), auth_scheme, status, bytes (body bytes written), content_length,
rule (mode applied or null), closed (client went away or we cut the body), req_bytes (request
body bytes received), content_range (the request's Content-Range, uploads).
Request bodies are read whole before they are forwarded (or not): keep test uploads to
a few hundred MiB.
"""
import argparse
import base64
import hashlib
import http.client
import json
import os
import re
import socket
import struct
import sys
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
       "trailers", "transfer-encoding", "upgrade"}
BODY_MODES = {"corrupt", "truncate", "throttle", "longer", "redirect"}
FILTER_MODES = {"corrupt", "truncate", "throttle", "longer"}
MANIFEST_MODES = {"oversize_manifest", "schema1"}
CHUNK = 64 * 1024
BLOB_RE = re.compile(r"^/v2/(.+)/blobs/(sha256:[0-9a-f]{64})$")
UPLOAD_RE = re.compile(r"^/v2/(.+)/blobs/uploads/")
MANIFEST_RE = re.compile(r"^/v2/(.+)/manifests/([^/]+)$")


def path_kind(path):
    if UPLOAD_RE.match(path):
        return "upload"
    if BLOB_RE.match(path):
        return "blob"
    if MANIFEST_RE.match(path):
        return "manifest"
    return "other"


class Rules:
    def __init__(self):
        self.lock = threading.Lock()
        self.rules = []
        self.next_id = 1

    def add(self, rule):
        mode = rule.get("mode")
        if mode not in BODY_MODES | MANIFEST_MODES | {"status", "reset", "delay", "unauth", "lose_session", "hang"}:
            raise ValueError(f"unknown mode {mode!r}")
        r = dict(rule)
        if mode in BODY_MODES:
            r.setdefault("kind", "blob")
            r.setdefault("method", ["GET"])
        elif mode in MANIFEST_MODES:
            r.setdefault("kind", "manifest")
            r.setdefault("method", ["GET", "HEAD"])
        else:
            r.setdefault("kind", "any")
            r.setdefault("method", [])
        if isinstance(r["method"], str):
            r["method"] = [r["method"]]
        r.setdefault("times", -1)
        with self.lock:
            r["id"] = self.next_id
            self.next_id += 1
            self.rules.append(r)
        return r["id"]

    def take(self, method, path):
        """The first live rule that matches, with one use consumed."""
        kind = path_kind(path)
        with self.lock:
            for r in self.rules:
                if r["times"] == 0:
                    continue
                if r["kind"] != "any" and r["kind"] != kind:
                    continue
                if r["method"] and method not in r["method"]:
                    continue
                if r.get("digest") and r["digest"] not in path:
                    continue
                if r.get("path") and not re.search(r["path"], path):
                    continue
                if r.get("skip", 0) > 0:
                    r["skip"] -= 1
                    continue
                # Body filters are used up only when they meet a 200/206 body (see consume),
                # so a 401 challenge on the way does not eat a "times": 1 rule.
                if r["times"] > 0 and r["mode"] not in FILTER_MODES:
                    r["times"] -= 1
                return dict(r)
        return None

    def consume(self, rule_id):
        with self.lock:
            for r in self.rules:
                if r["id"] == rule_id:
                    if r["times"] == 0:
                        return False
                    if r["times"] > 0:
                        r["times"] -= 1
                    return True
        return False

    def reset(self):
        with self.lock:
            self.rules = []

    def dump(self):
        with self.lock:
            return [dict(r) for r in self.rules]


class Log:
    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.entries = []
        self.seq = 0
        self.active = 0          # proxied requests begun and not yet logged
        self.idle = threading.Condition(self.lock)
        open(path, "a").close()

    def begin(self):
        with self.lock:
            self.active += 1

    def wait_idle(self, timeout):
        """True once no proxied request is in flight (each one logged)."""
        with self.lock:
            return self.idle.wait_for(lambda: self.active == 0, timeout)

    def add(self, e):
        with self.lock:
            self.active -= 1
            if self.active == 0:
                self.idle.notify_all()
            self.seq += 1
            e["seq"] = self.seq
            e["time"] = round(time.time(), 3)
            self.entries.append(e)
            with open(self.path, "a") as f:
                f.write(json.dumps(e, sort_keys=True) + "\n")

    def since(self, n):
        with self.lock:
            return [e for e in self.entries if e["seq"] > n]


def schema1_manifest(name, tag):
    v1 = json.dumps({"id": "a" * 64, "created": "2016-01-01T00:00:00Z", "architecture": "amd64",
                     "os": "linux", "config": {"Cmd": ["/bin/sh"]}})
    payload = {
        "schemaVersion": 1, "name": name, "tag": tag, "architecture": "amd64",
        "fsLayers": [{"blobSum": "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4"}],
        "history": [{"v1Compatibility": v1}],
        "signatures": [{"header": {"jwk": {"crv": "P-256", "kid": "AAAA:BBBB:CCCC:DDDD:EEEE:FFFF:GGGG:HHHH:"
                                                                  "IIII:JJJJ:KKKK:LLLL", "kty": "EC",
                                           "x": "x", "y": "y"}, "alg": "ES256"},
                        "signature": "c2lnbmF0dXJl", "protected": "eyJmb3JtYXRMZW5ndGgiOjEwfQ"}],
    }
    return json.dumps(payload, indent=3).encode()


def oversize_manifest(size):
    m = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
         "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                    "digest": "sha256:" + "0" * 64, "size": 2},
         "layers": [], "annotations": {"org.hoist.test.padding": "x" * size}}
    return json.dumps(m).encode()


class Upstream:
    """Where requests go: host/port plus, for the redirect listener, its own credentials."""

    def __init__(self, url, creds):
        u = urllib.parse.urlsplit(url)
        self.host, self.port = u.hostname, u.port or 80
        self.creds = creds
        self.token_lock = threading.Lock()
        self.tokens = {}

    def conn(self):
        return http.client.HTTPConnection(self.host, self.port, timeout=60)

    def auth_for(self, challenge):
        """Authorization for the redirect listener's own fetch after a 401 challenge."""
        if not self.creds:
            return None
        basic = "Basic " + base64.b64encode(self.creds.encode()).decode()
        if challenge.lower().startswith("basic"):
            return basic
        if not challenge.lower().startswith("bearer"):
            return None
        params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
        key = (params.get("service"), params.get("scope"))
        with self.token_lock:
            if key in self.tokens:
                return self.tokens[key]
        q = {k: v for k, v in (("service", params.get("service")), ("scope", params.get("scope"))) if v}
        req = urllib.request.Request(params["realm"] + "?" + urllib.parse.urlencode(q),
                                     headers={"Authorization": basic})
        with urllib.request.urlopen(req, timeout=30) as r:
            tok = json.load(r)
        val = "Bearer " + (tok.get("token") or tok.get("access_token"))
        with self.token_lock:
            self.tokens[key] = val
        return val


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "hoist-fault-proxy/1"

    def log_message(self, fmt, *a):
        pass

    # -- plumbing -------------------------------------------------------------------------
    def _entry(self):
        auth = self.headers.get("Authorization")
        return {"listener": self.server.name, "method": self.command, "path": self.path.split("?")[0],
                "range": self.headers.get("Range"), "auth": auth is not None,
                "auth_scheme": auth.split(" ")[0] if auth else None, "status": None, "bytes": 0,
                "query": self.path.split("?", 1)[1] if "?" in self.path else "",
                "content_length": None, "rule": None, "closed": False, "req_bytes": 0,
                "content_range": self.headers.get("Content-Range")}

    def _json(self, status, obj, extra=None):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        return len(body)

    def _read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            out = bytearray()
            while True:
                line = self.rfile.readline(65537)
                n = int(line.split(b";")[0].strip() or b"0", 16)
                if n == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(n)
                self.rfile.readline(3)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else None

    def _abort(self, rst):
        self.close_connection = True
        try:
            if rst:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _upstream(self, body, auth_override=None, drop_auth=False):
        up = self.server.upstream
        c = up.conn()
        # A list, not a dict: clients send some headers (Accept) several times.
        headers = [(k, v) for k, v in self.headers.items() if k.lower() not in HOP and k.lower() != "content-length"]
        if drop_auth or auth_override:
            headers = [(k, v) for k, v in headers if k.lower() != "authorization"]
        if auth_override:
            headers.append(("Authorization", auth_override))
        if body is not None:
            headers.append(("Content-Length", str(len(body))))
        c.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        for k, v in headers:
            c.putheader(k, v)
        c.endheaders(body)
        return c, c.getresponse()

    # -- dispatch -------------------------------------------------------------------------
    def do_GET(self):
        self._handle()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _handle(self):
        if self.server.name == "main" and self.path.startswith("/__"):
            return self._control()
        entry = self._entry()
        self.server.log.begin()
        try:
            if self.server.name == "redirect":
                self._serve_redirected(entry)
            else:
                self._proxy(entry)
        except (BrokenPipeError, ConnectionResetError):
            entry["closed"] = True
            self.close_connection = True
        finally:
            self.server.log.add(entry)

    def _control(self):
        st = self.server
        u = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(u.query)
        body = self._read_body()
        try:
            if u.path == "/__fault" and self.command == "POST":
                spec = json.loads(body or b"null")
                rules = spec if isinstance(spec, list) else [spec]
                return self._json(200, {"ids": [st.rules.add(r) for r in rules]})
            if u.path == "/__reset":
                st.rules.reset()
                return self._json(200, {"ok": True})
            if u.path == "/__rules":
                return self._json(200, st.rules.dump())
            if u.path in ("/__mark", "/__log") and not st.log.wait_idle(60):
                return self._json(504, {"error": "requests still in flight after 60 s"})
            if u.path == "/__mark":
                return self._json(200, {"seq": st.log.seq})
            if u.path == "/__log":
                return self._json(200, st.log.since(int((q.get("since") or ["0"])[0])))
        except (ValueError, TypeError, KeyError) as e:
            return self._json(400, {"error": str(e)})
        return self._json(404, {"error": "unknown control path"})

    def _proxy(self, entry):
        body = self._read_body()
        entry["req_bytes"] = len(body) if body else 0
        rule = self.server.rules.take(self.command, entry["path"])
        mode = rule["mode"] if rule else None
        entry["rule"] = mode
        if mode == "reset":
            return self._abort(rst=True)
        if mode == "hang":
            return self._hang(entry, float(rule.get("seconds", 300)))
        if mode == "delay":
            time.sleep(float(rule.get("seconds", 1)))
        if mode == "status":
            code = int(rule.get("status", 500))
            extra = {}
            if "retry_after" in rule:
                extra["Retry-After"] = str(rule["retry_after"])
            errc = {429: "TOOMANYREQUESTS", 503: "UNAVAILABLE", 401: "UNAUTHORIZED", 404: "NOT_FOUND",
                    416: "BLOB_UPLOAD_INVALID"}
            entry["status"] = code
            entry["bytes"] = self._json(code, {"errors": [{"code": rule.get("code", errc.get(code, "UNKNOWN")),
                                                           "message": "injected by fault_proxy"}]}, extra)
            return
        if mode == "lose_session":
            if UPLOAD_RE.match(entry["path"]):
                saved = self.command
                self.command = "DELETE"
                try:
                    c, r = self._upstream(None)
                    r.read()
                    c.close()
                finally:
                    self.command = saved
            entry["status"] = 404
            entry["bytes"] = self._json(404, {"errors": [{"code": "BLOB_UPLOAD_UNKNOWN",
                                                          "message": "blob upload unknown (fault_proxy)"}]})
            return
        if mode == "unauth":
            # Without the body: the upstream refuses before reading it and may close the
            # connection under a body still being sent.
            conn, resp = self._upstream(b"" if body else None, drop_auth=True)
            try:
                self._relay(entry, resp, None)
            finally:
                conn.close()
            return
        if mode == "redirect":
            rport = self.server.redirect_port
            loc = f"http://127.0.0.1:{rport}{self.path}"
            code = int(rule.get("status", 307))
            self.send_response(code)
            self.send_header("Location", loc)
            self.send_header("Content-Length", "0")
            self.end_headers()
            entry["status"] = code
            return
        if mode in MANIFEST_MODES:
            return self._fake_manifest(entry, rule)
        conn, resp = self._upstream(body)
        try:
            self._relay(entry, resp, rule)
        finally:
            conn.close()

    def _hang(self, entry, seconds):
        """Never answer: wait until the client goes away or `seconds` pass, then close."""
        entry["status"] = 0
        self.connection.settimeout(0.2)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                if not self.connection.recv(1, socket.MSG_PEEK):
                    break            # client closed (or was killed)
            except socket.timeout:
                continue
            except OSError:
                break
            time.sleep(0.2)          # pipelined bytes: leave them, keep waiting
        entry["closed"] = True
        self._abort(rst=False)

    def _fake_manifest(self, entry, rule):
        m = MANIFEST_RE.match(entry["path"])
        name, ref = (m.group(1), m.group(2)) if m else ("test/app", "latest")
        if rule["mode"] == "schema1":
            body = schema1_manifest(name, ref)
            ctype = rule.get("content_type", "application/vnd.docker.distribution.manifest.v1+prettyjws")
        else:
            body = oversize_manifest(int(rule.get("size", 5 << 20)))
            ctype = "application/vnd.oci.image.manifest.v1+json"
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Docker-Content-Digest", "sha256:" + hashlib.sha256(body).hexdigest())
        self.send_header("Docker-Distribution-Api-Version", "registry/2.0")
        self.end_headers()
        entry["status"], entry["content_length"] = 200, len(body)
        if self.command != "HEAD":
            self.wfile.write(body)
            entry["bytes"] = len(body)

    def _relay(self, entry, resp, rule, extra_headers=None):
        """Send upstream's answer to the client, passing its body through the rule's filter."""
        mode = rule["mode"] if rule else None
        has_body = self.command != "HEAD" and resp.status not in (204, 304) and not 100 <= resp.status < 200
        clen = resp.getheader("Content-Length")
        if has_body and clen is None:           # chunked upstream: buffer, then send with a length
            data = resp.read()
            clen, reader = len(data), _BytesReader(data)
        else:
            clen, reader = (int(clen) if clen is not None else None), resp
        if not has_body:
            reader = None
        if mode in FILTER_MODES:
            if not (resp.status in (200, 206) and self.server.rules.consume(rule["id"])):
                mode = None
            entry["rule"] = mode
        else:
            mode = None
        extra = int(rule.get("extra", 1024)) if mode == "longer" else 0
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() in HOP or k.lower() == "content-length":
                continue
            self.send_header(k, v)
        for k, v in (extra_headers or {}).items():
            self.send_header(k, v)
        if clen is not None:
            self.send_header("Content-Length", str(clen + extra))
        self.end_headers()
        entry["status"], entry["content_length"] = resp.status, (clen + extra if clen is not None else None)
        if reader is None:
            return
        limit = clen
        if mode == "truncate":
            limit = int(rule["bytes"]) if "bytes" in rule else int(clen * float(rule.get("fraction", 0.5)))
        flip_at = set()
        if mode == "corrupt":
            off = int(rule.get("offset", clen // 2))
            flip_at = set(range(off, min(off + int(rule.get("count", 1)), clen)))
        rate = float(rule.get("rate", 1 << 20)) if mode == "throttle" else 0
        after = int(rule.get("after", 0)) if mode == "throttle" else 0
        sent, t0 = 0, None
        while sent < limit:
            want = min(CHUNK, limit - sent)
            if rate and sent >= after:
                want = min(want, max(1024, int(rate / 20)))
            chunk = reader.read(want)
            if not chunk:
                break
            if flip_at:
                b = bytearray(chunk)
                for i in flip_at:
                    if sent <= i < sent + len(b):
                        b[i - sent] ^= 0xFF
                chunk = bytes(b)
            if rate and sent >= after:
                if t0 is None:
                    t0 = (time.monotonic(), sent)
                # sleep so that bytes past `after` go at `rate`
                due = t0[0] + (sent + len(chunk) - t0[1]) / rate
                d = due - time.monotonic()
                if d > 0:
                    time.sleep(d)
            self.wfile.write(chunk)
            sent += len(chunk)
            entry["bytes"] = sent
        if mode == "truncate" or (clen is not None and sent < clen):
            entry["closed"] = True
            return self._abort(rst=False)
        if extra:
            pad = os.urandom(extra)
            self.wfile.write(pad)
            entry["bytes"] = sent + extra

    def _serve_redirected(self, entry):
        self._read_body()
        if self.command not in ("GET", "HEAD"):
            entry["status"] = 405
            entry["bytes"] = self._json(405, {"error": "redirect listener serves GET and HEAD"})
            return
        up = self.server.upstream
        conn, resp = self._upstream(None, drop_auth=True)
        if resp.status == 401:
            challenge = resp.getheader("WWW-Authenticate") or ""
            resp.read()
            conn.close()
            auth = up.auth_for(challenge)
            conn, resp = self._upstream(None, auth_override=auth, drop_auth=True)
        try:
            self._relay(entry, resp, None)
        finally:
            conn.close()


class _BytesReader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def read(self, n):
        r = self.data[self.pos:self.pos + n]
        self.pos += len(r)
        return r


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    allow_reuse_address = True


def write_port(path, port):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(port))
    os.replace(tmp, path)


def watch_parent():
    """Exit when the test that started us is gone (SIGKILLed by a ctest timeout, say)."""
    ppid = os.getppid()

    def loop():
        while True:
            time.sleep(1)
            if os.getppid() != ppid:
                os._exit(0)
    threading.Thread(target=loop, daemon=True).start()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--redirect-port-file")
    ap.add_argument("--log", required=True)
    ap.add_argument("--upstream-creds")
    ap.add_argument("--rules", help="JSON file: a rule or a list of rules to start with")
    args = ap.parse_args()
    watch_parent()
    upstream = Upstream(args.upstream, args.upstream_creds)
    log, rules = Log(args.log), Rules()
    if args.rules:
        with open(args.rules) as f:
            spec = json.load(f)
        for r in spec if isinstance(spec, list) else [spec]:
            rules.add(r)
    main_srv = Server(("127.0.0.1", args.port), Handler)
    red_srv = Server(("127.0.0.1", 0), Handler)
    for s, name in ((main_srv, "main"), (red_srv, "redirect")):
        s.name, s.upstream, s.log, s.rules = name, upstream, log, rules
        s.redirect_port = red_srv.server_address[1]
    threading.Thread(target=red_srv.serve_forever, daemon=True).start()
    if args.redirect_port_file:
        write_port(args.redirect_port_file, red_srv.server_address[1])
    write_port(args.port_file, main_srv.server_address[1])
    try:
        main_srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
