"""Loading the built KB into a triple store (SPARQL 1.1 Graph Store Protocol), and running
queries against any SPARQL endpoint."""
from __future__ import annotations

import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .errors import DiplokbError
from .rdf import DKB, ID, PREFIXES

ONTOLOGY_GRAPH = ID + "graph/ontology"
MANIFEST_GRAPH = ID + "graph/published"


class PublishError(DiplokbError):
    """The store could not be reached, or refused a request."""


@dataclass(frozen=True)
class PublishReport:
    store: str
    graphs: tuple  # (graph IRI, triples) put
    removed: tuple  # graph IRIs of an earlier publish that are gone now


def _request(method: str, url: str, data: bytes | None = None, headers: dict | None = None,
             timeout: float = 60) -> tuple[int, bytes, str]:
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - user-given store URL
            return resp.status, resp.read(), resp.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers.get("Content-Type", "")
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise PublishError(f"cannot reach {url.split('?')[0]}: {reason}") from None


def _graph_url(store: str, graph: str) -> str:
    sep = "&" if "?" in store else "?"
    return f"{store}{sep}graph={urllib.parse.quote(graph, safe='')}"


def graphs_of(exports: Path) -> dict[str, bytes]:
    """Graph IRI -> N-Triples bytes: one graph per source, the entities, and the ontology."""
    import pyoxigraph as ox

    from .pipeline import EXPORTED_ONTOLOGY

    out: dict[str, list[str]] = {}
    for quad in ox.parse(path=str(exports / "diplokb.trig"), format=ox.RdfFormat.TRIG):
        out.setdefault(quad.graph_name.value, []).append(f"{quad.subject} {quad.predicate} {quad.object} .\n")
    for name in EXPORTED_ONTOLOGY[:2]:
        for t in ox.parse(path=str(exports / name), format=ox.RdfFormat.TURTLE):
            out.setdefault(ONTOLOGY_GRAPH, []).append(f"{t.subject} {t.predicate} {t.object} .\n")
    return {g: "".join(sorted(lines)).encode("utf-8") for g, lines in sorted(out.items())}


def publish(exports: Path, store: str, *, timeout: float = 60) -> PublishReport:
    """PUTs every graph (replacing it), DELETEs the graphs an earlier publish made that are
    gone, and records the published graphs in a manifest graph. Running it twice leaves the
    store the same."""
    if not (exports / "diplokb.trig").is_file():
        raise PublishError(f"no exports in {exports}: run 'diplokb build' first")
    graphs = graphs_of(exports)
    status, body, _ = _request("GET", _graph_url(store, MANIFEST_GRAPH), headers={"Accept": "application/n-triples"},
                               timeout=timeout)
    previous: set[str] = set()
    if status == 200:
        previous = set(re.findall(rf"<{re.escape(DKB)}publishedGraph> <([^>]+)>", body.decode("utf-8")))
    elif status != 404:
        raise PublishError(f"the store refused GET of the manifest graph: HTTP {status} {body[:200]!r}")
    put = []
    for graph, data in graphs.items():
        status, body, _ = _request("PUT", _graph_url(store, graph), data,
                                   {"Content-Type": "application/n-triples"}, timeout)
        if status not in (200, 201, 204):
            raise PublishError(f"the store refused PUT of <{graph}>: HTTP {status} {body[:200]!r}")
        put.append((graph, data.count(b"\n")))
    removed = sorted(previous - set(graphs))
    for graph in removed:
        status, body, _ = _request("DELETE", _graph_url(store, graph), timeout=timeout)
        if status not in (200, 204, 404):
            raise PublishError(f"the store refused DELETE of <{graph}>: HTTP {status} {body[:200]!r}")
    manifest = "".join(f"<{MANIFEST_GRAPH}> <{DKB}publishedGraph> <{g}> .\n" for g in graphs).encode()
    status, body, _ = _request("PUT", _graph_url(store, MANIFEST_GRAPH), manifest,
                               {"Content-Type": "application/n-triples"}, timeout)
    if status not in (200, 201, 204):
        raise PublishError(f"the store refused PUT of the manifest graph: HTTP {status} {body[:200]!r}")
    return PublishReport(store=store, graphs=tuple(put), removed=tuple(removed))


def remote_query(endpoint: str, sparql: str, *, timeout: float = 60):
    """Runs a query on a SPARQL endpoint; returns pyoxigraph results (solutions or boolean),
    or a list of our (s, p, o) triples for CONSTRUCT/DESCRIBE."""
    import pyoxigraph as ox

    declared = set(re.findall(r"PREFIX\s+(\w*):", sparql, re.I))
    prologue = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in PREFIXES.items() if p not in declared)
    status, body, ctype = _request(
        "POST", endpoint, (prologue + sparql).encode("utf-8"),
        {"Content-Type": "application/sparql-query",
         "Accept": "application/sparql-results+json, application/n-triples;q=0.9"}, timeout)
    if status != 200:
        raise PublishError(f"the endpoint answered HTTP {status}: {body[:300].decode('utf-8', 'replace')}")
    media = ctype.split(";")[0].strip()
    if media in ("application/sparql-results+json", "application/json"):
        return ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON)
    from .query import _from_ox

    fmt = ox.RdfFormat.N_TRIPLES if media == "application/n-triples" else ox.RdfFormat.TURTLE
    return [_from_ox(t) for t in ox.parse(body, format=fmt)]
