"""Loading the built KB into a triple store (SPARQL 1.1 Graph Store Protocol), and running
queries against any SPARQL endpoint.

A publish never changes the graphs readers are told to read. Each build goes to graphs named by
a digest of its content (`id:build/<digest>/graph/src-000`...); one small pointer graph
(`id:graph/published`) names the live build and its graphs, and lists every graph diplokb has
written there (so that those of an earlier publish, complete or not, are removed). The steps:

1. GET the pointer;
2. PUT it back with the new graphs added to the list of graphs diplokb wrote (intent), GET it;
3. PUT every graph of the new build, GET every one back and compare it with what was sent;
4. PUT the pointer naming the new build (the switch), GET it back;
5. DELETE every other graph diplokb wrote, check each is gone; PUT the final pointer, GET it.

`remote_query` reads the pointer and runs the query on the live build's graphs only (the
protocol's default-graph-uri / named-graph-uri), then reads the pointer again and runs the
query again if a publish switched builds in between. See docs/publish.md.
"""
from __future__ import annotations

import hashlib
import re
import urllib.parse
from dataclasses import dataclass, replace
from pathlib import Path

from .publish_http import Deadline, DeadlineError, PublishError, Response, Target, parse_url, request
from .rdf import DKB, ID, PREFIXES, XSD

__all__ = ["PublishError", "DeadlineError", "PublishReport", "Pointer", "publish", "publish_graphs",
           "graphs_of", "remote_query", "build_digest", "store_name", "POINTER_GRAPH"]

ONTOLOGY_GRAPH = ID + "graph/ontology"
POINTER_GRAPH = ID + "graph/published"
MANIFEST_GRAPH = POINTER_GRAPH  # the name earlier versions used
GRAPH_PREFIX = ID + "graph/"
BUILD_PREFIX = ID + "build/"
NT = "application/n-triples"
QUERY_ATTEMPTS = 3


@dataclass(frozen=True)
class PublishReport:
    store: str  # the store URL without its credential
    build: str  # IRI of the build now live
    graphs: tuple  # (graph IRI in the store, triples) of the live build
    removed: tuple  # graph IRIs of earlier publishes (complete or not) that are gone now
    written: bool  # False when the store already held this build, verified: nothing was sent
    listed: bool = False  # the endpoint's list of graphs was checked too (see publish's `endpoint`)


@dataclass(frozen=True)
class Pointer:
    """What the pointer graph says: the live build, its graphs with their triple counts, how many
    switches the store has seen, and every graph diplokb has written and not yet removed."""

    build: str | None = None
    publication: int = 0
    graphs: tuple = ()  # ((graph IRI, triples), ...), sorted
    managed: frozenset = frozenset()

    def to_ntriples(self) -> bytes:
        p = f"<{POINTER_GRAPH}>"
        lines = {f"{p} <{DKB}managedGraph> <{g}> .\n" for g in self.managed}
        if self.build:
            lines.add(f"{p} <{DKB}currentBuild> <{self.build}> .\n")
            lines.add(f'{p} <{DKB}publication> "{self.publication}"^^<{XSD}integer> .\n')
            for g, n in self.graphs:
                lines.add(f"<{self.build}> <{DKB}graph> <{g}> .\n")
                lines.add(f'<{g}> <{DKB}tripleCount> "{n}"^^<{XSD}integer> .\n')
        return "".join(sorted(lines)).encode("utf-8")


def graphs_of(exports: Path) -> dict[str, bytes]:
    """Graph IRI -> N-Triples bytes: one graph per source, the entities, and the ontology."""
    import pyoxigraph as ox

    from .pipeline import EXPORTED_ONTOLOGY

    out: dict[str, set[str]] = {}
    for quad in ox.parse(path=str(exports / "diplokb.trig"), format=ox.RdfFormat.TRIG):
        out.setdefault(quad.graph_name.value, set()).add(f"{quad.subject} {quad.predicate} {quad.object} .\n")
    for name in EXPORTED_ONTOLOGY[:2]:
        for t in ox.parse(path=str(exports / name), format=ox.RdfFormat.TURTLE):
            out.setdefault(ONTOLOGY_GRAPH, set()).add(f"{t.subject} {t.predicate} {t.object} .\n")
    return {g: "".join(sorted(lines)).encode("utf-8") for g, lines in sorted(out.items())}


