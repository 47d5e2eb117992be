#!/usr/bin/python3
"""fault_server.py — an HTTP server that misbehaves on purpose, for stl-fetch's tests.

Serves ROOT/<key>.jpg for any GET path whose last component is <key>.jpg
(so both the CDN layout and a flat one work), with a behaviour chosen per
key by the --modes file ("<key> <mode>" lines; other keys: ok). A mode
misbehaves on the key's first attempts and then serves the image, or
misbehaves always; the n-th request for a key is its attempt n, so the same
keys fail the same way on every run (deterministic per key):

  ok         200 image/jpeg with Content-Length
  latency    --latency seconds (0.2) before an ok answer
  429        attempts 1-2: 429 with Retry-After: 1 (delta-seconds)
  503date    attempt 1: 503 with Retry-After as an HTTP-date 2-3 s ahead
  500        attempts 1-2: 500
  trunc      attempt 1: the full Content-Length, half the body, then close
  nolen      attempt 1: no Content-Length, half the body, then close
  stall      attempt 1: half the body, then 5 s of silence, then close
  reset      attempt 1: part of the header, then the connection is reset (RST)
  html       attempt 1: 200 text/html with an HTML error page
  htmljpeg   attempt 1: 200 image/jpeg whose body is an HTML page
  big        attempt 1: 200 image/jpeg, a valid-looking JPEG of --big-bytes
  404 410 403 always that status
  fail500    always 500

Every request is logged as one JSON line to --log, written before the
answer is sent: time (time.time()), key, attempt, mode, status ("reset" for
a reset), the requests in flight at its start, and for a Retry-After the
earliest time a retry may arrive (retry_not_before). A request counts as
in flight from its arrival until its answer is decided. The port it listens
on (127.0.0.1, chosen by the kernel) is written to --port-file.
Python 3 standard library only.
"""
import argparse
import email.utils
import json
import math
import os
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARGS = None
MODES = {}
LOCK = threading.Lock()
ATTEMPTS = {}
INFLIGHT = [0]
LOG = None

HTML = b"<html><head><title>Error</title></head><body>Please slow down.</body></html>\n"


def log(entry):
    with LOCK:
        LOG.write(json.dumps(entry) + "\n")
        LOG.flush()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle
    # and the client's delayed ACK add 40 ms to every keep-alive answer.
    disable_nagle_algorithm = True

    def log_message(self, *a):
        pass

    def answer(self, status, body, ctype="image/jpeg", extra=None, length=True):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        if length:
            self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        with LOCK:
            INFLIGHT[0] += 1
            inflight = INFLIGHT[0]
        self.counted = True
        try:
            self.serve(inflight)
        finally:
            self.uncount()

    def uncount(self):
        # A request stops counting once its answer is decided, before a byte
        # of it is sent: the client cannot have finished it earlier, so the
        # count never exceeds the requests the client has in flight.
        if self.counted:
            self.counted = False
            with LOCK:
                INFLIGHT[0] -= 1

    def serve(self, inflight):
        name = self.path.rsplit("/", 1)[-1]
        key = name[:-4] if name.endswith(".jpg") else name
        with LOCK:
            ATTEMPTS[key] = ATTEMPTS.get(key, 0) + 1
            attempt = ATTEMPTS[key]
        mode = MODES.get(key, "ok")
        entry = {"t": time.time(), "key": key, "attempt": attempt, "mode": mode,
                 "inflight": inflight}
        path = os.path.join(ARGS.root, key + ".jpg")
        body = open(path, "rb").read() if os.path.isfile(path) else None

        def done(status, **kw):
            self.uncount()
            entry["status"] = status
            entry.update(kw)
            log(entry)

        if body is None:
            done(404)
            return self.answer(404, HTML, "text/html")
        if mode in ("404", "410", "403"):
            done(int(mode))
            return self.answer(int(mode), HTML, "text/html")
        if mode == "fail500":
            done(500)
            return self.answer(500, HTML, "text/html")
        if mode == "429" and attempt <= 2:
            done(429, retry_not_before=entry["t"] + 1)
            return self.answer(429, HTML, "text/html", {"Retry-After": "1"})
        if mode == "503date" and attempt == 1:
            when = math.ceil(entry["t"]) + 2
            done(503, retry_not_before=when)
            return self.answer(503, HTML, "text/html",
                               {"Retry-After": email.utils.formatdate(when, usegmt=True)})
        if mode == "500" and attempt <= 2:
            done(500)
            return self.answer(500, HTML, "text/html")
        if mode in ("trunc", "nolen", "stall") and attempt == 1:
            done(200)
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            if mode != "nolen":
                self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            if mode == "stall":
                time.sleep(5)
            self.close_connection = True
            return
        if mode == "reset" and attempt == 1:
            # Part of the header, then a reset: a reset before any byte of the
            # answer on a reused keep-alive connection is resent by libcurl
            # itself (a server closing an idle connection looks the same).
            done("reset")
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\n")
            self.wfile.flush()
            time.sleep(0.05)
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        if mode == "html" and attempt == 1:
            done(200)
            return self.answer(200, HTML, "text/html")
        if mode == "htmljpeg" and attempt == 1:
            done(200)
            return self.answer(200, HTML, "image/jpeg")
        if mode == "big" and attempt == 1:
            done(200)
            big = b"\xff\xd8\xff\xe0" + b"\0" * (ARGS.big_bytes - 6) + b"\xff\xd9"
            return self.answer(200, big)
        if mode == "latency":
            time.sleep(ARGS.latency)
        done(200)
        return self.answer(200, body)


def main():
    global ARGS, LOG
    p = argparse.ArgumentParser(description="stl-fetch's fault-injecting test server")
    p.add_argument("--root", required=True, help="directory of <key>.jpg")
    p.add_argument("--modes", help="file of '<key> <mode>' lines")
    p.add_argument("--log", required=True, help="request log (JSON lines, appended)")
    p.add_argument("--port-file", required=True)
    p.add_argument("--big-bytes", type=int, default=300000)
    p.add_argument("--latency", type=float, default=0.2, help="seconds the latency mode waits")
    ARGS = p.parse_args()
    if ARGS.modes:
        for line in open(ARGS.modes):
            parts = line.split()
            if len(parts) == 2:
                MODES[parts[0]] = parts[1]
    LOG = open(ARGS.log, "a")
    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 64

        def handle_error(self, request, client_address):
            pass  # a client that gave up on a stall or was reset: expected here

    srv = Server(("127.0.0.1", 0), Handler)
    tmp = ARGS.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, ARGS.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
