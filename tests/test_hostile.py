"""Hostile clients against the endpoint on loopback, each bounded in time: lying lengths,
big bodies, memory-hungry queries, huge replies, clients that never read or leave, floods
from one address, slow senders, crashed workers, and queries that try to reach the network."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse

import pytest

from diplokb.server import App, Settings, make_server

SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"


@pytest.fixture(scope="module")
def served(built):
    p, _ = built
    settings = Settings(port=0, timeout=5.0, max_rows=100_000, max_request_bytes=4000, workers=2,
                        max_reply_bytes=50_000, worker_memory_mb=450, client_queries=4,
                        client_connections=12, request_timeout=1.5)
    app = App(p.out, p.queries_dir, settings)
    srv = make_server(app)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield app, srv.server_address[1]
    srv.shutdown()
    srv.server_close()
    app.close()


def raw(port: int, data: bytes, timeout: float = 10, source: str = "127.0.0.1") -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(source, 0)) as s:
        s.sendall(data)
        out = b""
        try:
            while chunk := s.recv(65536):
                out += chunk
        except socket.timeout:
            pass
        return out


def post(port: int, query: str, source: str = "127.0.0.1", extra: str = "", timeout: float = 10) -> tuple[int, bytes]:
    body = query.encode()
    head = (f"POST /sparql HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{extra}"
            f"Content-Type: application/sparql-query\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    out = raw(port, head + body, timeout=timeout, source=source)
    assert out, f"no reply within {timeout} s"
    return int(out.split(b" ", 2)[1]), out


def status_of(reply: bytes) -> int:
    return int(reply.split(b" ", 2)[1])


def test_negative_lying_and_huge_content_lengths(served):
    _, port = served
    base = b"POST /sparql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/sparql-query\r\n"
    assert status_of(raw(port, base + b"Content-Length: -5\r\n\r\nASK {}")) == 400
    assert status_of(raw(port, base + b"Content-Length: 5, 6\r\n\r\nASK {}")) == 400
    # 300 MB announced: refused from the header, without reading (or waiting for) the body
    t0, before = time.monotonic(), _rss()
    assert status_of(raw(port, base + b"Content-Length: 300000000\r\n\r\nASK {" + b" " * 3_000_000)) == 413
    assert time.monotonic() - t0 < 2.0 and _rss() - before < 20_000_000
    # announces more than it sends: the request deadline closes it
    t0 = time.monotonic()
    out = raw(port, base + b"Content-Length: 100\r\n\r\nASK {}")
    assert time.monotonic() - t0 < 5 and (out == b"" or status_of(out) == 400)
    assert status_of(raw(port, base + b"Transfer-Encoding: chunked\r\n\r\n5\r\nASK {\r\n0\r\n\r\n")) == 411


def test_slow_sender_and_idle_connection_are_closed(served):
    _, port = served
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        t0 = time.monotonic()
        s.sendall(b"GET /sparql?query=ASK")
        for _ in range(10):  # one byte at a time, never finishing the request
            try:
                s.sendall(b"%")
            except OSError:
                break
            time.sleep(0.3)
        try:
            assert s.recv(100) == b""
        except ConnectionResetError:
            pass
        assert time.monotonic() - t0 < 5
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        t0 = time.monotonic()
        assert s.recv(100) == b""  # idle: closed at the deadline
        assert 1.0 < time.monotonic() - t0 < 5


def test_memory_hungry_query_is_stopped_clearly_and_the_server_recovers(served):
    app, port = served
    s = '"' + "x" * 1000 + '"'
    # 1 KB, then 100 KB, 10 MB, 1 GB: a tiny query, a huge string
    q = ("SELECT (STRLEN(?d) AS ?n) WHERE { BIND(" + s + " AS ?a) "
         + "".join(f"BIND(CONCAT({','.join(['?' + v] * 100)}) AS ?{w}) " for v, w in zip("abc", "bcd")) + "}")
    before = _rss()
    status, out = post(port, q)
    assert status == 503 and b"memory" in out and b"450 MB" in out, out[-400:]
    status, _ = post(port, "ASK {}")
    assert status == 200
    assert _rss() - before < 50_000_000  # the 1 GB string was attempted, and refused, in the worker


def _rss() -> int:
    return int(open(f"/proc/{os.getpid()}/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_huge_reply_is_cut_with_a_signal(served):
    _, port = served
    status, out = post(port, "SELECT ?s ?p ?o WHERE { ?s ?p ?o }")
    head, _, body = out.partition(b"\r\n\r\n")
    assert status == 200 and b"X-Result-Truncated: true" in head
    assert len(body) <= 50_000
    assert json.loads(body)["results"]["bindings"]  # still a whole, parseable document


def test_client_that_never_reads_is_dropped(served):
    _, port = served
    socks = []
    for _ in range(3):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(b"GET /exports/diplokb.nt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" * 20)
        socks.append(s)
    time.sleep(3.5)  # past the request timeout: the server gave up writing
    assert post(port, "ASK {}")[0] == 200
    for s in socks:
        s.close()


@pytest.mark.parametrize("how", ["close", "reset"])
def test_disconnect_cancels_the_query(served, how):
    """The server watches a running query's client for its end: a close (FIN) or a reset (RST)."""
    app, port = served
    pids = {p.pid for p in app.pool.procs}
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    body = SLOW.encode()
    s.sendall(b"POST /sparql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/sparql-query\r\n"
              b"Content-Length: %d\r\n\r\n" % len(body) + body)
    time.sleep(0.5)
    if how == "reset":
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # on, 0 s
    s.close()  # (with linger 0: a reset, no FIN)
    deadline = time.monotonic() + 3.5  # well before the 5 s time limit
    while time.monotonic() < deadline and {p.pid for p in app.pool.procs} >= pids:
        time.sleep(0.05)
    assert not pids <= {p.pid for p in app.pool.procs}, "the worker running the query was not stopped"


