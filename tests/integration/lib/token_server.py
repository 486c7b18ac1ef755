#!/usr/bin/env python3
"""A small Docker/OCI bearer-token server for the integration tests (stdlib + openssl CLI).

It speaks the token protocol of distribution's docs/spec/auth/token.md:
  GET  /token?service=S&scope=repository:NAME:pull,push[&scope=...]   (Basic auth optional)
  POST /token  (form: grant_type=password&username=..&password=.. | grant_type=refresh_token&refresh_token=..,
                service=S, scope=...)
and answers {"token", "access_token", "expires_in", "issued_at"[, "refresh_token"]}.

Tokens are real RS256 JWTs that the CNCF registry verifies (`auth: token:` with
rootcertbundle = the --cert below): the header carries `kid` = libtrust key id of the key,
which the registry derives from the root certificate. Signing runs `openssl dgst -sha256
-sign` (python's stdlib has no RSA). Key and self-signed cert are generated into --dir on
first start when missing.

Grants: a user from --user NAME:PASS gets every action it asks for; a request without
credentials gets `pull` on repositories matching an --anonymous-pull GLOB (fnmatch) and
nothing else (the registry then answers 401); bad credentials get 401 here.

Every request is logged as one JSON line to --log: method, user, anonymous, scopes,
granted, status, basic (Authorization: Basic present), service.

  token_server.py --dir DIR --port-file F --log F [--user u:p]... [--anonymous-pull GLOB]...
                  [--issuer hoist-test-issuer] [--service hoist-test-registry] [--expires-in 300]
"""
import argparse
import base64
import fnmatch
import hashlib
import json
import os
import secrets
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def ensure_keys(d):
    key, cert = os.path.join(d, "token.key"), os.path.join(d, "token.crt")
    if not (os.path.exists(key) and os.path.exists(cert)):
        os.makedirs(d, exist_ok=True)
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                        "-out", cert, "-days", "2", "-subj", "/CN=hoist-test-token"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return key, cert


def libtrust_kid(cert):
    """distribution/libtrust KeyID: base32(sha256(DER SubjectPublicKeyInfo)[:30]) in 12 groups of 4."""
    pub = subprocess.run(["openssl", "x509", "-in", cert, "-pubkey", "-noout"], check=True,
                         capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pub, check=True,
                         capture_output=True).stdout
    s = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode().rstrip("=")
    return ":".join(s[i:i + 4] for i in range(0, len(s), 4))


def parse_scope(s):
    # "repository:name:pull,push"; NAME may hold ':' only in odd cases, take type/actions from the ends.
    typ, _, rest = s.partition(":")
    name, _, actions = rest.rpartition(":")
    return typ, name, [a for a in actions.split(",") if a]


class State:
    def __init__(self, args):
        self.args = args
        self.key, self.cert = ensure_keys(args.dir)
        self.kid = libtrust_kid(self.cert)
        self.users = dict(u.split(":", 1) for u in args.user)
        self.lock = threading.Lock()

    def sign(self, claims):
        header = {"typ": "JWT", "alg": "RS256", "kid": self.kid}
        signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "." +
                         b64url(json.dumps(claims, separators=(",", ":")).encode())).encode()
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", self.key], input=signing_input,
                             check=True, capture_output=True).stdout
        return signing_input.decode() + "." + b64url(sig)

    def log(self, entry):
        entry["time"] = time.time()
        with self.lock, open(self.args.log, "a") as f:
            f.write(json.dumps(entry) + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "hoist-test-token/1"

    def log_message(self, fmt, *a):
        pass

    def _send(self, status, obj, extra=None):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        if u.path != "/token":
            return self._send(404, {"error": "not found"})
        q = urllib.parse.parse_qs(u.query)
        user, pw = None, None
        auth = self.headers.get("Authorization", "")
        if auth.lower().startswith("basic "):
            try:
                user, _, pw = base64.b64decode(auth[6:].strip()).decode().partition(":")
            except Exception:
                user, pw = "", None
        self._issue(q, user, pw, basic=bool(auth.lower().startswith("basic ")), refresh=False)

    def do_POST(self):
        u = urllib.parse.urlsplit(self.path)
        n = int(self.headers.get("Content-Length") or 0)
        q = urllib.parse.parse_qs(self.rfile.read(n).decode())
        if u.path != "/token":
            return self._send(404, {"error": "not found"})
        grant = (q.get("grant_type") or [""])[0]
        user, pw, refresh = None, None, False
        if grant == "password":
            user, pw = (q.get("username") or [""])[0], (q.get("password") or [""])[0]
        elif grant == "refresh_token":
            tok = (q.get("refresh_token") or [""])[0]
            if tok.startswith("refresh-") and tok[8:] in self.server.st.users:
                user, refresh = tok[8:], True
            else:
                user, pw = "", None
        self._issue(q, user, pw, basic=False, refresh=refresh)

    def _issue(self, q, user, pw, basic, refresh):
        st = self.server.st
        scopes = q.get("scope", [])
        scopes = [s for sc in scopes for s in sc.split(" ") if s]
        service = (q.get("service") or [""])[0]
        entry = {"method": self.command, "user": user, "anonymous": user is None, "scopes": scopes,
                 "service": service, "basic": basic}
        if user is not None and not refresh and st.users.get(user) != pw:
            entry.update(status=401, granted=[])
            st.log(entry)
            return self._send(401, {"errors": [{"code": "UNAUTHORIZED", "message": "bad credentials"}]},
                              {"WWW-Authenticate": 'Basic realm="hoist-test-token"'})
        access = []
        for s in scopes:
            typ, name, actions = parse_scope(s)
            if user is not None:
                allowed = [a for a in actions if a in ("pull", "push", "delete", "*")]
            else:
                allowed = ["pull"] if "pull" in actions and any(
                    fnmatch.fnmatch(name, g) for g in st.args.anonymous_pull) else []
            if allowed:
                access.append({"type": typ, "name": name, "actions": allowed})
        now = int(time.time())
        claims = {"iss": st.args.issuer, "sub": user or "", "aud": service or st.args.service,
                  "exp": now + st.args.expires_in, "nbf": now - 30, "iat": now,
                  "jti": secrets.token_hex(8), "access": access}
        token = st.sign(claims)
        entry.update(status=200, granted=[f"{a['type']}:{a['name']}:{','.join(a['actions'])}" for a in access])
        st.log(entry)
        resp = {"token": token, "access_token": token, "expires_in": st.args.expires_in,
                "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))}
        if user and ((q.get("offline_token") or [""])[0] == "true" or self.command == "POST"):
            resp["refresh_token"] = "refresh-" + user
        self._send(200, resp)


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
    ap.add_argument("--dir", required=True, help="key/cert directory (created)")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--user", action="append", default=[])
    ap.add_argument("--anonymous-pull", action="append", default=[])
    ap.add_argument("--issuer", default="hoist-test-issuer")
    ap.add_argument("--service", default="hoist-test-registry")
    ap.add_argument("--expires-in", type=int, default=300)
    args = ap.parse_args()
    watch_parent()
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    srv.st = State(args)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.replace(tmp, args.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
