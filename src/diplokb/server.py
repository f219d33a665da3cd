"""`diplokb serve`: a read-only SPARQL 1.1 Protocol endpoint with linked-data pages.

Safe by construction:
- user queries run in worker processes; one that exceeds the time limit is killed (the work
  really stops) and its worker replaced;
- updates, SERVICE and any other outbound request are refused with 400;
- result rows, request bodies and URLs are capped; every label and quote is HTML-escaped;
  only the export files are served; pages carry a strict Content-Security-Policy (no script).
"""
from __future__ import annotations

import html
import json
import multiprocessing as mp
import queue
import re
import threading
import urllib.parse
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from .errors import QueryError
from .rdf import ID

BASE = "https://w3id.org/diplokb/"
DKB = BASE + "ontology#"


@dataclass(frozen=True)
class Settings:
    """The server's limits; each is a `diplokb serve` option of the same name."""

    host: str = field(default="127.0.0.1", metadata={"help": "Address to listen on."})
    port: int = field(default=8000, metadata={"help": "Port to listen on (0: any free port)."})
    timeout: float = field(default=10.0, metadata={"help": "Seconds a query may run before it is stopped."})
    max_rows: int = field(default=10_000, metadata={"help": "Most rows (or triples) a query returns."})
    max_request_bytes: int = field(default=100_000, metadata={"help": "Largest request body or query string."})
    workers: int = field(default=2, metadata={"help": "Worker processes running queries."})


# ---- query workers ----------------------------------------------------------------------

def _worker(conn, files: list[str]) -> None:
    from .query import Store
    from .results import serialize

    store = Store([Path(f) for f in files])
    conn.send(("ready",))
    while True:
        try:
            sparql, formats, max_rows = conn.recv()
        except EOFError:
            return
        try:
            result = store.query(sparql)
            fmt = _pick(result, formats)
            body, ctype, truncated = serialize(result, fmt, max_rows)
            conn.send(("ok", body, ctype, truncated))
        except QueryError as exc:
            conn.send(("error", str(exc)))
        except Exception as exc:  # noqa: BLE001 - reported to the client; the worker lives on
            conn.send(("error", f"query failed: {exc}"))


def _pick(result, formats: list[str]) -> str | None:
    import pyoxigraph as ox

    from .results import GRAPH_FORMATS, SOLUTION_FORMATS

    allowed = GRAPH_FORMATS if isinstance(result, ox.QueryTriples) else SOLUTION_FORMATS
    return next((f for f in formats if f in allowed), None)


class QueryTimeout(Exception):
    pass


class Busy(Exception):
    pass


class WorkerPool:
    """Processes that each hold the KB and run one query at a time."""

    def __init__(self, files: list[Path], size: int):
        self.files = [str(f) for f in files]
        self.ctx = mp.get_context("spawn")
        self.idle: queue.Queue = queue.Queue()
        self.all: list = []
        self.lock = threading.Lock()
        for _ in range(size):
            self.idle.put(self._spawn())

    def _spawn(self):
        parent, child = self.ctx.Pipe()
        proc = self.ctx.Process(target=_worker, args=(child, self.files), daemon=True)
        proc.start()
        child.close()
        parent.recv()  # wait until the store is loaded
        with self.lock:
            self.all.append(proc)
        return proc, parent

    def run(self, sparql: str, formats: list[str], max_rows: int, timeout: float):
        try:
            proc, conn = self.idle.get(timeout=timeout)
        except queue.Empty:
            raise Busy() from None
        try:
            conn.send((sparql, formats, max_rows))
            if conn.poll(timeout):
                reply = conn.recv()
                self.idle.put((proc, conn))
                return reply
        except (EOFError, OSError):
            pass
        proc.kill()  # the only way to really stop a query running in native code
        proc.join()
        conn.close()
        self.idle.put(self._spawn())
        raise QueryTimeout()

    def close(self) -> None:
        with self.lock:
            for proc in self.all:
                proc.kill()


# ---- the application --------------------------------------------------------------------

class App:
    """Everything the handler needs; built once at start-up from the exports folder."""

    def __init__(self, exports: Path, queries_dir: Path, settings: Settings, kb: Path | None = None):
        from .pipeline import EXPORTED_ONTOLOGY
        from .query import Store, named_queries

        self.exports = exports
        self.settings = settings
        trig = exports / "diplokb.trig"
        if not trig.is_file():
            raise QueryError(f"no exports in {exports}: run 'diplokb build' first")
        files = [trig, *(exports / f for f in EXPORTED_ONTOLOGY[:2])]
        self.store = Store(files)  # for the pages: our own bounded queries
        self.pool = WorkerPool(files, settings.workers)
        self.named = named_queries(queries_dir)
        self.downloads = sorted(f.name for f in exports.iterdir() if f.is_file() and not f.name.startswith("."))
        from .pages import PageContext

        self.pages = PageContext(self.store, self.named, tuple(self.downloads), kb)
        from .pages import warm

        threading.Thread(target=warm, args=(self.pages,), daemon=True).start()  # indexes, whole-KB pages

    def close(self) -> None:
        self.pool.close()


