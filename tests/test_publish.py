"""publish.py against a real Oxigraph server on 127.0.0.1: publish, query every named query
remotely, and get the same answers as locally; the store holds exactly the live build; a
diplokb reader ignores graphs that are not the live build's."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from helpers import free_port, wait_until_up

from diplokb.publish import POINTER_GRAPH, PublishError, live_graphs, publish, remote_query
from diplokb.query import named_queries, rows

OXIGRAPH = shutil.which("oxigraph") or str(Path(sys.executable).parent / "oxigraph")


@pytest.fixture(scope="module")
def oxigraph(tmp_path_factory):
    if not Path(OXIGRAPH).exists():
        pytest.fail("the oxigraph server is not installed (pip install oxigraph; make test installs it)")
    port = free_port()
    proc = subprocess.Popen([OXIGRAPH, "serve", "--location", str(tmp_path_factory.mktemp("oxigraph")),
                             "--bind", f"127.0.0.1:{port}", "--union-default-graph"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    if not wait_until_up(base + "/"):
        proc.kill()
        pytest.fail("the oxigraph server did not start")
    yield base
    proc.terminate()
    proc.wait(10)


def canonical(result) -> list:
    """Rows as sorted tuples; GROUP_CONCAT's order is up to each engine, so the parts of a
    concatenated value are sorted too."""
    names, data = rows(result)

    def norm(t):
        if t is None:
            return None
        return tuple(sorted(re.split(r"; | \| |, | ", t.value)))

    return sorted(tuple((n, norm(t)) for n, t in zip(names, r)) for r in data)


def test_publish_twice_then_every_named_query_agrees(built, store, oxigraph):
    p, _ = built
    first = publish(p.out, f"{oxigraph}/store")
    count = lambda: int(next(iter(remote_query(f"{oxigraph}/query", "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }")))["n"].value)  # noqa: E731
    n1 = count()
    second = publish(p.out, f"{oxigraph}/store")
    assert count() == n1, "publishing twice must leave the same store"
    assert first.graphs == second.graphs and len(first.graphs) == 7
    for q in named_queries(p.queries_dir).values():
        assert canonical(remote_query(f"{oxigraph}/query", q.sparql)) == canonical(store.query(q.sparql)), q.name


def store_graphs(base) -> dict:
    """Every named graph in the store with its number of triples (through SPARQL, so around
    diplokb's own bookkeeping)."""
    q = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
    req = urllib.request.Request(f"{base}/query", urllib.parse.urlencode({"query": q}).encode(),
                                 {"Accept": "application/sparql-results+json"})
    rows = json.load(urllib.request.urlopen(req, timeout=10))["results"]["bindings"]
    return {r["g"]["value"]: int(r["n"]["value"]) for r in rows}


def test_publish_removes_graphs_that_are_gone_and_the_store_holds_exactly_the_build(built, oxigraph, tmp_path):
    p, _ = built
    exports = tmp_path / "exports"
    shutil.copytree(p.out, exports)
    trig = exports / "diplokb.trig"
    text = trig.read_text(encoding="utf-8")
    old = "<https://w3id.org/diplokb/id/graph/src-004> {"
    assert old in text
    trig.write_text(text.replace(old, "<https://w3id.org/diplokb/id/graph/src-999> {"), encoding="utf-8")
    other = publish(exports, f"{oxigraph}/store")
    assert any(g.endswith("/graph/src-999") for g, _ in other.graphs)
    report = publish(p.out, f"{oxigraph}/store")
    assert set(report.removed) == {g for g, _ in other.graphs}
    held = store_graphs(oxigraph)
    assert {g: n for g, n in held.items() if g != POINTER_GRAPH} == dict(report.graphs)
    assert not any(g.endswith("/graph/src-999") for g in held)


def test_queries_read_only_the_live_build_whatever_else_the_store_holds(built, oxigraph):
    """An orphan graph (as a publish killed half-way, by an older diplokb, would leave) holding a
    copy of one graph: the union default graph counts it twice; diplokb's reader does not."""
    p, _ = built
    report = publish(p.out, f"{oxigraph}/store")
    graph, n = report.graphs[0]
    data = urllib.request.urlopen(f"{oxigraph}/store?graph={urllib.parse.quote(graph, safe='')}", timeout=10).read()
    orphan = "https://w3id.org/diplokb/id/graph/orphan"
    put = urllib.request.Request(f"{oxigraph}/store?graph={urllib.parse.quote(orphan, safe='')}", data,
                                 {"Content-Type": "text/turtle"}, method="PUT")
    urllib.request.urlopen(put, timeout=10)
    try:
        count = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"
        assert int(next(iter(remote_query(f"{oxigraph}/query", count)))["n"].value) == sum(m for _, m in report.graphs)
        assert store_graphs(oxigraph)[orphan] == n  # it is there, and a plain union reader sees it
        assert live_graphs(f"{oxigraph}/query")[2] == tuple(g for g, _ in report.graphs)
    finally:
        urllib.request.urlopen(urllib.request.Request(
            f"{oxigraph}/store?graph={urllib.parse.quote(orphan, safe='')}", method="DELETE"), timeout=10)


def test_with_the_endpoint_unlisted_graphs_of_an_older_diplokb_are_removed_too(built, oxigraph):
    """An older diplokb killed half-way left graphs that no pointer lists: the Graph Store
    Protocol cannot find them, the query endpoint can."""
    p, _ = built
    orphan = "https://w3id.org/diplokb/id/graph/src-777"
    foreign = "https://example.org/someone-elses-graph"
    for g in (orphan, foreign):
        urllib.request.urlopen(urllib.request.Request(
            f"{oxigraph}/store?graph={urllib.parse.quote(g, safe='')}", b"<urn:a> <urn:b> <urn:c> .\n",
            {"Content-Type": "application/n-triples"}, method="PUT"), timeout=10)
    plain = publish(p.out, f"{oxigraph}/store")
    assert orphan in store_graphs(oxigraph) and not plain.listed
    report = publish(p.out, f"{oxigraph}/store", endpoint=f"{oxigraph}/query")
    assert report.listed and orphan in report.removed
    held = store_graphs(oxigraph)
    assert foreign in held  # not diplokb's: never touched
    held.pop(foreign)
    assert {g: n for g, n in held.items() if g != POINTER_GRAPH} == dict(report.graphs)
    urllib.request.urlopen(urllib.request.Request(
        f"{oxigraph}/store?graph={urllib.parse.quote(foreign, safe='')}", method="DELETE"), timeout=10)


def test_unreachable_store_is_a_clear_error(built):
    p, _ = built
    with pytest.raises(PublishError, match="cannot reach http://127.0.0.1:9/store"):
        publish(p.out, "http://127.0.0.1:9/store")


def test_refusing_store_is_a_clear_error(built, oxigraph):
    p, _ = built
    with pytest.raises(PublishError, match="refused"):
        publish(p.out, f"{oxigraph}/query")  # not a graph store