def build_digest(graphs: dict[str, bytes]) -> str:
    """16 hex digits of a SHA-256 over every graph's name and N-Triples (length-prefixed)."""
    h = hashlib.sha256()
    for g, data in sorted(graphs.items()):
        name = g.encode("utf-8")
        h.update(len(name).to_bytes(8, "big") + name + len(data).to_bytes(8, "big") + data)
    return h.hexdigest()[:16]


def store_name(graph: str, digest: str) -> str:
    """`id:graph/src-000` of build D is `id:build/D/graph/src-000` in the store (the part after
    '/graph/' is kept, so queries that read a source from a graph name still work)."""
    if not graph.startswith(GRAPH_PREFIX):
        raise PublishError(f"cannot publish the graph <{graph}>: diplokb graphs are named {GRAPH_PREFIX}...")
    return f"{BUILD_PREFIX}{digest}/graph/{graph[len(GRAPH_PREFIX):]}"


def publish(exports: Path, store: str, *, timeout: float = 120, endpoint: str | None = None) -> PublishReport:
    """Publishes the built exports to a Graph Store Protocol URL; `timeout` (seconds) is a time
    limit for the whole publish. Running it twice leaves the store the same. With the store's
    SPARQL `endpoint`, graphs under diplokb's namespace that no pointer lists (left by an older
    diplokb) are removed too, and the list of graphs with their counts is checked there."""
    target = parse_url(store)  # a bad URL is reported before anything is read
    query = parse_url(endpoint, "endpoint") if endpoint else None
    deadline = Deadline.starting_now(timeout)
    if not (exports / "diplokb.trig").is_file():
        raise PublishError(f"no exports in {exports}: run 'diplokb build' first")
    return _publish(graphs_of(exports), target, deadline, query)


def publish_graphs(graphs: dict[str, bytes], store: str, *, timeout: float = 120,
                   endpoint: str | None = None) -> PublishReport:
    """Publishes graphs (IRI -> N-Triples, one triple a line, as `graphs_of` gives them)."""
    return _publish(graphs, parse_url(store), Deadline.starting_now(timeout),
                    parse_url(endpoint, "endpoint") if endpoint else None)


def _publish(graphs: dict[str, bytes], target: Target, deadline: Deadline,
             endpoint: Target | None = None) -> PublishReport:
    if not graphs:
        raise PublishError("nothing to publish: the exports hold no graph")
    digest = build_digest(graphs)
    build = BUILD_PREFIX + digest
    new = {store_name(g, digest): data for g, data in graphs.items()}
    counts = tuple(sorted((g, data.count(b"\n")) for g, data in new.items()))
    s = _Session(target, deadline)
    state = "nothing was changed"
    try:
        old = s.read_pointer()
        state = (f"the store still serves the earlier build <{old.build}>" if old.build
                 else "the store serves no diplokb build yet")
        state += "; graphs written so far are listed in the pointer graph and the next publish removes them"
        managed = old.managed | {g for g, _ in old.graphs} | set(new)
        live = old.build == build and dict(old.graphs) == dict(counts) and s.holds(new)
        publication, last = old.publication, old
        if not live:
            s.put_pointer(replace(old, managed=managed))
            for g, data in new.items():
                s.put(g, data)
            for g, data in new.items():
                s.verify(g, data)
            publication = old.publication + 1
            state = ("the switch to the new build may or may not have been applied (readers see one build "
                     "or the other); run publish again")
            last = Pointer(build, publication, counts, managed)
            s.put_pointer(last)
        state = (f"the new build <{build}> is live and verified; graphs of earlier publishes may remain, "
                 "listed in the pointer graph, and the next publish removes them")
        unlisted = set(_ours(endpoint, deadline)) - set(new) - {POINTER_GRAPH} if endpoint else set()
        stale = sorted((managed - set(new)) | unlisted)
        for g in stale:
            s.delete(g)
        for g in stale:
            s.check_gone(g)
        if endpoint:
            _check_list(endpoint, deadline, dict(counts))
        final = Pointer(build, publication, counts, frozenset(new))
        if final != last:
            s.put_pointer(final)
    except DeadlineError as exc:
        raise DeadlineError(f"{exc} (the whole publish is limited by --timeout); {state}") from None
    except PublishError as exc:
        raise PublishError(f"{exc}; {state}") from None
    return PublishReport(store=target.url, build=build, graphs=counts, removed=tuple(stale),
                         written=not live or bool(stale), listed=endpoint is not None)


