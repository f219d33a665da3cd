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
import time
import urllib.parse
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path

from .errors import QueryError
from .httpd import Handler as BaseHandler
from .rdf import ID, curie
from .show import label_of

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
    max_reply_bytes: int = field(default=20_000_000, metadata={
        "help": "Largest query result body; past it rows are dropped and X-Result-Truncated is set."})
    worker_memory_mb: int = field(default=2048, metadata={
        "help": "Address space of a query worker in MiB (0: no limit); past it the query fails (503)."})
    client_queries: int = field(default=8, metadata={
        "help": "SPARQL requests one client address may have in flight; more get 503 + Retry-After."})
    max_connections: int = field(default=256, metadata={"help": "Open connections in all."})
    client_connections: int = field(default=64, metadata={"help": "Open connections per client address."})
    request_timeout: float = field(default=10.0, metadata={
        "help": "Seconds a connection may take to send a whole request (or to read a reply)."})
    allowed_hosts: str = field(default="", metadata={
        "help": "Host names answered besides localhost with a loopback bind, comma-separated "
                "(e.g. the public name a reverse proxy passes on)."})


# ---- the application --------------------------------------------------------------------

class App:
    """Everything the handler needs; built once at start-up from the exports folder."""

    def __init__(self, exports: Path, queries_dir: Path, settings: Settings):
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
        self.pool = WorkerPool(files, settings.workers, settings.worker_memory_mb)
        self.gate = ClientGate(settings.client_queries, max(1, settings.workers - 1))
        self.named = named_queries(queries_dir)
        self.downloads = downloads(exports)

    def close(self) -> None:
        self.pool.close()


def downloads(exports: Path) -> list[str]:
    """The files served under /exports/: regular files of the folder; a symlink only if it
    stays inside it."""
    root = exports.resolve()
    return sorted(f.name for f in exports.iterdir() if not f.name.startswith(".")
                  and f.is_file() and f.resolve().parent == root)


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


def make_server(app: App):
    from .httpd import Server

    s = app.settings
    handler = type("Handler", (Handler,), {"app": app, "request_timeout": s.request_timeout})
    return Server((s.host, s.port), handler, max_connections=s.max_connections,
                  client_connections=s.client_connections)


class HTTPError(Exception):
    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


_ALLOW = {"/sparql": "GET, HEAD, POST, OPTIONS"}
_CORS = [("Access-Control-Allow-Origin", "*"), ("Access-Control-Allow-Methods", "GET, HEAD, POST, OPTIONS"),
         ("Access-Control-Allow-Headers", "Accept, Content-Type"), ("Access-Control-Max-Age", "86400")]
_UPDATE = "SPARQL Update is not supported: the KB is read-only"


def _parse_qs(text: str) -> dict[str, list[str]]:
    """A query string or form; percent-escapes that are not UTF-8 are an error (400)."""
    try:
        return urllib.parse.parse_qs(text, keep_blank_values=True, errors="strict", max_num_fields=1000)
    except UnicodeDecodeError:
        raise HTTPError(HTTPStatus.BAD_REQUEST, "a parameter is not UTF-8 once percent-decoded") from None
    except ValueError as exc:
        raise HTTPError(HTTPStatus.BAD_REQUEST, f"malformed parameters: {exc}") from None


