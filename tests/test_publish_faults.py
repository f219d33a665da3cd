"""publish.py against a fake Graph Store Protocol server on loopback that fails on purpose:
at any request, by lying, slowly, by redirecting; and credentials in the URL."""
from __future__ import annotations

import base64
import socket
import time

import pytest
from click.testing import CliRunner
from fakestore import FakeStore

from diplokb.cli import main
from diplokb.publish import (POINTER_GRAPH, DeadlineError, PublishError, build_digest, graphs_of, parse_pointer,
                             publish, publish_graphs, store_name)

SRC4, SRC9 = "https://w3id.org/diplokb/id/graph/src-004", "https://w3id.org/diplokb/id/graph/src-999"


@pytest.fixture(scope="module")
def builds(built):
    """Three different builds: A (the real KB), B (one source renamed, one triple fewer), C."""
    p, _ = built
    a = graphs_of(p.out)
    b = dict(a)
    b[SRC9] = b.pop(SRC4)
    entities = next(g for g in b if g.endswith("/entities"))
    b[entities] = b"".join(b[entities].splitlines(keepends=True)[1:])
    c = dict(a)
    c[SRC4] = b"".join(sorted(c[SRC4].splitlines(keepends=True)[2:]))
    return a, b, c


@pytest.fixture
def fake():
    f = FakeStore()
    yield f
    f.stop()


def stored(graphs: dict) -> dict:
    """What a reader must see for a build: its graphs under their names in the store."""
    d = build_digest(graphs)
    return {store_name(g, d): data for g, data in graphs.items()}


def small(n_graphs: int, tag: str) -> dict:
    """A small build (the fault loop runs a hundred publishes): n graphs of three triples."""
    g = "https://w3id.org/diplokb/id/graph/"
    return {f"{g}src-{i:03d}": "".join(sorted(f'<{g}x{i}> <{g}p{j}> "{tag} {i} {j}" .\n' for j in range(3))).encode()
            for i in range(n_graphs)}


def without_publication(store: dict) -> dict:
    """The store with the pointer's count of switches left out (it counts every switch the store
    has seen, so a publish interrupted after its switch adds one)."""
    out = dict(store)
    if POINTER_GRAPH in out:
        out[POINTER_GRAPH] = b"".join(line for line in out[POINTER_GRAPH].splitlines(keepends=True)
                                      if b"#publication>" not in line)
    return out


def view(store: dict):
    """What a reader sees: the graphs the pointer names, as the store holds them (None if
    there is no pointer)."""
    if POINTER_GRAPH not in store:
        return None
    pointer = parse_pointer(set(store[POINTER_GRAPH].decode().splitlines(keepends=True)))
    if pointer.build is None:
        return None
    return {g: store.get(g) for g, _ in pointer.graphs}


def test_publish_twice_is_idempotent_and_second_run_only_reads(fake, builds):
    a, _, _ = builds
    first = publish_graphs(a, fake.url)
    after_first = dict(fake.graphs)
    assert view(after_first) == stored(a)
    assert set(after_first) == set(stored(a)) | {POINTER_GRAPH}
    fake.requests.clear()
    second = publish_graphs(a, fake.url)
    assert fake.graphs == after_first
    assert {m for m, _, _ in fake.requests} == {"GET"}
    assert first.written and not second.written
    assert first.graphs == second.graphs and len(first.graphs) == len(a)
    assert sum(n for _, n in first.graphs) == sum(d.count(b"\n") for d in a.values())


