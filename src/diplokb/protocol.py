"""The SPARQL 1.1 Protocol side of `diplokb serve`'s handler: reading a query request (GET,
form or body, with its limits), the per-client gate, running the query on a worker and sending
its reply (docs/endpoint.md). The pages and files are server.py's."""
from __future__ import annotations

import functools
import json
import re
import threading
import time
import urllib.parse
from http import HTTPStatus

from .querypool import GONE, Job, Stopped, encode_job


class ClientGate:
    """Per client address: at most `in_flight` SPARQL requests at once (the excess is refused
    at once), of which `running` hold a worker (the others wait), so that one client cannot
    take every worker from the others."""

    def __init__(self, in_flight: int, running: int):
        self.in_flight, self.running = in_flight, running
        self.lock = threading.Lock()
        self.counts: dict[str, int] = {}
        self.slots: dict[str, threading.Semaphore] = {}

    def enter(self, ip: str) -> threading.Semaphore | None:
        with self.lock:
            if self.counts.get(ip, 0) >= self.in_flight:
                return None
            self.counts[ip] = self.counts.get(ip, 0) + 1
            return self.slots.setdefault(ip, threading.Semaphore(self.running))

    def leave(self, ip: str) -> None:
        with self.lock:
            self.counts[ip] -= 1
            if not self.counts[ip]:
                del self.counts[ip], self.slots[ip]


class HTTPError(Exception):
    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


_CHARSET = re.compile(r"charset\s*=\s*\"?([\w-]+)", re.I)
_UPDATE = "SPARQL Update is not supported: the KB is read-only"
_HEADERS = [("X-Content-Type-Options", "nosniff"),  # on every reply, with its Content-Type
            ("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'"),
            ("Access-Control-Allow-Origin", "*"), ("Vary", "Accept")]


def _preferences(accept: str | None, fmt: str | None) -> tuple[tuple[str, ...], bool]:
    """results.preferences, cached for short headers: clients send the same few."""
    if (accept is None or len(accept) < 256) and (fmt is None or len(fmt) < 256):
        return _cached_preferences(accept, fmt)
    return _cached_preferences.__wrapped__(accept, fmt)


@functools.lru_cache(maxsize=256)
def _cached_preferences(accept: str | None, fmt: str | None) -> tuple[tuple[str, ...], bool]:
    from .results import preferences

    formats, anything = preferences(accept, fmt)
    return tuple(formats), anything


def _parse_qs(text: str) -> dict[str, list[str]]:
    """A query string or form; percent-escapes that are not UTF-8 are an error (400)."""
    try:
        return urllib.parse.parse_qs(text, keep_blank_values=True, errors="strict", max_num_fields=1000)
    except UnicodeDecodeError:
        raise HTTPError(HTTPStatus.BAD_REQUEST, "a parameter is not UTF-8 once percent-decoded") from None
    except ValueError as exc:
        raise HTTPError(HTTPStatus.BAD_REQUEST, f"malformed parameters: {exc}") from None