def _ours(endpoint: Target, deadline: Deadline) -> dict[str, int]:
    """Every non-empty named graph under diplokb's namespace that the endpoint lists, with its
    number of triples (the namespace is diplokb's: such a graph was written by a diplokb)."""
    sparql = (f"SELECT ?g (COUNT(*) AS ?n) WHERE {{ GRAPH ?g {{ ?s ?p ?o }} FILTER STRSTARTS(STR(?g), \"{ID}\") }} "
              "GROUP BY ?g")
    try:
        return {r["g"].value: int(r["n"].value) for r in _run(endpoint, deadline, sparql, ())}
    except (KeyError, ValueError, TypeError, AttributeError):
        raise PublishError(f"the endpoint {endpoint.url} did not answer the list of graphs with ?g and a "
                           "count ?n: is it the store's SPARQL query URL?") from None


def _check_list(endpoint: Target, deadline: Deadline, counts: dict[str, int]) -> None:
    held = _ours(endpoint, deadline)
    held.pop(POINTER_GRAPH, None)
    if held != counts:
        wrong = sorted(g for g in set(held) | set(counts) if held.get(g) != counts.get(g))
        raise PublishError(f"the endpoint {endpoint.url} lists {len(held)} diplokb graph(s) besides the pointer, "
                           f"{len(counts)} expected; first difference: <{wrong[0]}> holds {held.get(wrong[0], 0)} "
                           f"triples there, {counts.get(wrong[0], 0)} expected")


