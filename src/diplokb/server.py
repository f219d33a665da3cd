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
import re
import threading
import urllib.parse
from http import HTTPStatus
from pathlib import Path

from .errors import QueryError
from .httpd import Handler as BaseHandler, is_loopback
from .protocol import _HEADERS, ClientGate, HTTPError, SparqlProtocol, _parse_qs
from .rdf import ID

BASE = "https://w3id.org/diplokb/"
DKB = BASE + "ontology#"


from .settings import Settings  # noqa: E402,F401 (the server's limits; cli.py reads them without importing the server)


# ---- the application --------------------------------------------------------------------

class App:
    """Everything the handler needs; built once at start-up from the exports folder."""

    def __init__(self, exports: Path, queries_dir: Path, settings: Settings, kb: Path | None = None):
        from .pipeline import EXPORTED_ONTOLOGY
        from .query import Store, named_queries
        from .querypool import WorkerPool

        self.exports = exports
        self.settings = settings
        trig = exports / "diplokb.trig"
        if not trig.is_file():
            raise QueryError(f"no exports in {exports}: run 'diplokb build' first")
        files = [trig, *(f for f in (exports / n for n in EXPORTED_ONTOLOGY[:2]) if f.is_file())]
        self.store = Store(files)  # for the pages: our own bounded queries
        from .settings import worker_count

        self.workers = worker_count(settings.workers)
        self.pool = WorkerPool(files, self.workers, settings.worker_memory_mb)
        self.gate = ClientGate(settings.client_queries, max(1, self.workers - 1))
        # the Host names a loopback-bound server answers (None: any), besides loopback ones
        self.allowed_hosts = None if not is_loopback(settings.host) else frozenset(
            h.strip().lower() for h in settings.allowed_hosts.split(",") if h.strip())
        self.named = named_queries(queries_dir)
        self.downloads = downloads(exports)
        from .pages import PageContext

        self.pages = PageContext(self.store, self.named, tuple(self.downloads), kb)
        from .pages import warm

        threading.Thread(target=warm, args=(self.pages,), daemon=True).start()  # indexes, whole-KB pages

    def close(self) -> None:
        self.pool.close()


def downloads(exports: Path) -> list[str]:
    """The files served under /exports/: regular files of the folder; a symlink only if it
    stays inside it."""
    root = exports.resolve()
    return sorted(f.name for f in exports.iterdir() if not f.name.startswith(".")
                  and f.is_file() and f.resolve().parent == root)


def make_server(app: App):
    from .httpd import Server

    s = app.settings
    handler = type("Handler", (Handler,), {"app": app, "request_timeout": s.request_timeout})
    return Server((s.host, s.port), handler, max_connections=s.max_connections,
                  client_connections=s.client_connections)


# Pages of src/diplokb/pages/ with no content negotiation (entity pages are under /id/, /vocab/).
_PAGES = ("/id/", "/vocab/", "/search", "/timeline", "/network", "/differences")


_ALLOW = {"/sparql": "GET, HEAD, POST, OPTIONS"}
_CORS = [("Access-Control-Allow-Origin", "*"), ("Access-Control-Allow-Methods", "GET, HEAD, POST, OPTIONS"),
         ("Access-Control-Allow-Headers", "Accept, Content-Type"), ("Access-Control-Max-Age", "86400")]