class SparqlProtocol:
    """The /sparql requests, mixed into server.Handler (which gives `app`, `_send`,
    `_send_html`, `_wants_html`, `_editor` and `_results_page`)."""

    def _content_length(self) -> int:
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = self.linger = True
            raise HTTPError(HTTPStatus.LENGTH_REQUIRED, "send the body with a Content-Length "
                                                        "(chunked transfer coding is not accepted)")
        raw = self.headers.get_all("Content-Length") or ["0"]
        if len(set(raw)) != 1 or not raw[0].strip().isdigit():
            self.close_connection = self.linger = True
            raise HTTPError(HTTPStatus.BAD_REQUEST, f"invalid Content-Length: {', '.join(raw)[:50]}")
        return int(raw[0])

    def _discard_body(self) -> None:
        try:
            length = self._content_length()
        except HTTPError:
            return
        if length > self.app.settings.max_request_bytes:
            self.close_connection = self.linger = True
        elif length:
            self.rfile.read(length)

    def _read_body(self) -> bytes:
        length = self._content_length()
        if length > self.app.settings.max_request_bytes:
            self.close_connection = self.linger = True  # the body is not read: no going on
            raise HTTPError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                            f"request body over {self.app.settings.max_request_bytes} bytes")
        body = self.rfile.read(length)
        if len(body) < length:
            self.close_connection = True
            raise HTTPError(HTTPStatus.BAD_REQUEST, "the body is shorter than its Content-Length")
        return body

    def _sparql(self, method: str, params: dict):
        if method == "POST":
            ctype, _, ctype_params = (self.headers.get("Content-Type") or "").partition(";")
            ctype = ctype.strip().lower()
            body = self._read_body()
            charset = _CHARSET.search(ctype_params)
            if charset and charset.group(1).lower() not in ("utf-8", "utf8"):
                raise HTTPError(HTTPStatus.BAD_REQUEST, f"the body must be UTF-8, not {charset.group(1)}")
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise HTTPError(HTTPStatus.BAD_REQUEST, f"the body is not UTF-8 (byte {exc.start})") from None
            if ctype == "application/sparql-query":
                if "query" in params or "update" in params:
                    raise HTTPError(HTTPStatus.BAD_REQUEST, "a query in the body and query=/update= in the URL")
                params = {**params, "query": [text]}
            elif ctype == "application/x-www-form-urlencoded":
                form = _parse_qs(text)
                params = {k: params.get(k, []) + form.get(k, []) for k in {*params, *form}}
            elif ctype == "application/sparql-update":
                raise HTTPError(HTTPStatus.BAD_REQUEST, _UPDATE)
            else:
                raise HTTPError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                                "POST a query as application/sparql-query or a form with 'query='",
                                {"Accept-Post": "application/sparql-query, application/x-www-form-urlencoded"})
        if "update" in params:
            raise HTTPError(HTTPStatus.BAD_REQUEST, _UPDATE)
        queries = params.get("query", [])
        if len(queries) > 1:
            raise HTTPError(HTTPStatus.BAD_REQUEST, f"{len(queries)} 'query' parameters; give one")
        query = queries[0] if queries else ""
        if not query.strip():
            if method == "GET" and self._wants_html():
                return self._send_html(self._editor(""))
            raise HTTPError(HTTPStatus.BAD_REQUEST, "missing 'query' parameter")
        fmt = params.get("format", [None])[0]
        if fmt == "html" or (fmt is None and self._wants_html_only()):
            return self._send_html(self._results_page("Query results", query, None))
        self._run(query, fmt, tuple(params.get("default-graph-uri", [])), tuple(params.get("named-graph-uri", [])))

    def _wants_html_only(self) -> bool:
        """Accept names HTML and no results format, nor */*: the results page, not a 406."""
        if not self._wants_html():
            return False
        formats, anything = _preferences(self.headers.get("Accept"), None)
        return not formats and not anything

    def _run(self, query: str, fmt: str | None, default_graphs: tuple = (), named_graphs: tuple = ()):
        formats, anything = _preferences(self.headers.get("Accept"), fmt)
        lend = not getattr(self, "head", False)  # the worker writes a 200 to the client itself
        reply = self._execute(query, formats, anything, default_graphs, named_graphs, lend=lend)
        if reply.written == GONE:
            self.close_connection = True
            return
        if reply.written >= 0:
            if reply.body:  # what the client's socket did not take at once
                self.connection.settimeout(self.request_timeout)
                self.wfile.write(reply.body)
            return
        if reply.status != 200:
            raise HTTPError(reply.status, json.loads(reply.body)["error"]["message"])
        self._send(200, reply.body, reply.ctype, {"X-Result-Truncated": "true"} if reply.truncated else None)

    def _execute(self, query: str, formats: list[str], anything: bool = True,
                 default_graphs: tuple = (), named_graphs: tuple = (), lend: bool = False):
        s = self.app.settings
        ip = self.client_address[0]
        slot = self.app.gate.enter(ip)
        if slot is None:
            raise HTTPError(HTTPStatus.SERVICE_UNAVAILABLE,
                            f"this client already has {s.client_queries} SPARQL requests in flight",
                            {"Retry-After": "1"})
        job = encode_job(Job(query, tuple(formats), anything, s.max_rows, s.max_reply_bytes, default_graphs,
                             named_graphs, self.response_head(200, _HEADERS) if lend else b"",
                             self.family))
        try:
            start = time.monotonic()
            if not slot.acquire(timeout=s.timeout):
                raise Stopped(503, "this client's earlier queries still hold the workers; try again",
                              retry_after=max(1, round(s.timeout)))
            try:
                left = max(0.1, s.timeout - (time.monotonic() - start))
                return self.app.pool.run(job, s.timeout, left, client=self.connection, lend=lend)
            finally:
                slot.release()
        except Stopped as exc:
            if exc.status == 499:
                self.close_connection = True
            raise HTTPError(exc.status, exc.message,
                            {"Retry-After": str(exc.retry_after)} if exc.retry_after else None) from None
        finally:
            self.app.gate.leave(ip)
