"""A real webhook receiver for the tests: an HTTP server on a free local port, in a thread,
that records every request and answers what the test tells it (200, 500, a redirect, slowly),
and that can be shut down (its port then refuses connections) and started again."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        receiver = self.server.receiver
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        receiver.record(Request(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        if receiver.delay:
            time.sleep(receiver.delay)
        self.send_response(receiver.status)
        for name, value in receiver.extra_headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format, *args) -> None:
        pass  # quiet


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    receiver: Receiver


class Receiver:
    """``status``/``extra_headers``/``delay``: how it answers the next requests;
    ``requests``: what it was sent, in arrival order."""

    def __init__(self) -> None:
        self.status = 200
        self.extra_headers: dict[str, str] = {}
        self.delay = 0.0
        self.requests: list[Request] = []
        self.port = 0
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/heed"

    def record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def event_ids(self) -> list[str]:
        with self._lock:
            return [r.headers["heed-delivery"] for r in self.requests]

    def start(self) -> None:
        """Listen (again, on the same port after ``stop``)."""
        server = _Server(("127.0.0.1", self.port), _Handler)
        server.receiver = self
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        self._server = server

    def stop(self) -> None:
        """Shut down: the port refuses connections until ``start``."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
            self._server = None