class Handler(BaseHandler):
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
        from .httpd import is_loopback

        if not is_loopback(self.app.settings.host):
            return False
        host = (self.headers.get("Host") or "").strip().lower()
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        allowed = {h.strip().lower() for h in self.app.settings.allowed_hosts.split(",") if h.strip()}
        if not host or is_loopback(name) or name in allowed or host in allowed:  # no Host: HTTP/1.0
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
            if path == "/":
                return self._send_html(self._home())
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
        headers = [("Content-Type", ctype), ("X-Content-Type-Options", "nosniff"),
                   ("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'"),
                   ("Access-Control-Allow-Origin", "*"), ("Vary", "Accept")]
        headers += list((extra or {}).items())
        self.respond(status, body, headers, head=getattr(self, "head", False))

    def _send_html(self, page: str, status: int = 200):
        self._send(status, page.encode("utf-8"), "text/html; charset=utf-8")

    def _wants_html(self) -> bool:
        headers = getattr(self, "headers", None)
        accept = headers.get("Accept", "") if headers else ""
        return "text/html" in accept

    def _error(self, status: int, message: str, headers: dict | None = None):
        if self._wants_html():
            body = _page(f"{int(status)} {HTTPStatus(status).phrase}",
                         f"<p class=error>{html.escape(message)}</p>").encode("utf-8")
            ctype = "text/html; charset=utf-8"
        else:
            body = (json.dumps({"error": {"status": int(status), "message": message}}) + "\n").encode()
            ctype = "application/json"
        self._send(status, body, ctype, headers)

    # -- SPARQL protocol -----------------------------------------------------------------
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
            charset = re.search(r"charset\s*=\s*\"?([\w-]+)", ctype_params, re.I)
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
        from .results import preferences

        formats, anything = preferences(self.headers.get("Accept"), None)
        return self._wants_html() and not formats and not anything

    def _run(self, query: str, fmt: str | None, default_graphs: tuple = (), named_graphs: tuple = ()):
        from .results import preferences

        formats, anything = preferences(self.headers.get("Accept"), fmt)
        reply = self._execute(query, formats, anything, default_graphs, named_graphs)
        if reply.status != 200:
            raise HTTPError(reply.status, json.loads(reply.body)["error"]["message"])
        self._send(200, reply.body, reply.ctype, {"X-Result-Truncated": "true"} if reply.truncated else None)

    def _execute(self, query: str, formats: list[str], anything: bool = True,
                 default_graphs: tuple = (), named_graphs: tuple = ()):
        from .querypool import Job, Stopped

        s = self.app.settings
        ip = self.client_address[0]
        slot = self.app.gate.enter(ip)
        if slot is None:
            raise HTTPError(HTTPStatus.SERVICE_UNAVAILABLE,
                            f"this client already has {s.client_queries} SPARQL requests in flight",
                            {"Retry-After": "1"})
        job = Job(query, tuple(formats), anything, s.max_rows, s.max_reply_bytes, default_graphs, named_graphs)
        try:
            start = time.monotonic()
            if not slot.acquire(timeout=s.timeout):
                raise Stopped(503, "this client's earlier queries still hold the workers; try again",
                              retry_after=max(1, round(s.timeout)))
            try:
                left = max(0.1, s.timeout - (time.monotonic() - start))
                return self.app.pool.run(job, s.timeout, left, client=self.connection)
            finally:
                slot.release()
        except Stopped as exc:
            if exc.status == 499:
                self.close_connection = True
            raise HTTPError(exc.status, exc.message,
                            {"Retry-After": str(exc.retry_after)} if exc.retry_after else None) from None
        finally:
            self.app.gate.leave(ip)

    # -- pages ---------------------------------------------------------------------------
    def _named(self, name: str, params: dict):
        q = self.app.named.get(name)
        if q is None:
            raise HTTPError(HTTPStatus.NOT_FOUND, f"no named query '{name}'")
        fmt = params.get("format", [None])[0]
        if fmt or not self._wants_html():
            return self._run(q.sparql, fmt)
        self._send_html(self._results_page(q.title, q.sparql, q.description))

    def _results_page(self, title: str, query: str, description: str | None) -> str:
        reply = self._execute(query, ["json"])
        if reply.status != 200:
            raise HTTPError(reply.status, json.loads(reply.body)["error"]["message"])
        body, ctype, truncated = reply.body, reply.ctype, reply.truncated
        if not ctype.startswith("application/sparql-results+json"):
            table = f"<pre>{html.escape(body.decode('utf-8'))}</pre>"
        else:
            table = _html_table(json.loads(body))
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
        self._send_html(entity_page(store, iri))

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
            return self._send_html(ontology_page(self.app.store))
        self._describe(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}",
                       formats[0] if formats and formats[0] in ("ttl", "nt", "jsonld") else "ttl")

    def _home(self) -> str:
        return home_page(self.app)