def make_server(app: App) -> ThreadingHTTPServer:
    handler = type("Handler", (Handler,), {"app": app})
    server = ThreadingHTTPServer((app.settings.host, app.settings.port), handler)
    server.daemon_threads = True
    return server


# Pages of src/diplokb/pages/ with no content negotiation (entity pages are under /id/, /vocab/).
_PAGES = ("/id/", "/vocab/", "/search", "/timeline", "/network", "/differences")


class HTTPError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class Handler(BaseHTTPRequestHandler):
    app: App
    server_version = "diplokb"
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - quiet by default
        pass

    # -- dispatch ------------------------------------------------------------------------
    def do_GET(self):
        self._dispatch("GET")

    def do_HEAD(self):
        self._dispatch("GET", head=True)

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._error(HTTPStatus.METHOD_NOT_ALLOWED, "this endpoint is read-only")

    do_DELETE = do_PATCH = do_PUT

    def _dispatch(self, method: str, head: bool = False):
        self.head = head
        try:
            if len(self.path) > self.app.settings.max_request_bytes:
                raise HTTPError(HTTPStatus.REQUEST_URI_TOO_LONG, "request URL too long")
            url = urllib.parse.urlsplit(self.path)
            params = urllib.parse.parse_qs(url.query, keep_blank_values=True)
            path = urllib.parse.unquote(url.path)
            if path == "/sparql":
                return self._sparql(method, params)
            if method != "GET":
                raise HTTPError(HTTPStatus.METHOD_NOT_ALLOWED, "only GET here")
            if path == "/" or path in _PAGES or path.startswith("/search/"):
                return self._send_html(self._render(path, params))
            if path.startswith("/query/"):
                return self._named(path[len("/query/"):], params)
            if path.startswith("/exports/"):
                return self._download(path[len("/exports/"):])
            if path.startswith(("/id/", "/vocab/")) or path == "/ontology":
                return self._resource(path, params)
            raise HTTPError(HTTPStatus.NOT_FOUND, f"no page at {path}")
        except HTTPError as exc:
            self._error(exc.status, exc.message)

    # -- responses -----------------------------------------------------------------------
    def _send(self, status: int, body: bytes, ctype: str, extra: dict | None = None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'")
        self.send_header("Access-Control-Allow-Origin", "*")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if not getattr(self, "head", False):
            self.wfile.write(body)

    def _send_html(self, page: str, status: int = 200):
        self._send(status, page.encode("utf-8"), "text/html; charset=utf-8")

    def _wants_html(self) -> bool:
        accept = self.headers.get("Accept", "")
        return "text/html" in accept

    def _error(self, status: int, message: str):
        if self._wants_html():
            self._send_html(_page(f"{int(status)} {HTTPStatus(status).phrase}",
                                  f"<p class=error>{html.escape(message)}</p>"), status)
        else:
            body = json.dumps({"error": {"status": int(status), "message": message}}) + "\n"
            self._send(status, body.encode(), "application/json")

    # -- SPARQL protocol -----------------------------------------------------------------
    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length > self.app.settings.max_request_bytes:
            raise HTTPError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                            f"request body over {self.app.settings.max_request_bytes} bytes")
        return self.rfile.read(length)

    def _sparql(self, method: str, params: dict):
        if method == "POST":
            ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            body = self._read_body()
            if ctype == "application/sparql-query":
                query = body.decode("utf-8", "replace")
            elif ctype == "application/x-www-form-urlencoded":
                form = urllib.parse.parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
                if "update" in form:
                    raise HTTPError(HTTPStatus.BAD_REQUEST, "SPARQL Update is not supported: the KB is read-only")
                query = form.get("query", [""])[0]
                params = {**params, **form}
            elif ctype == "application/sparql-update":
                raise HTTPError(HTTPStatus.BAD_REQUEST, "SPARQL Update is not supported: the KB is read-only")
            else:
                raise HTTPError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                                "POST a query as application/sparql-query or a form with 'query='")
        else:
            if "update" in params:
                raise HTTPError(HTTPStatus.BAD_REQUEST, "SPARQL Update is not supported: the KB is read-only")
            query = params.get("query", [""])[0]
        if not query.strip():
            if method == "GET" and self._wants_html():
                return self._send_html(self._editor(""))
            raise HTTPError(HTTPStatus.BAD_REQUEST, "missing 'query' parameter")
        fmt = params.get("format", [None])[0]
        if fmt == "html":
            return self._send_html(self._results_page("Query results", query, None))
        self._run(query, fmt)

    def _run(self, query: str, fmt: str | None):
        from .results import negotiate

        formats = negotiate(self.headers.get("Accept"), fmt)
        _, body, ctype, truncated = self._execute(query, formats)
        self._send(200, body, ctype, {"X-Result-Truncated": "true"} if truncated else None)

    def _execute(self, query: str, formats: list[str]):
        s = self.app.settings
        try:
            reply = self.app.pool.run(query, formats, s.max_rows, s.timeout)
        except QueryTimeout:
            raise HTTPError(HTTPStatus.SERVICE_UNAVAILABLE,
                            f"query stopped: it ran longer than the time limit of {s.timeout:g} s") from None
        except Busy:
            raise HTTPError(HTTPStatus.SERVICE_UNAVAILABLE, "all query workers are busy; try again") from None
        if reply[0] == "error":
            raise HTTPError(HTTPStatus.BAD_REQUEST, reply[1])
        return reply

    # -- pages ---------------------------------------------------------------------------
    def _named(self, name: str, params: dict):
        from .pages import bound_query

        fmt = params.get("format", [None])[0]
        if fmt or not self._wants_html():
            return self._run(self._paged(bound_query, name, params), fmt)
        self._send_html(self._render("/query/" + name, params))

    def _render(self, path: str, params: dict) -> str:
        from .pages import render

        return self._paged(render, path, params)

    def _paged(self, func, *args):
        """A page function's answer, its PageError as the HTTP error it names."""
        from .pages import PageError

        try:
            return func(self.app.pages, *args)
        except PageError as exc:
            raise HTTPError(exc.status, exc.message) from None

    def _results_page(self, title: str, query: str, description: str | None) -> str:
        _, body, ctype, truncated = self._execute(query, ["json"])
        if not ctype.startswith("application/sparql-results+json"):
            table = f"<pre>{html.escape(body.decode('utf-8'))}</pre>"
        else:
            from .pages import html_table

            table = html_table(self.app.pages, json.loads(body))
        note = "<p class=warn>Results truncated at the row limit.</p>" if truncated else ""
        desc = f"<p>{html.escape(description)}</p>" if description else ""
        return _page(title, desc + note + table + _editor_form(query))

    def _editor(self, query: str) -> str:
        return _page("SPARQL query editor", "<p>Prefixes dkb:, id:, vocab:, rdfs:, skos:, org:, "
                     "prov:, schema:, dcterms:, xsd: are predeclared.</p>" + _editor_form(query))

    def _download(self, name: str):
        from .results import GRAPH_FORMATS

        if name not in self.app.downloads:  # a fixed list: nothing else on disk is reachable
            raise HTTPError(HTTPStatus.NOT_FOUND, f"no export named '{name}'")
        ext = name.rsplit(".", 1)[-1]
        ctype = {"trig": "application/trig", **GRAPH_FORMATS}.get(ext, "application/octet-stream")
        self._send(200, (self.app.exports / name).read_bytes(), ctype,
                   {"Content-Disposition": f'attachment; filename="{name}"'})

    def _resource(self, path: str, params: dict):
        from .results import negotiate

        iri = BASE + path.lstrip("/")
        if not re.fullmatch(r"[A-Za-z0-9_./#-]+", path):
            raise HTTPError(HTTPStatus.NOT_FOUND, "no such resource")
        if path == "/ontology":
            return self._ontology(params)
        store = self.app.store
        if not bool(store.query(f"ASK {{ {{ <{iri}> ?p ?o }} UNION {{ ?s ?p <{iri}> }} }}")):
            raise HTTPError(HTTPStatus.NOT_FOUND, f"nothing is known about <{iri}>")
        formats = negotiate(self.headers.get("Accept"), params.get("format", [None])[0])
        construct = f"CONSTRUCT {{ <{iri}> ?p ?o }} WHERE {{ <{iri}> ?p ?o }}"
        if formats and formats[0] in ("ttl", "nt", "jsonld"):
            return self._describe(construct, formats[0])
        if not self._wants_html() and not params.get("format"):
            return self._describe(construct, "ttl")
        self._send_html(self._render(path, params))

    def _describe(self, construct: str, fmt: str):
        """A resource's own triples: our query, run here, never capped or timed out."""
        from .results import serialize

        body, ctype, _ = serialize(self.app.store.query(construct), fmt, max_rows=10**9)
        self._send(200, body, ctype)

    def _ontology(self, params: dict):
        from .results import negotiate

        formats = negotiate(self.headers.get("Accept"), params.get("format", [None])[0])
        graph = ID + "graph/ontology"
        if self._wants_html() and not params.get("format"):
            return self._send_html(self._render("/ontology", params))
        self._describe(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}",
                       formats[0] if formats and formats[0] in ("ttl", "nt", "jsonld") else "ttl")


# ---- pages (src/diplokb/pages/) -------------------------------------------------------

def _page(title: str, body: str) -> str:
    from .pages import page

    return page(_PLAIN, title, body)


def _editor_form(query: str) -> str:
    from .pages.html import editor_form

    return editor_form(query)


class _Plain:
    static = False


_PLAIN = _Plain()


def serve(exports: Path, queries_dir: Path, settings: Settings, ready=None, kb: Path | None = None) -> None:
    """Runs until interrupted. `ready(server)` is called once it listens. `kb` is the KB
    folder, where the source pages find the archived texts."""
    app = App(exports, queries_dir, settings, kb=kb)
    server = make_server(app)
    try:
        if ready:
            ready(server)
        server.serve_forever()
    finally:
        server.server_close()
        app.close()

