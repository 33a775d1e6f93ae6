#!/usr/bin/env python3
"""mockhttp.py -- a local HTTP server that plays a real API for the tests.

usage: mockhttp.py SCRIPT.json LOG.ndjson PORTFILE

SCRIPT is a JSON object {"routes": [ROUTE, ...]}. For each request the first
route that matches and is not used up answers it. A ROUTE:

  "method": "POST"              required
  "path": "/v1/messages"        required, exact (without the query string)
  "query": {"k": "v"}           these query parameters, exactly these values
  "headers": {"x-api-key": "k"} these headers, exact values (names any case)
  "absent_headers": ["..."]     headers that must not be sent
  "json": {...}                 the body parsed as JSON must contain this
                                (objects: every key given, recursively;
                                arrays and scalars: equal)
  "json_exact": true            ... and be exactly equal to "json"
  "times": 1                    how many requests it answers (default: any)
  "status": 200                 the answer's status
  "response_headers": {...}
  "body": {...} or "text"       the answer's body (JSON unless a string)
  "body_bytes": "text"          ... or these bytes, one per character (each
                                below 256: "\u00ff" is the byte 0xff),
                                sent as application/json: a body that
                                is not UTF-8
  "action": "stall" | "reset"   instead of answering: sleep "seconds"
                                (default 60) or close the connection

A request that matches no route gets status 599 and a body that says why the
closest route (same method and path) did not match; the tests see it in LOG.
Every request is appended to LOG as one JSON line: method, path, query,
headers (lower-case names), body (parsed JSON when it is JSON, else text),
route (the index of the route that answered, or null). The port is written to
PORTFILE once the server listens, so a test can wait for it.
"""
import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

LOCK = threading.Lock()


def contains(want, got):
    if isinstance(want, dict):
        return isinstance(got, dict) and all(
            k in got and contains(v, got[k]) for k, v in want.items())
    return want == got


def why_not(route, method, path, query, headers, body):
    if route["method"] != method or route["path"] != path:
        return "method or path"
    for k, v in route.get("query", {}).items():
        if query.get(k) != [v]:
            return "query parameter %s: want %r, got %r" % (k, v, query.get(k))
    for k, v in route.get("headers", {}).items():
        if headers.get(k.lower()) != v:
            return "header %s: want %r, got %r" % (k, v, headers.get(k.lower()))
    for k in route.get("absent_headers", []):
        if k.lower() in headers:
            return "header %s must not be sent" % k
    if "json" in route:
        if not isinstance(body, (dict, list)):
            return "body is not JSON"
        if route.get("json_exact"):
            if body != route["json"]:
                return "body differs from the exact JSON expected"
        elif not contains(route["json"], body):
            return "body lacks part of the JSON expected"
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def handle_any(self):
        parts = urlsplit(self.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        headers = {k.lower(): v for k, v in self.headers.items()}
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        chosen, reasons = None, []
        with LOCK:
            for i, r in enumerate(self.server.routes):
                if r.get("times") is not None and r["_used"] >= r["times"]:
                    continue
                w = why_not(r, self.command, parts.path, query, headers, body)
                if w is None:
                    chosen = i
                    r["_used"] += 1
                    break
                if w != "method or path":
                    reasons.append("route %d: %s" % (i, w))
            entry = {"method": self.command, "path": parts.path, "query": query,
                     "headers": headers, "body": body, "route": chosen}
            if chosen is None:
                entry["why"] = reasons or ["no route for %s %s" % (self.command, parts.path)]
            with open(self.server.log, "a") as f:
                f.write(json.dumps(entry) + "\n")
        if chosen is None:
            self.answer(599, {}, {"error": "mockhttp: unmatched", "why": entry["why"]})
            return
        r = self.server.routes[chosen]
        if r.get("action") == "stall":
            time.sleep(r.get("seconds", 60))
            return
        if r.get("action") == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.connection.close()
            self.close_connection = True
            return
        if "body_bytes" in r:
            self.answer(r.get("status", 200), r.get("response_headers", {}), r["body_bytes"], raw=True)
            return
        self.answer(r.get("status", 200), r.get("response_headers", {}), r.get("body", {}))

    def answer(self, status, headers, body, raw=False):
        if raw:
            data = body.encode("latin-1")
            headers = dict(headers, **{"Content-Type": "application/json"})
        else:
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        if "Content-Type" not in headers and not isinstance(body, str):
            self.send_header("Content-Type", "application/json")
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: mockhttp.py SCRIPT.json LOG.ndjson PORTFILE")
    with open(sys.argv[1]) as f:
        script = json.load(f)
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.routes = script["routes"]
    for r in srv.routes:
        r["_used"] = 0
    srv.log = sys.argv[2]
    open(srv.log, "a").close()
    with open(sys.argv[3] + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    import os
    os.rename(sys.argv[3] + ".tmp", sys.argv[3])
    srv.serve_forever()


if __name__ == "__main__":
    main()