def test_a_request_pipelined_behind_a_running_query_is_answered_after_it(served):
    """A client's next request, arriving while its query runs, neither stops that query nor is lost."""
    app, port = served
    pids = {p.pid for p in app.pool.procs}
    first = b"SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f }"
    second = b"ASK {}"
    head = b"POST /sparql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/sparql-query\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(head + b"Content-Length: %d\r\n\r\n" % len(first) + first)
        time.sleep(0.05)  # (most often while the first query runs; either way both are answered)
        s.sendall(head + b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(second) + second)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    replies = out.split(b"HTTP/1.1 ")[1:]
    assert [r[:3] for r in replies] == [b"200", b"200"]
    assert b'"n"' in replies[0] and b"true" in replies[1]
    assert pids <= {p.pid for p in app.pool.procs}, "a worker was stopped"


def test_one_client_flooding_gets_503_with_retry_after_and_no_reset(served):
    _, port = served
    results, errors = [], []

    def one():
        try:
            results.append(post(port, SLOW, source="127.0.0.2", timeout=60))  # generous: CI machines are busy
        except OSError as exc:  # a reset or refused connection
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(50)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    t0 = time.monotonic()
    quick = post(port, "ASK {}", source="127.0.0.3")  # another client still gets a worker
    assert quick[0] == 200 and time.monotonic() - t0 < 2.5
    for t in threads:
        t.join(90)
    assert not errors
    statuses = [s for s, _ in results]
    assert statuses.count(503) >= 40 and len(statuses) == 50
    refused = [out for s, out in results if s == 503 and b"time limit" not in out]
    assert len(refused) >= 40 and all(b"Retry-After:" in out for out in refused)


def test_a_crashed_worker_is_reported_as_a_crash(served):
    app, port = served
    box = []
    t = threading.Thread(target=lambda: box.append(post(port, SLOW, source="127.0.0.4")))
    t.start()
    time.sleep(0.6)
    busy = [p for p in app.pool.procs if p.is_alive()]
    for p in busy:
        os.kill(p.pid, signal.SIGSEGV)
    t.join(10)
    status, out = box[0]
    assert status == 500 and b"crashed (SIGSEGV)" in out and b"time limit" not in out
    time.sleep(2)
    assert post(port, "ASK {}")[0] == 200


def test_a_worker_that_died_while_idle_is_replaced_before_use(served):
    """Not this query's doing: the query is answered by a fresh worker, not reported as a crash."""
    app, port = served
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and app.pool.idle.qsize() < app.workers:  # earlier tests' restarts
        time.sleep(0.05)
    idle = list(app.pool.procs)
    assert len(idle) == app.workers and app.pool.idle.qsize() == app.workers
    for p in idle:
        try:
            os.kill(p.pid, signal.SIGKILL)
        except ProcessLookupError:  # dead already (and reaped): as good
            pass
    for p in idle:
        p.join(5)
    status, out = post(port, "ASK {}")
    assert status == 200 and b"true" in out
    assert not {p.pid for p in idle} & {p.pid for p in app.pool.procs}