# ---- HTML ---------------------------------------------------------------------------------

STYLE = """body{font:15px/1.5 system-ui,sans-serif;max-width:70rem;margin:1rem auto;padding:0 1rem;color:#222}
a{color:#0645ad}table{border-collapse:collapse;width:100%;font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px;vertical-align:top;text-align:left}
th{background:#f4f4f4}blockquote{margin:.3rem 0 .3rem 1rem;padding-left:.6rem;border-left:3px solid #bbb;color:#333}
.error{color:#a00}.warn{color:#a60}textarea{width:100%;font-family:monospace}dl dt{font-weight:bold;margin-top:.4rem}
nav a{margin-right:1rem}.muted{color:#666;font-size:13px}"""


def _page(title: str, body: str) -> str:
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{html.escape(title)} · diplokb</title>"
            f"<meta name=viewport content='width=device-width'><style>{STYLE}</style></head><body>"
            f"<nav><a href='/'>diplokb</a><a href='/sparql'>SPARQL</a><a href='/ontology'>ontology</a></nav>"
            f"<h1>{html.escape(title)}</h1>{body}</body></html>")


def _editor_form(query: str) -> str:
    return ("<h2>Query</h2><form method=get action='/sparql'>"
            f"<textarea name=query rows=12 aria-label='SPARQL query'>{html.escape(query)}</textarea>"
            "<input type=hidden name=format value=html><p><button type=submit>Run query</button></p></form>")


def _link(iri: str, label: str | None = None) -> str:
    text = html.escape(label or curie(iri) or iri)
    if iri.startswith(BASE):
        return f"<a href='{html.escape(iri[len(BASE) - 1:], quote=True)}'>{text}</a>"
    return f"<a href='{html.escape(iri, quote=True)}' rel=nofollow>{text}</a>"


