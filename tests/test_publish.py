"""publish.py against a real Oxigraph server on 127.0.0.1: publish, query every named query
remotely, and get the same answers as locally."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import free_port, wait_until_up

from diplokb.publish import PublishError, publish, remote_query
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


def test_publish_removes_graphs_that_are_gone(built, oxigraph, tmp_path):
    p, _ = built
    exports = tmp_path / "exports"
    shutil.copytree(p.out, exports)
    trig = exports / "diplokb.trig"
    text = trig.read_text(encoding="utf-8")
    old = "<https://w3id.org/diplokb/id/graph/src-004> {"
    assert old in text
    trig.write_text(text.replace(old, "<https://w3id.org/diplokb/id/graph/src-999> {"), encoding="utf-8")
    publish(exports, f"{oxigraph}/store")
    report = publish(p.out, f"{oxigraph}/store")
    assert report.removed == ("https://w3id.org/diplokb/id/graph/src-999",)


def test_unreachable_store_is_a_clear_error(built):
    p, _ = built
    with pytest.raises(PublishError, match="cannot reach http://127.0.0.1:9/store"):
        publish(p.out, "http://127.0.0.1:9/store")


def test_refusing_store_is_a_clear_error(built, oxigraph):
    p, _ = built
    with pytest.raises(PublishError, match="refused"):
        publish(p.out, f"{oxigraph}/query")  # not a graph store