def test_deeply_nested_query_is_refused_not_crashing(served):
    _, port = served
    q = "SELECT * WHERE { FILTER(" + "(" * 5000 + "1" + ")" * 5000 + ") }"
    status, out = raw_post_big(port, q)
    assert status in (400, 413) and b"crash" not in out


def raw_post_big(port, q):
    body = urllib.parse.urlencode({"query": q}).encode()
    out = raw(port, b"POST /sparql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
              b"Content-Length: %d\r\n\r\n" % len(body) + body)
    return status_of(out), out


def test_worker_sandbox_blocks_every_connection(tmp_path):
    """Whatever a worker runs (here SERVICE straight to pyoxigraph, and a plain socket), a
    canary listener sees no connection."""
    canary = socket.socket()
    canary.bind(("127.0.0.1", 0))
    canary.listen()
    canary.settimeout(1.0)
    port = canary.getsockname()[1]
    peer = socket.socket()  # the client whose connection is lent to the worker
    peer.bind(("127.0.0.1", 0))
    peer.listen()
    code = f"""
import ctypes, socket, pyoxigraph as ox
from diplokb.sandbox import deny_network
lent = socket.create_connection(("127.0.0.1", {peer.getsockname()[1]}))  # as a client's, passed in
assert deny_network() is None
libc = ctypes.CDLL(None, use_errno=True)
unspec = ctypes.create_string_buffer(16)  # sockaddr with sa_family AF_UNSPEC: dissolves a TCP connection
for attempt in (lambda: socket.create_connection(("127.0.0.1", {port}), timeout=2),
                lambda: list(ox.Store().query("SELECT * WHERE {{ SERVICE <http://127.0.0.1:{port}/> {{ ?s ?p ?o }} }}")),
                lambda: libc.connect(lent.fileno(), unspec, 16) == 0 or (_ for _ in ()).throw(OSError(ctypes.get_errno(), "")),
                lambda: lent.connect(("127.0.0.1", {port}))):
    try:
        attempt()
        print("CONNECTED")
    except OSError as exc:
        print("blocked", exc.errno)
socket.socketpair()  # the worker's own pipe kind still works
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    words = out.stdout.split()
    assert words[:2] == ["blocked", "13"] and words[2] == "blocked" and words[4:8] == ["blocked", "13"] * 2, words
    with pytest.raises(socket.timeout):
        canary.accept()
    canary.close()
    peer.close()


def test_malformed_requests_get_json_errors_without_banner(served):
    _, port = served
    for data, status in [(b"GARBAGE\r\n\r\n", 400), (b"TRACE /sparql HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 501),
                         (b"GET /sparql HTTP/1.1\r\n" + b"X: y\r\n" * 200 + b"\r\n", 431)]:
        out = raw(port, data)
        head, _, body = out.partition(b"\r\n\r\n")
        assert status_of(out) == status, out[:200]
        assert b"Server: diplokb\r\n" in head and b"Python" not in head
        assert json.loads(body)["error"]["status"] == status


def test_header_block_is_read_strictly(served):
    """httpd.read_headers (which replaced email.parser): names in any case, repeated fields kept,
    a space before the colon, a line without a colon and an obsolete folded line are 400, a
    64 KiB line is 431."""
    _, port = served
    ok = (b"POST /sparql HTTP/1.1\r\nhOsT: 127.0.0.1\r\nconnection: close\r\ncontent-TYPE: application/sparql-query"
          b"\r\nContent-Length: 6\r\nAccept: text/csv\r\n\r\nASK {}")
    out = raw(port, ok)
    assert status_of(out) == 200 and b"Content-Type: text/csv" in out and out.endswith(b"true\n"), out
    twice = (b"POST /sparql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/sparql-query\r\n"
             b"Content-Length: 6\r\nContent-Length: 7\r\n\r\nASK {}")
    assert status_of(raw(port, twice)) == 400
    for bad in (b"Host : 127.0.0.1\r\n", b"Host 127.0.0.1\r\n", b"Host: 127.0.0.1\r\n X-Folded: yes\r\n",
                b": nothing\r\n"):
        out = raw(port, b"GET /sparql?query=ASK%7B%7D HTTP/1.1\r\n" + bad + b"\r\n")
        assert status_of(out) == 400, (bad, out[:200])
    out = raw(port, b"GET /sparql?query=ASK%7B%7D HTTP/1.1\r\nX: " + b"y" * 70000 + b"\r\n\r\n")
    assert status_of(out) == 431
