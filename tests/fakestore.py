"""A small Graph Store Protocol server on loopback, with fault injection, for the publish tests.

It keeps each graph as the bytes last PUT (diplokb sends canonical N-Triples, one triple a line).
Faults: `fail_at=N` makes the Nth request fail (`mode` "500": refused and not applied; "drop":
the connection is closed without an answer and nothing applied, as when the publisher is killed
or the network dies; "applied-then-drop": applied, then the connection is closed), `lie` answers
200 (empty) to everything and stores nothing, `lossy` stores each data graph (not the pointer) without its last triple,
`delay` sleeps before each answer, `trickle` answers one byte at a time forever, `redirect`
answers a request with a `redirect_status` (307) to `redirect(path)` (unless None), `echo_auth` puts the request's
Authorization header and URL in every error body.
"""
from __future__ import annotations

import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeStore:
    def __init__(self, graphs: dict | None = None, **faults):
        self.reset(graphs, **faults)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.fake = self
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/store"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def reset(self, graphs: dict | None = None, *, fail_at=None, mode="500", lie=False, lossy=False,
              delay=0.0, trickle=False, redirect=None, redirect_status=307, echo_auth=False):
        self.graphs = dict(graphs or {})
        self.requests: list[tuple[str, str | None, dict]] = []
        self.fail_at, self.mode, self.lie, self.lossy = fail_at, mode, lie, lossy
        self.delay, self.trickle, self.redirect, self.echo_auth = delay, trickle, redirect, echo_auth
        self.redirect_status = redirect_status
        self.lock = threading.Lock()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def handle(self, h: BaseHTTPRequestHandler):
        body = h.rfile.read(int(h.headers.get("Content-Length") or 0))
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(h.path).query)
        graph = query.get("graph", [None])[0]
        with self.lock:
            self.requests.append((h.command, graph, dict(h.headers)))
            n = len(self.requests)
        if self.delay:
            time.sleep(self.delay)
        if self.trickle:
            h.send_response(200)
            h.send_header("Content-Type", "application/n-triples")
            h.send_header("Content-Length", "1000000")
            h.end_headers()
            try:
                while True:
                    h.wfile.write(b" ")
                    h.wfile.flush()
                    time.sleep(0.05)
            except OSError:
                return
        if self.redirect and (where := self.redirect(h.path)):
            return self._answer(h, self.redirect_status, b"", location=where)
        if self.fail_at == n:
            if self.mode == "500":
                text = b"failing on purpose"
                if self.echo_auth:
                    text += f" {h.headers.get('Authorization')} {h.path}".encode()
                return self._answer(h, 500, text)
            if self.mode == "applied-then-drop":
                self._apply(h.command, graph, body)
            h.close_connection = True
            return
        if self.lie:
            return self._answer(h, 200, b"")
        status, out = self._apply(h.command, graph, body)
        self._answer(h, status, out)

    def _apply(self, method: str, graph: str | None, body: bytes):
        if graph is None:
            return 400, b"no graph parameter"
        with self.lock:
            if method == "GET":
                return (200, self.graphs[graph]) if graph in self.graphs else (404, b"")
            if method == "PUT":
                if self.lossy and body and "/build/" in graph:
                    body = b"".join(body.splitlines(keepends=True)[:-1])
                created = graph not in self.graphs
                self.graphs[graph] = body
                return (201 if created else 204), b""
            if method == "DELETE":
                return (204, b"") if self.graphs.pop(graph, None) is not None else (404, b"")
        return 405, b""

    @staticmethod
    def _answer(h, status: int, body: bytes, location: str | None = None):
        h.send_response(status)
        h.send_header("Content-Type", "application/n-triples")
        h.send_header("Content-Length", str(len(body)))
        if location:
            h.send_header("Location", location)
        h.end_headers()
        h.wfile.write(body)


class _Handler(BaseHTTPRequestHandler):
    disable_nagle_algorithm = True
    def _any(self):
        self.server.fake.handle(self)

    do_GET = do_PUT = do_DELETE = do_POST = _any

    def log_message(self, *args):
        pass