@dataclass(frozen=True)
class _Session:
    target: Target
    deadline: Deadline

    def _graph(self, graph: str) -> Target:
        return self.target.with_query(graph=graph)

    def _call(self, method: str, graph: str, data: bytes | None = None, limit: int = 1 << 30) -> Response:
        headers = {"Content-Type": NT} if data is not None else {"Accept": f"{NT}, text/turtle;q=0.5"}
        return request(self._graph(graph), method, self.deadline, data=data, headers=headers, limit=limit)

    def _refused(self, what: str, resp: Response) -> PublishError:
        return PublishError(f"the store {self.target.url} refused {what}: HTTP {resp.status} "
                            f"{resp.excerpt(self.target)!r}")

    def read_pointer(self) -> Pointer:
        resp = self._call("GET", POINTER_GRAPH, limit=64 << 20)
        if resp.status == 404:
            return Pointer()
        if resp.status != 200:
            raise self._refused(f"GET of the pointer graph <{POINTER_GRAPH}>", resp)
        try:
            return parse_pointer(self._triples(resp))
        except PublishError as exc:
            raise PublishError(f"cannot read the pointer graph <{POINTER_GRAPH}> of {self.target.url}: {exc}; "
                               "if that graph is not diplokb's, remove it by hand (HTTP DELETE "
                               f"{self._graph(POINTER_GRAPH).url})") from None

    def put(self, graph: str, data: bytes) -> None:
        resp = self._call("PUT", graph, data)
        if resp.status not in (200, 201, 204):
            raise self._refused(f"PUT of <{graph}>", resp)

    def put_pointer(self, pointer: Pointer) -> None:
        self.put(POINTER_GRAPH, pointer.to_ntriples())
        if self.read_pointer() != pointer:
            raise PublishError(f"the store {self.target.url} answered the PUT of the pointer graph "
                               f"<{POINTER_GRAPH}> but does not hold what was sent")

    def delete(self, graph: str) -> None:
        resp = self._call("DELETE", graph)
        if resp.status not in (200, 204, 404):
            raise self._refused(f"DELETE of <{graph}>", resp)

    def check_gone(self, graph: str) -> None:
        resp = self._call("GET", graph, limit=1 << 20)
        if resp.status == 404 or (resp.status == 200 and not self._triples(resp)):
            return
        raise PublishError(f"the store {self.target.url} answered the DELETE of <{graph}> but still holds it "
                           f"(GET: HTTP {resp.status})")

    def holds(self, graphs: dict[str, bytes]) -> bool:
        try:
            for g, data in graphs.items():
                self.verify(g, data)
        except DeadlineError:
            raise
        except PublishError:
            return False
        return True

    def verify(self, graph: str, data: bytes) -> None:
        resp = self._call("GET", graph, limit=4 * len(data) + (1 << 20))
        if resp.status != 200:
            raise PublishError(f"the store {self.target.url} answered the PUT of <{graph}> but a GET of it "
                               f"gives HTTP {resp.status}: it does not hold what was sent")
        held = self._triples(resp)
        sent = set(data.decode("utf-8").splitlines(keepends=True))
        if held != sent:
            missing, extra = sorted(sent - held), sorted(held - sent)
            detail = f"it holds {len(held)} triples, {len(sent)} were sent"
            if missing:
                detail += f"; {len(missing)} missing, e.g. {missing[0].strip()[:200]}"
            if extra:
                detail += f"; {len(extra)} not sent, e.g. {extra[0].strip()[:200]}"
            raise PublishError(f"the store {self.target.url} does not hold what was sent to <{graph}>: {detail}")

    def _triples(self, resp: Response) -> set[str]:
        import pyoxigraph as ox

        if not resp.body.strip():
            return set()
        fmt = {NT: ox.RdfFormat.N_TRIPLES, "text/plain": ox.RdfFormat.N_TRIPLES,
               "text/turtle": ox.RdfFormat.TURTLE}.get(resp.media)
        if fmt is None:
            raise PublishError(f"the store {self.target.url} answered a GET with {resp.media or 'no type'}, "
                               "not N-Triples or Turtle")
        try:
            return {f"{t.subject} {t.predicate} {t.object} .\n" for t in ox.parse(resp.body, format=fmt)}
        except (SyntaxError, ValueError) as exc:
            raise PublishError(f"the store {self.target.url} answered a GET with {resp.media} that does not "
                               f"parse: {self.target.redact(str(exc))}") from None


def parse_pointer(triples: set[str]) -> Pointer:
    """The pointer graph's N-Triples lines -> Pointer (the graphs of an earlier diplokb, listed as
    dkb:publishedGraph, are read as graphs it wrote)."""
    iri = r"<([^<>\s]*)>"
    integer = rf'"(\d{{1,18}})"\^\^<{re.escape(XSD)}integer>'
    subj = re.escape(f"<{POINTER_GRAPH}>")
    builds, publications, managed, members, sizes = set(), set(), set(), {}, {}
    for line in triples:
        text = line.strip()
        if m := re.fullmatch(rf"{subj} <{re.escape(DKB)}(managedGraph|publishedGraph)> {iri} \.", text):
            managed.add(m[2])
        elif m := re.fullmatch(rf"{subj} <{re.escape(DKB)}currentBuild> {iri} \.", text):
            builds.add(m[1])
        elif m := re.fullmatch(rf"{subj} <{re.escape(DKB)}publication> {integer} \.", text):
            publications.add(int(m[1]))
        elif m := re.fullmatch(rf"{iri} <{re.escape(DKB)}graph> {iri} \.", text):
            members.setdefault(m[1], set()).add(m[2])
        elif m := re.fullmatch(rf"{iri} <{re.escape(DKB)}tripleCount> {integer} \.", text):
            sizes.setdefault(m[1], set()).add(int(m[2]))
        else:
            raise PublishError(f"unexpected triple {text[:200]}")
    if len(builds) > 1 or len(publications) > 1 or bool(builds) != bool(publications):
        raise PublishError(f"it names {len(builds)} live build(s) and {len(publications)} publication number(s)")
    build = next(iter(builds), None)
    graphs = sorted(members.get(build, ()))
    if build and not graphs:
        raise PublishError(f"the live build <{build}> has no graphs")
    if any(len(sizes.get(g, ())) != 1 for g in graphs):
        raise PublishError("a graph of the live build has no triple count, or several")
    return Pointer(build, next(iter(publications), 0), tuple((g, next(iter(sizes[g]))) for g in graphs),
                   frozenset(managed))


