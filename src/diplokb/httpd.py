"""The HTTP layer under `diplokb serve`: Python's http.server, hardened (docs/endpoint.md).

- every response leaves in one write with TCP_NODELAY set (no Nagle / delayed-ACK stall);
- a request must arrive whole within `request_timeout` seconds of the connection becoming
  idle (a slow sender, 'slowloris', or an idle keep-alive connection is closed then), and a
  reply must be taken within the same time (a client that never reads is dropped);
- connections are capped in total and per client address; the excess is answered 503 with
  Retry-After on a small pool of its own, after its request is read (no TCP reset);
- no version banner.
"""
from __future__ import annotations

import email.utils
import errno
import functools
import io
import queue
import socket
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .errors import QueryError

LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", "[::1]"}


def is_loopback(host: str) -> bool:
    """Whether a host (a name, an IPv4 address, an IPv6 one with or without brackets) is the
    loopback: every spelling of it, since a loopback bind turns on the Host check."""
    if host in LOOPBACK_NAMES or host.startswith("127."):
        return True
    if ":" not in host:
        return False
    import ipaddress

    try:
        addr = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return addr.is_loopback or bool(addr.ipv4_mapped and addr.ipv4_mapped.is_loopback)


def url_host(host: str) -> str:
    """A host as a URL (or a host:port message) spells it: an IPv6 address in brackets."""
    return f"[{host}]" if ":" in host else host


class _DeadlineRaw(io.RawIOBase):
    """A socket's reading side that fails once the handler's deadline has passed."""

    def __init__(self, sock: socket.socket, handler):
        self.sock, self.handler = sock, handler

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        left = self.handler.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("request not received in time")
        current = self.sock.gettimeout()
        # settimeout is a system call (ioctl) each time, made without the GIL: on a keep-alive
        # connection the timeout left from the last request is most often within _SLACK of
        # the one wanted, and is kept then (the deadline holds to within _SLACK)
        if current is None or abs(current - left) > _SLACK:
            self.sock.settimeout(left)
        return self.sock.recv_into(b)


_SLACK = 0.02  # seconds


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, handler, *, max_connections: int, client_connections: int):
        self.max_connections = max_connections
        self.client_connections = client_connections
        self.open: dict[str, int] = {}
        self.owners: dict[int, str] = {}  # id(socket) -> client address, for the counts
        self.total = 0
        self.count_lock = threading.Lock()
        self.refusals: queue.Queue = queue.Queue(maxsize=64)
        host = address[0].strip("[]")
        if ":" in host:  # an IPv6 address (the class's family is IPv4)
            self.address_family = socket.AF_INET6
        address = (host, *address[1:])
        try:
            super().__init__(address, handler)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise QueryError(f"port {address[1]} on {url_host(host)} is already in use: stop the other "
                                 "server or choose another port with --port") from None
            raise QueryError(f"cannot listen on {url_host(host)}:{address[1]}: {exc.strerror}") from None
        for _ in range(2):
            threading.Thread(target=self._refuser, daemon=True).start()

    def handle_error(self, request, client_address):
        """A client that went away or timed out is routine; anything else is printed."""
        import sys

        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)

    def process_request(self, request, client_address):
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        ip = client_address[0]
        with self.count_lock:
            full = self.total >= self.max_connections or self.open.get(ip, 0) >= self.client_connections
            if not full:
                self.total += 1
                self.open[ip] = self.open.get(ip, 0) + 1
        if full:
            try:
                self.refusals.put_nowait(request)
            except queue.Full:
                self.shutdown_request(request)
            return
        with self.count_lock:
            self.owners[id(request)] = ip
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self.count_lock:
            ip = self.owners.pop(id(request), None)
            if ip is not None:
                self.total -= 1
                self.open[ip] -= 1
                if not self.open[ip]:
                    del self.open[ip]
        super().shutdown_request(request)

    def _refuser(self) -> None:
        body = (b'{"error": {"status": 503, "message": "too many connections from this client; '
                b'try again shortly"}}\n')
        reply = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                 b"Retry-After: 1\r\nConnection: close\r\nContent-Length: " + str(len(body)).encode()
                 + b"\r\n\r\n" + body)
        while True:
            sock = self.refusals.get()
            try:
                sock.settimeout(0.5)
                try:
                    sock.recv(65536)  # the request, so that closing does not reset the connection
                except OSError:
                    pass
                sock.sendall(reply)
                sock.shutdown(socket.SHUT_WR)
                end = time.monotonic() + 0.5
                while time.monotonic() < end and sock.recv(65536):
                    pass
            except OSError:
                pass
            finally:
                sock.close()


