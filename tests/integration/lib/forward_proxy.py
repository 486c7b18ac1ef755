#!/usr/bin/env python3
"""A plain-HTTP forward proxy (absolute-URI requests, as curl sends them through
http_proxy). Logs one JSON line per request to --log and relays the response.

Usage: forward_proxy.py --port-file F --log L
"""
import argparse
import http.client
import json
import os
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def _relay(self):
        url = urllib.parse.urlsplit(self.path)
        if url.scheme != "http" or not url.netloc:
            self.send_error(400, "absolute http:// URI expected")
            return
        with LOCK:
            with open(ARGS.log, "a") as f:
                f.write(json.dumps({"method": self.command, "url": self.path}) + "\n")
        body = None
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            body = self.rfile.read(n)
        conn = http.client.HTTPConnection(url.netloc, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("proxy-connection", "connection")}
        path = url.path + ("?" + url.query if url.query else "")
        conn.request(self.command, path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        self.send_response(resp.status, resp.reason)
        for k, v in resp.getheaders():
            if k.lower() in ("transfer-encoding", "connection", "content-length"):
                continue
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        conn.close()

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _relay


def main():
    global ARGS, LOCK
    p = argparse.ArgumentParser()
    p.add_argument("--port-file", required=True)
    p.add_argument("--log", required=True)
    ARGS = p.parse_args()
    LOCK = threading.Lock()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    with open(ARGS.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(ARGS.port_file + ".tmp", ARGS.port_file)
    ppid = os.getppid()

    def watch():  # exit with the test that started us
        import time
        while os.getppid() == ppid:
            time.sleep(1)
        os._exit(0)
    threading.Thread(target=watch, daemon=True).start()
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