def live_graphs(endpoint: str, *, timeout: float = 60) -> tuple[str, int, tuple] | None:
    """(build IRI, publication, graph IRIs) that the endpoint's pointer graph names, or None
    when the endpoint holds no diplokb pointer."""
    target = parse_url(endpoint, "endpoint")
    return _live(target, Deadline.starting_now(timeout))


def _live(target: Target, deadline: Deadline):
    sparql = (f"SELECT ?build ?n ?g WHERE {{ GRAPH <{POINTER_GRAPH}> {{ <{POINTER_GRAPH}> <{DKB}currentBuild> ?build ; "
              f"<{DKB}publication> ?n . ?build <{DKB}graph> ?g }} }}")
    rows = list(_run(target, deadline, sparql, ()))
    if not rows:
        return None
    heads = {(r["build"].value, r["n"].value) for r in rows}
    if len(heads) != 1:
        raise PublishError(f"the pointer graph <{POINTER_GRAPH}> at {target.url} names {len(heads)} live builds; "
                           "run publish again")
    build, n = heads.pop()
    return build, int(n), tuple(sorted(r["g"].value for r in rows))


def remote_query(endpoint: str, sparql: str, *, timeout: float = 60):
    """Runs a query on a SPARQL endpoint; returns pyoxigraph results (solutions or boolean),
    or a list of our (s, p, o) triples for CONSTRUCT/DESCRIBE. Where the store holds a diplokb
    pointer graph, the query reads the live build's graphs only (its default graph is their
    union), whatever else the store holds; `timeout` limits the whole call."""
    target = parse_url(endpoint, "endpoint")
    deadline = Deadline.starting_now(timeout)
    declared = set(re.findall(r"PREFIX\s+(\w*):", sparql, re.I))
    prologue = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in PREFIXES.items() if p not in declared)
    for _ in range(QUERY_ATTEMPTS):
        before = _live(target, deadline)
        result = _run(target, deadline, prologue + sparql, before[2] if before else ())
        after = _live(target, deadline)
        if (before and before[:2]) == (after and after[:2]):
            return result
    raise PublishError(f"the store at {target.url} switched builds during each of {QUERY_ATTEMPTS} attempts "
                       "to run the query; try again when publishing is over")


def _run(target: Target, deadline: Deadline, sparql: str, graphs: tuple):
    import pyoxigraph as ox

    form = [("query", sparql)] + [("default-graph-uri", g) for g in graphs] + [("named-graph-uri", g) for g in graphs]
    resp = request(target, "POST", deadline, data=urllib.parse.urlencode(form).encode("ascii"),
                   headers={"Content-Type": "application/x-www-form-urlencoded",
                            "Accept": "application/sparql-results+json, application/n-triples;q=0.9"})
    if resp.status != 200:
        raise PublishError(f"the endpoint {target.url} answered HTTP {resp.status}: {resp.excerpt(target, 300)}")
    if resp.media in ("application/sparql-results+json", "application/json"):
        return ox.parse_query_results(resp.body, format=ox.QueryResultsFormat.JSON)
    from .query import _from_ox

    fmt = ox.RdfFormat.N_TRIPLES if resp.media == NT else ox.RdfFormat.TURTLE
    return [_from_ox(t) for t in ox.parse(resp.body, format=fmt)]