def test_a_failure_at_any_request_leaves_the_old_build_or_the_new_one(fake):
    a, b, c = small(3, "a"), small(4, "b"), small(2, "c")
    publish_graphs(a, fake.url)
    seed = dict(fake.graphs)
    fake.reset(seed)
    publish_graphs(b, fake.url)
    clean_b, requests = dict(fake.graphs), len(fake.requests)
    assert requests >= 2 * len(b) + 6
    fake.reset(seed)
    publish_graphs(c, fake.url)
    clean_c = dict(fake.graphs)
    old, new = stored(a), stored(b)
    seen = {"old": 0, "new": 0}
    for mode in ("500", "drop", "applied-then-drop"):
        for n in range(1, requests + 1):
            fake.reset(seed, fail_at=n, mode=mode)
            with pytest.raises(PublishError) as err:
                publish_graphs(b, fake.url)
            now = view(fake.graphs)
            assert now in (old, new), (mode, n)
            seen["old" if now == old else "new"] += 1
            message = str(err.value)
            if now == old:
                assert any(s in message for s in ("nothing was changed", "still serves the earlier build", "may or may not")), message
            else:
                assert "is live and verified" in message or "may or may not" in message, message
            # the next publish, of this build or of another, leaves exactly that build
            fake.reset(fake.graphs)
            publish_graphs(b if n % 2 else c, fake.url)
            assert without_publication(fake.graphs) == without_publication(clean_b if n % 2 else clean_c), (mode, n)
    assert seen["old"] and seen["new"]


def test_graphs_left_by_an_earlier_diplokb_are_removed(fake, builds):
    a, _, _ = builds
    legacy = {g: data for g, data in a.items()}
    legacy[SRC9] = a[SRC4]
    legacy[POINTER_GRAPH] = "".join(f"<{POINTER_GRAPH}> <https://w3id.org/diplokb/ontology#publishedGraph> <{g}> .\n"
                                    for g in sorted(legacy)).encode()
    fake.reset(legacy)
    report = publish_graphs(a, fake.url)
    assert set(fake.graphs) == set(stored(a)) | {POINTER_GRAPH}
    assert set(report.removed) == set(legacy) - {POINTER_GRAPH}


def test_a_store_that_answers_200_to_everything_is_not_published(fake, builds):
    a, _, _ = builds
    fake.reset(lie=True)
    with pytest.raises(PublishError, match="does not hold what was sent"):
        publish_graphs(a, fake.url)


def test_a_store_that_loses_a_triple_is_named_with_the_triple(fake, builds):
    a, _, _ = builds
    fake.reset(lossy=True)
    with pytest.raises(PublishError, match=r"does not hold what was sent to <[^>]+>: it holds (\d+) triples, "
                                           r"\d+ were sent; 1 missing, e\.g\. <"):
        publish_graphs(a, fake.url)


def test_a_damaged_live_build_is_repaired(fake, builds):
    a, _, _ = builds
    publish_graphs(a, fake.url)
    clean = dict(fake.graphs)
    damaged = next(iter(stored(a)))
    fake.graphs[damaged] = fake.graphs[damaged][: len(fake.graphs[damaged]) // 2].rsplit(b"\n", 1)[0] + b"\n"
    report = publish_graphs(a, fake.url)
    assert report.written and without_publication(fake.graphs) == without_publication(clean)
    assert b'#publication> "2"' in fake.graphs[POINTER_GRAPH]  # readers running a query across it retry


def test_the_time_limit_is_for_the_whole_publish(fake, builds):
    a, _, _ = builds
    fake.reset(delay=0.15)
    start = time.monotonic()
    with pytest.raises(DeadlineError, match=r"time limit of 1 s ran out .*serves no diplokb build"):
        publish_graphs(a, fake.url, timeout=1)
    assert time.monotonic() - start < 1.8  # the limit, plus a margin for a loaded machine
    assert 3 <= len(fake.requests) <= 9  # each answer was quick enough, their sum was not
    assert view(fake.graphs) is None


def test_a_store_that_trickles_its_answer_is_cut_at_the_time_limit(fake, builds):
    a, _, _ = builds
    fake.reset(trickle=True)
    start = time.monotonic()
    with pytest.raises(DeadlineError, match="time limit of 0.8 s ran out during GET"):
        publish_graphs(a, fake.url, timeout=0.8)
    assert time.monotonic() - start < 1.6


def test_a_redirect_to_another_host_is_refused_and_not_looked_up(fake, builds, monkeypatch):
    a, _, _ = builds
    looked_up = []
    real = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, *rest, **kw: looked_up.append(host) or real(host, *rest, **kw))
    fake.reset(redirect=lambda path: "http://elsewhere.invalid" + path)
    with pytest.raises(PublishError, match=r"redirected to another host or scheme \(http://elsewhere\.invalid/store"):
        publish_graphs(a, fake.url)
    assert len(fake.requests) == 1 and "elsewhere.invalid" not in looked_up
    fake.reset(redirect=lambda path: f"https://127.0.0.1:{fake.port}{path}")  # same host, other scheme
    with pytest.raises(PublishError, match="redirected to another host or scheme"):
        publish_graphs(a, fake.url)