def _html_table(doc: dict) -> str:
    if "boolean" in doc:
        return f"<p>{'true' if doc['boolean'] else 'false'}</p>"
    names = doc["head"]["vars"]
    rows = doc["results"]["bindings"]
    out = ["<table><tr>" + "".join(f"<th>{html.escape(n)}</th>" for n in names) + "</tr>"]
    for r in rows:
        cells = []
        for n in names:
            t = r.get(n)
            if t is None:
                cells.append("<td></td>")
            elif t["type"] == "uri":
                cells.append(f"<td>{_link(t['value'])}</td>")
            else:
                cells.append(f"<td>{html.escape(t['value'])}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append(f"</table><p class=muted>{len(rows)} row(s)</p>")
    return "".join(out)


def _term_html(store, term) -> str:
    import pyoxigraph as ox

    if isinstance(term, ox.NamedNode):
        return _link(term.value, label_of(store, term.value))
    return html.escape(term.value)


def entity_page(store, iri: str) -> str:
    """Labels, name variants, every statement about it, quotes with their sources, and what
    links to it."""
    label = label_of(store, iri)
    rows = []
    for sol in store.query(f"SELECT ?p ?o WHERE {{ <{iri}> ?p ?o }} ORDER BY ?p ?o"):
        p = sol["p"].value
        if p == DKB + "evidence":
            continue
        rows.append(f"<tr><th>{_link(p, curie(p))}</th><td>{_term_html(store, sol['o'])}</td></tr>")
    quotes = _quotes(store, iri)
    sections: dict = {}
    for sol in store.query(f"SELECT DISTINCT ?s ?p WHERE {{ ?s ?p <{iri}> . FILTER (?p != dkb:agent) }} ORDER BY ?p ?s"):
        s, p = sol["s"].value, sol["p"].value
        heading = _SECTIONS.get(p.removeprefix(DKB), "Linked from")
        sections.setdefault(heading, []).append(
            f"<li>{_link(s, label_of(store, s))} <span class=muted>{html.escape(curie(p) or p)}</span>"
            + "".join(_quotes(store, s)) + "</li>")
    incoming = [f"<h2>{html.escape(h)}</h2><ul>{''.join(items)}</ul>" for h, items in sections.items()]
    body = (f"<p class=muted>{html.escape(iri)} · <a href='?format=ttl'>Turtle</a> · "
            f"<a href='?format=jsonld'>JSON-LD</a> · <a href='?format=nt'>N-Triples</a></p>"
            f"<table>{''.join(rows)}</table>")
    if quotes:
        body += "<h2>Evidence</h2>" + "".join(quotes)
    body += "".join(incoming)
    return _page(label, body)


_SECTIONS = {"holder": "Posts held", "participant": "Events", "host": "Events", "invitedBy": "Events",
             "speaker": "Statements made", "addressee": "Statements addressed to or about it",
             "concerns": "Mentioned in", "post": "Holders", "claim": "Claims"}


def _quotes(store, iri: str) -> list[str]:
    out = []
    q = (f"SELECT ?quote ?src ?title WHERE {{ <{iri}> dkb:evidence ?e . ?e dkb:quote ?quote ; dkb:source ?src . "
         "?src rdfs:label ?title } ORDER BY ?src ?quote")
    for sol in store.query(q):
        out.append(f"<blockquote>“{html.escape(' '.join(sol['quote'].value.split()))}” — "
                   f"{_link(sol['src'].value, sol['title'].value)}</blockquote>")
    return out


def ontology_page(store) -> str:
    parts = ["<p><a href='?format=ttl'>Turtle</a> · <a href='?format=jsonld'>JSON-LD</a></p>"]
    for kind, title in (("owl:Class", "Classes"), ("owl:ObjectProperty", "Object properties"),
                        ("owl:DatatypeProperty", "Datatype properties")):
        parts.append(f"<h2>{title}</h2><dl>")
        q = (f"SELECT ?c ?l ?d WHERE {{ ?c a {kind} ; rdfs:label ?l . OPTIONAL {{ ?c rdfs:comment ?d }} "
             f"FILTER STRSTARTS(STR(?c), '{DKB}') }} ORDER BY ?c")
        for sol in store.query(q, ):
            parts.append(f"<dt id='{html.escape(sol['c'].value.split('#')[1])}'>{html.escape(curie(sol['c'].value) or '')}"
                         f" — {html.escape(sol['l'].value)}</dt><dd>{html.escape(sol['d'].value if sol['d'] else '')}</dd>")
        parts.append("</dl>")
    return _page("diplokb ontology", "".join(parts))


def timeline_svg(store) -> str:
    """Dated events on a time axis (SVG, no script)."""
    from datetime import date

    rows = []
    q = ("SELECT ?e ?l ?d ?s ?end ?st WHERE { ?e a dkb:Event ; rdfs:label ?l ; dkb:status/skos:prefLabel ?st . "
         "OPTIONAL { ?e dkb:date ?d } OPTIONAL { ?e dkb:startDate ?s ; dkb:endDate ?end } "
         "FILTER (BOUND(?d) || BOUND(?s)) FILTER NOT EXISTS { ?e dkb:subEventOf ?parent } } ORDER BY ?l")

    def when(text: str, last: bool = False) -> date:
        parts = [int(x) for x in text.split("-")]
        y, m, d = (parts + [None, None])[:3]
        if m is None:
            return date(y, 12 if last else 1, 31 if last else 1)
        if d is None:
            return date(y, m, 28 if last else 1)
        return date(y, m, d)

    for sol in store.query(q):
        start = (sol["d"] or sol["s"]).value
        end = (sol["d"] or sol["end"]).value
        rows.append((when(start), when(end, True), sol["l"].value, sol["e"].value, sol["st"].value, start, end))
    if not rows:
        return "<p>No dated events.</p>"
    rows.sort()
    lo = min(r[0] for r in rows).toordinal() - 60
    hi = max(r[1] for r in rows).toordinal() + 60
    width, row_h = 900, 22
    height = 40 + row_h * len(rows)
    x = lambda d: 10 + (d.toordinal() - lo) * (width - 20) / (hi - lo)  # noqa: E731
    out = [f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {height}' width='100%' role=img "
           f"aria-label='Timeline of events'>"]
    for year in range(date.fromordinal(lo).year + 1, date.fromordinal(hi).year + 1):
        xx = x(date(year, 1, 1))
        out.append(f"<line x1='{xx:.1f}' y1='20' x2='{xx:.1f}' y2='{height}' stroke='#ddd'/>"
                   f"<text x='{xx + 3:.1f}' y='14' font-size='11' fill='#666'>{year}</text>")
    for i, (s, e, label, iri, status, s_txt, e_txt) in enumerate(rows):
        y = 30 + i * row_h
        x1, x2 = x(s), max(x(e), x(s) + 4)
        color = "#c60" if status != "took place" else "#36c"
        when_txt = s_txt if s_txt == e_txt else f"{s_txt} – {e_txt}"
        anchor = "end" if x1 > width * 0.6 else "start"
        tx = x1 - 6 if anchor == "end" else x2 + 6
        out.append(f"<a href='{html.escape(iri[len(BASE) - 1:], quote=True)}'><rect x='{x1:.1f}' y='{y}' "
                   f"width='{x2 - x1:.1f}' height='12' fill='{color}'><title>{html.escape(label)} ({when_txt}, "
                   f"{html.escape(status)})</title></rect><text x='{tx:.1f}' y='{y + 10}' font-size='11' "
                   f"text-anchor='{anchor}'>{html.escape(_clip(label, 70))} · {html.escape(when_txt)}</text></a>")
    out.append("</svg>")
    return "".join(out)


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def home_page(app: App) -> str:
    store = app.store
    counts = []
    for cls, title in (("Person", "people"), ("Organization", "organizations"), ("Event", "events"),
                       ("Statement", "statements"), ("PostAttestation", "post attestations"),
                       ("SourceDocument", "sources"), ("Evidence", "evidence quotes")):
        n = next(iter(store.query(f"SELECT (COUNT(?x) AS ?n) WHERE {{ ?x a dkb:{cls} }}")))["n"].value
        counts.append(f"<li><b>{html.escape(n)}</b> {title}</li>")
    triples = next(iter(store.query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")))["n"].value
    queries = "".join(f"<li><a href='/query/{html.escape(q.name, quote=True)}'>{html.escape(q.title)}</a>"
                      f" <span class=muted>{html.escape(q.description)}</span></li>" for q in app.named.values())
    downloads = "".join(f"<li><a href='/exports/{html.escape(n, quote=True)}'>{html.escape(n)}</a></li>"
                        for n in app.downloads)
    sources = "".join(f"<li>{_link(sol['s'].value, sol['l'].value)}</li>" for sol in store.query(
        "SELECT ?s ?l WHERE { ?s a dkb:SourceDocument ; rdfs:label ?l } ORDER BY ?s"))
    body = (f"<p>A hand-curated, citable knowledge graph of diplomatic relations: every fact traces to a "
            f"verbatim quote in a source document.</p><ul>{''.join(counts)}<li><b>{html.escape(triples)}</b> triples "
            f"(with the ontology)</li></ul><h2>Timeline</h2>{timeline_svg(store)}"
            f"<h2>Questions</h2><ol>{queries}</ol>{_editor_form(_DEFAULT_QUERY)}"
            f"<h2>Sources</h2><ul>{sources}</ul><h2>Downloads</h2><ul>{downloads}</ul>")
    return _page("diplokb", body)


_DEFAULT_QUERY = """SELECT ?person ?name WHERE {
  ?person a dkb:Person ; rdfs:label ?name .
} ORDER BY ?name"""


def serve(exports: Path, queries_dir: Path, settings: Settings, ready=None) -> None:
    """Runs until interrupted. `ready(server)` is called once it listens."""
    app = App(exports, queries_dir, settings)
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