class Handler(SparqlProtocol, BaseHandler):
    app: App

    # -- dispatch ------------------------------------------------------------------------
    def do_GET(self):
        self._dispatch("GET")

    def do_HEAD(self):
        self._dispatch("GET", head=True)

    def do_POST(self):
        self._dispatch("POST")

    def do_OPTIONS(self):
        self.head = False
        if self._host_refused():
            return
        self._discard_body()
        self.respond(204, b"", [*_CORS, ("Allow", self._allowed())])

    def do_PUT(self):
        self.head = False
        self._discard_body()
        self._error(HTTPStatus.METHOD_NOT_ALLOWED, "this endpoint is read-only", {"Allow": self._allowed()})

    do_DELETE = do_PATCH = do_PUT

    def send_error(self, code, message=None, explain=None):
        """http.server's own errors (bad request line, unknown method...) in our JSON shape."""
        self.head = self.command == "HEAD"
        self.close_connection = True
        headers = {"Allow": self._allowed()} if code == HTTPStatus.NOT_IMPLEMENTED else None
        self._error(code, message or HTTPStatus(code).phrase, headers)

    def _allowed(self) -> str:
        path = urllib.parse.urlsplit(getattr(self, "path", "/")).path.rstrip("/") or "/"
        return _ALLOW.get(path, "GET, HEAD, OPTIONS")

    def _host_refused(self) -> bool:
        """With a loopback bind, a request naming another host is refused (DNS rebinding)."""
        allowed = self.app.allowed_hosts
        if allowed is None:  # not bound to loopback
            return False
        host = (self.headers.get("Host") or "").strip().lower()
        if host in allowed:
            return False
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if not host or is_loopback(name) or name in allowed:  # no Host: HTTP/1.0
            return False
        self.close_connection = True
        self._error(HTTPStatus.FORBIDDEN, f"Host '{host[:100]}' is not served here: this server listens "
                                          "on loopback and answers only localhost / 127.0.0.1 (and --allowed-hosts)")
        return True

    def _dispatch(self, method: str, head: bool = False):
        self.head = head
        try:
            if self._host_refused():
                return
            if len(self.path) > self.app.settings.max_request_bytes:
                raise HTTPError(HTTPStatus.REQUEST_URI_TOO_LONG, "request URL too long")
            url = urllib.parse.urlsplit(self.path)
            params = _parse_qs(url.query)
            path = urllib.parse.unquote(url.path)
            if path in ("/sparql", "/sparql/"):
                return self._sparql(method, params)
            if method != "GET":
                self._discard_body()
                raise HTTPError(HTTPStatus.METHOD_NOT_ALLOWED, "only GET here", {"Allow": self._allowed()})
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
            if exc.status == 499:  # the client has gone: nobody to answer
                self.close_connection = True
                return
            self._error(exc.status, exc.message, exc.headers)

    # -- responses -----------------------------------------------------------------------
    def _send(self, status: int, body: bytes, ctype: str, extra: dict | None = None):
        headers = [("Content-Type", ctype), *_HEADERS, *(extra or {}).items()]
        self.respond(status, body, headers, head=getattr(self, "head", False))

    def _send_html(self, page: str, status: int = 200):
        self._send(status, page.encode("utf-8"), "text/html; charset=utf-8")

    def _wants_html(self) -> bool:
        headers = getattr(self, "headers", None)
        accept = headers.get("Accept", "") if headers else ""
        return "text/html" in accept

    def _error(self, status: int, message: str, headers: dict | None = None):
        if self._wants_html():
            body = self._page(f"{int(status)} {HTTPStatus(status).phrase}",
                              f"<p class=error>{html.escape(message)}</p>").encode("utf-8")
            ctype = "text/html; charset=utf-8"
        else:
            body = (json.dumps({"error": {"status": int(status), "message": message}}) + "\n").encode()
            ctype = "application/json"
        self._send(status, body, ctype, headers)


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
        from .pages.html import editor_form

        reply = self._execute(query, ["json"])
        if reply.status != 200:
            raise HTTPError(reply.status, json.loads(reply.body)["error"]["message"])
        body, ctype, truncated = reply.body, reply.ctype, reply.truncated
        if not ctype.startswith("application/sparql-results+json"):
            table = f"<pre>{html.escape(body.decode('utf-8'))}</pre>"
        else:
            from .pages import html_table

            table = html_table(self.app.pages, json.loads(body))
        note = "<p class=warn>Results truncated at the row limit.</p>" if truncated else ""
        desc = f"<p>{html.escape(description)}</p>" if description else ""
        return self._page(title, desc + note + table + editor_form(query))

    def _editor(self, query: str) -> str:
        from .pages.html import editor_form

        return self._page("SPARQL query editor", "<p>Prefixes dkb:, id:, vocab:, rdfs:, skos:, org:, "
                          "prov:, schema:, dcterms:, xsd: are predeclared.</p>" + editor_form(query))

    def _page(self, title: str, body: str) -> str:
        """A page of the server's own (results, editor, errors) in the pages' frame."""
        from .pages import page

        return page(self.app.pages, title, body)

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


def serve(exports: Path, queries_dir: Path, settings: Settings, ready=None, kb: Path | None = None) -> None:
    """Runs until interrupted. `ready(server)` is called once it listens. `kb` is the KB
    folder, where the source pages find the archived texts."""
    app = App(exports, queries_dir, settings, kb=kb)
    try:
        server = make_server(app)
    except BaseException:
        app.close()
        raise
    try:
        if ready:
            ready(server)
        server.serve_forever()
    finally:
        server.server_close()
        app.close()