def test_a_redirect_within_the_store_is_followed(fake, builds):
    a, _, _ = builds
    fake.reset(redirect=lambda path: path.replace("/old", "/store", 1) if path.startswith("/old") else None)
    report = publish_graphs(a, f"http://127.0.0.1:{fake.port}/old")
    assert view(fake.graphs) == stored(a) and report.written


@pytest.mark.parametrize("status", [301, 302, 303])
def test_a_redirect_that_would_turn_put_into_get_is_refused(fake, builds, status):
    a, _, _ = builds
    fake.reset(redirect=lambda path: path.replace("/store", "/moved", 1) if path.startswith("/store") else None,
               redirect_status=status)
    publish_graphs(a, f"http://127.0.0.1:{fake.port}/moved")
    fake.requests.clear()
    with pytest.raises(PublishError, match=rf"was answered {status} \(redirect to .*/moved.*would turn PUT into GET"):
        publish_graphs(small(1, "x"), fake.url)
    assert [m for m, _, _ in fake.requests] == ["GET", "GET", "PUT"]  # the GET was followed, the PUT not
    assert view(fake.graphs) == stored(a)
    assert any(g is not None and m == "PUT" for m, g, _ in fake.requests)


def test_a_credential_in_the_url_is_basic_auth_never_a_host_never_shown(fake, builds, monkeypatch):
    a, _, _ = builds
    looked_up = []
    real = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, *rest, **kw: looked_up.append(host) or real(host, *rest, **kw))
    url = f"http://alice:s%40cr3t@127.0.0.1:{fake.port}/store"
    report = publish_graphs(a, url)
    expected = "Basic " + base64.b64encode(b"alice:s@cr3t").decode()
    assert {h.get("Authorization") for _, _, h in fake.requests} == {expected}
    assert set(looked_up) == {"127.0.0.1"}
    assert report.store == f"http://127.0.0.1:{fake.port}/store"
    # a store that echoes the credential in an error body: the message still hides it
    fake.reset(fail_at=3, echo_auth=True)
    with pytest.raises(PublishError) as err:
        publish_graphs(a, url)
    for secret in ("s%40cr3t", "s@cr3t", expected.split()[1], "alice:"):
        assert secret not in str(err.value)
    assert "failing on purpose" in str(err.value)


def test_the_cli_never_prints_the_credential(built, fake):
    p, _ = built
    runner = CliRunner()
    ok = runner.invoke(main, ["publish", "--store", f"http://bob:hunter2@127.0.0.1:{fake.port}/store",
                              "--out", str(p.out)])
    assert ok.exit_code == 0, ok.output
    assert ok.output.startswith("published build ") and "verified" in ok.output and "hunter2" not in ok.output
    again = runner.invoke(main, ["publish", "--store", f"http://bob:hunter2@127.0.0.1:{fake.port}/store",
                                 "--out", str(p.out)])
    assert again.exit_code == 0 and "nothing written" in again.output and "hunter2" not in again.output
    down = runner.invoke(main, ["publish", "--store", "http://bob:hunter2@127.0.0.1:9/store", "--out", str(p.out)])
    assert down.exit_code == 1 and "cannot reach http://127.0.0.1:9/store" in down.output
    assert "hunter2" not in down.output and "bob" not in down.output


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://carol:pw123@127.0.0.1/store", "127.0.0.1:7878/store",
                                 "javascript:alert(1)", "http:///store", "http://carol:pw123@127.0.0.1:99999/",
                                 "http://127.0.0.1/my store", "http://bücher.example/store"])
def test_only_http_urls_are_accepted(built, url):
    p, _ = built
    with pytest.raises(PublishError, match=r"is not an http:// or https:// URL|names no host|not a valid URL|"
                                           r"percent-encode it") as err:
        publish(p.out, url)
    assert "pw123" not in str(err.value)