class Handler(BaseHTTPRequestHandler):
    """One connection. Subclasses answer; `respond` is the one way out."""

    server_version = "diplokb"
    sys_version = ""
    protocol_version = "HTTP/1.1"
    request_timeout = 10.0

    def version_string(self) -> str:
        return "diplokb"  # no version banner

    def log_message(self, format, *args):  # noqa: A002 - quiet by default
        pass

    def setup(self):
        self.deadline = time.monotonic() + self.request_timeout
        self.connection = self.request
        self.family = int(self.connection.family)  # (the property makes an enum at each use)
        self.rfile = io.BufferedReader(_DeadlineRaw(self.connection, self), 65536)
        self.wfile = _Writer(self.connection)

    linger = False  # set when a request body is left unread: drain it before closing

    def finish(self):
        super().finish()
        if self.linger:
            # closing with unread data sends a TCP reset, which can destroy the reply in flight:
            # stop writing, then discard what the client still sends (bounded in bytes and time)
            try:
                self.connection.shutdown(socket.SHUT_WR)
                end, left = time.monotonic() + 1.0, 4_000_000
                while left > 0 and time.monotonic() < end:
                    self.connection.settimeout(max(0.01, end - time.monotonic()))
                    chunk = self.connection.recv(65536)
                    if not chunk:
                        break
                    left -= len(chunk)
            except OSError:
                pass

    def handle_one_request(self):
        self.deadline = time.monotonic() + self.request_timeout
        super().handle_one_request()

    def parse_request(self) -> bool:
        """http.server's parse_request with the headers read by `read_headers` (email.parser,
        which http.server uses, cost ~60 µs a request: a tenth of a trivial query's time)."""
        self.command = None
        self.request_version = self.default_request_version
        self.close_connection = True
        self.requestline = requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        words = requestline.split()
        if not words:
            return False
        if len(words) >= 3:
            version = words[-1]
            major, dot, minor = version[5:].partition(".")
            if (not version.startswith("HTTP/") or not dot or not major.isdigit() or not minor.isdigit()
                    or len(major) > 10 or len(minor) > 10):
                self.send_error(HTTPStatus.BAD_REQUEST, f"Bad request version ({version!r})")
                return False
            number = int(major), int(minor)
            if number >= (2, 0):
                self.send_error(HTTPStatus.HTTP_VERSION_NOT_SUPPORTED, f"Invalid HTTP version ({major}.{minor})")
                return False
            if number >= (1, 1):
                self.close_connection = False
            self.request_version = version
        if not 2 <= len(words) <= 3:
            self.send_error(HTTPStatus.BAD_REQUEST, f"Bad request syntax ({requestline!r})")
            return False
        command, path = words[:2]
        if len(words) == 2:
            self.close_connection = True
            if command != "GET":
                self.send_error(HTTPStatus.BAD_REQUEST, f"Bad HTTP/0.9 request type ({command!r})")
                return False
        self.command = command
        self.path = "/" + path.lstrip("/") if path.startswith("//") else path
        try:
            self.headers = headers = read_headers(self.rfile)
        except _BadHeaders as exc:
            self.send_error(exc.status, exc.args[0])
            return False
        conntype = headers.get("Connection", "").lower()
        if conntype == "close":
            self.close_connection = True
        elif conntype == "keep-alive":
            self.close_connection = False
        if (headers.get("Expect", "").lower() == "100-continue" and self.request_version >= "HTTP/1.1"):
            if not self.handle_expect_100():
                return False
        return True

    def response_head(self, status: int, headers: list[tuple[str, str]]) -> bytes:
        """The status line and headers of a reply, but its Content-Length and the empty line."""
        lines = [_status_line(status), _date(), "Server: diplokb"]
        lines += [f"{k}: {v}" for k, v in headers]
        if self.close_connection:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n").encode("latin-1", "replace")

    def respond(self, status: int, body: bytes, headers: list[tuple[str, str]], head: bool = False):
        """Status line, headers and body in one write."""
        data = self.response_head(status, headers) + b"Content-Length: %d\r\n\r\n" % len(body)
        self.connection.settimeout(self.request_timeout)  # a client that never reads is dropped
        self.wfile.write(data if head else data + body)


@functools.lru_cache(maxsize=64)
def _status_line(status: int) -> str:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    return f"HTTP/1.1 {status} {phrase}"


_last_date = [0, ""]


def _date() -> str:
    """The Date header, formatted once a second."""
    now = int(time.time())
    if now != _last_date[0]:
        _last_date[:] = now, "Date: " + email.utils.formatdate(now, usegmt=True)
    return _last_date[1]


class _BadHeaders(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class Headers:
    """A request's header fields: `get` (the first of a name) and `get_all`, names in any
    case, as email.message.Message gives them (the part of it the handlers use)."""

    __slots__ = ("fields",)

    def __init__(self, fields: dict[str, list[str]]):
        self.fields = fields

    def get(self, name: str, default=None):
        values = self.fields.get(name.lower())
        return values[0] if values else default

    def get_all(self, name: str, failobj=None):
        values = self.fields.get(name.lower())
        return list(values) if values else failobj

    def __getitem__(self, name: str):
        return self.get(name)

    def __contains__(self, name: str) -> bool:
        return name.lower() in self.fields

    def keys(self) -> list[str]:
        return list(self.fields)

    def items(self) -> list[tuple[str, str]]:
        return [(k, v) for k, values in self.fields.items() for v in values]


_MAX_LINE, _MAX_HEADERS = 65536, 100  # http.client's limits


def read_headers(rfile) -> Headers:
    """The header block up to its empty line: at most 100 fields of at most 64 KiB each (431
    past either, as http.server); a field without a colon, a space before the colon or an
    obsolete folded line is 400 (RFC 9112 §5.1-5.2 allow refusing them)."""
    fields: dict[str, list[str]] = {}
    count = 0
    while True:
        line = rfile.readline(_MAX_LINE + 1)
        if len(line) > _MAX_LINE:
            raise _BadHeaders(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Line too long")
        if line in (b"\r\n", b"\n", b""):
            return Headers(fields)
        count += 1
        if count > _MAX_HEADERS:
            raise _BadHeaders(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Too many headers")
        name, colon, value = line.decode("iso-8859-1").partition(":")
        if not colon or not name or name != name.strip() or line[:1] in (b" ", b"\t"):
            raise _BadHeaders(HTTPStatus.BAD_REQUEST, "Malformed header line")
        fields.setdefault(name.lower(), []).append(value.strip())


class _Writer(io.RawIOBase):
    def __init__(self, sock: socket.socket):
        self.sock = sock

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        self.sock.sendall(b)
        return len(b)
