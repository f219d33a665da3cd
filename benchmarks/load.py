"""Load benchmark: `diplokb serve` against `oxigraph serve` (in memory) on the same data.

    .venv/bin/python benchmarks/load.py [--exports exports ...] [--seconds 8] [--quick]
                                        [--queries 01-timeline ...] [--attack 8]

For each data set (`--exports`, repeatable: the real KB's exports/ and, e.g., a 100k synthetic
KB built with `diplokb synth` + `diplokb build --out`), each query (a trivial ASK, then the
named queries) and each concurrency (1 and 8), keep-alive clients POST
application/sparql-query for `--seconds` (8 by default, as issue 14 measures; `--quick`: 2)
and the table gives requests/s, latency p50 / p95 (ms) and the non-2xx replies, side by side.

The load generator is `wrk` (apt-get install wrk), driven by a small Lua script written to a
temporary file; without wrk on PATH it falls back to a Python client and says so (that client
is then part of the ceiling for both servers alike). oxigraph is the `oxigraph` CLI of the PyPI
package `oxigraph` (pip install '.[bench]'). Bounded: data sets x queries x 2 x 2 x seconds,
plus start-up and the optional attack run.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url: str, proc: subprocess.Popen) -> None:
    for _ in range(600):
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(f"server exited: {proc.stderr.read() if proc.stderr else ''}")
            time.sleep(0.1)
    raise SystemExit(f"server at {url} did not start")


def start_diplokb(exports: Path, workers: int, src: Path | None = None) -> tuple[subprocess.Popen, int]:
    """`diplokb serve` from this tree, or from the project tree `src` (--before)."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(src / "src")} if src else None
    proc = subprocess.Popen([sys.executable, "-m", "diplokb", "serve", "--out", str(exports.resolve()),
                             "--port", str(port), "--workers", str(workers)], cwd=src or ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    wait_up(f"http://127.0.0.1:{port}/sparql?query=ASK%7B%7D", proc)
    return proc, port


def start_oxigraph(exports: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    exe = Path(sys.executable).with_name("oxigraph")
    proc = subprocess.Popen([str(exe), "serve", "--bind", f"127.0.0.1:{port}", "--union-default-graph"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wait_up(f"http://127.0.0.1:{port}/query?query=ASK%7B%7D", proc)
    for name, ctype in (("diplokb.trig", "application/trig"), ("ontology.ttl", "text/turtle"),
                        ("vocabularies.ttl", "text/turtle")):
        f = exports / name
        if f.is_file():
            url = f"http://127.0.0.1:{port}/store" + ("" if name.endswith(".trig") else
                                                       "?graph=https://w3id.org/diplokb/id/graph/ontology")
            req = urllib.request.Request(url, data=f.read_bytes(), method="POST", headers={"Content-Type": ctype})
            urllib.request.urlopen(req, timeout=120).read()
    return proc, port


def load(port: int, path: str, query: str, concurrency: int, seconds: float) -> dict:
    body = query.encode()
    lat: list[float] = []
    errors, status = [0], [0]
    stop = time.monotonic() + seconds
    lock = threading.Lock()

    def client():
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            try:
                c.request("POST", path, body, {"Content-Type": "application/sparql-query",
                                               "Accept": "application/sparql-results+json"})
                r = c.getresponse()
                r.read()
                if not 200 <= r.status < 400:
                    status[0] += 1
            except OSError:
                errors[0] += 1
                c.close()
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            mine.append(time.perf_counter() - t0)
        c.close()
        with lock:
            lat.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    lat.sort()
    pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000 if lat else float("nan")  # noqa: E731
    return {"rps": len(lat) / elapsed, "p50": pick(0.5), "p95": pick(0.95), "non2xx": status[0], "errors": errors[0],
            "mean": statistics.fmean(lat) * 1000 if lat else float("nan")}


_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/sparql-query"
wrk.headers["Accept"] = "application/sparql-results+json"
local f = io.open(os.getenv("LOAD_BODY"), "rb")
wrk.body = f:read("*a")
f:close()
function done(summary, latency, requests)
  io.write(string.format("LOAD-JSON {\\"requests\\": %d, \\"duration_us\\": %d, \\"p50_us\\": %d, "
    .. "\\"p95_us\\": %d, \\"non2xx\\": %d, \\"errors\\": %d}\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""


def load_wrk(wrk: str, port: int, path: str, query: str, concurrency: int, seconds: float) -> dict:
    """One wrk run; `non2xx` counts replies that were not 2xx/3xx, `errors` socket errors."""
    with tempfile.TemporaryDirectory() as tmp:
        script, body = Path(tmp, "post.lua"), Path(tmp, "body.rq")
        script.write_text(_LUA)
        body.write_bytes(query.encode())
        threads = min(concurrency, os.cpu_count() or 1)
        out = subprocess.run([wrk, "-t", str(threads), "-c", str(concurrency), "-d", f"{max(1, round(seconds))}s",
                              "--timeout", "30s", "-s", str(script), f"http://127.0.0.1:{port}{path}"],
                             capture_output=True, text=True, env={**os.environ, "LOAD_BODY": str(body)},
                             timeout=seconds + 60)
    m = re.search(r"LOAD-JSON (\{.*\})", out.stdout)
    if not m:
        raise SystemExit(f"wrk gave no summary: {out.stdout}\n{out.stderr}")
    r = json.loads(m.group(1))
    return {"rps": r["requests"] / (r["duration_us"] / 1e6), "p50": r["p50_us"] / 1000, "p95": r["p95_us"] / 1000,
            "non2xx": r["non2xx"], "errors": r["errors"]}


def settle(port: int, path: str, workers: int, limit: float = 20.0) -> None:
    """Waits until `workers` parallel ASKs are all answered fast. A load run ends with queries in
    flight; diplokb kills the workers of queries whose client left and starts new ones, which
    load the KB (a second or more at 100k triples): the next cell must not measure that."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        times: list[float] = []

        def one():
            t0 = time.perf_counter()
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}{path}?query=ASK%7B%7D", timeout=limit).read()
                times.append(time.perf_counter() - t0)
            except OSError:
                times.append(limit)
        threads = [threading.Thread(target=one) for _ in range(workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if max(times) < 0.05:
            return
        time.sleep(0.2)


HEAVY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"


def attack(port: int, seconds: float) -> dict:
    """A trivial ASK's latency from 127.0.0.1 while other addresses attack: 50 parallel heavy
    queries (127.0.0.2), 300 slowloris connections (127.0.0.3), 10 clients that never read
    (127.0.0.4)."""
    stop = time.monotonic() + seconds
    held: list[socket.socket] = []

    def heavy():
        body = HEAVY.encode()
        while time.monotonic() < stop:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=30, source_address=("127.0.0.2", 0)) as s:
                    s.sendall(b"POST /sparql HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                              b"Content-Type: application/sparql-query\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
                    while s.recv(65536):
                        pass
            except OSError:
                time.sleep(0.05)

    def slowloris():
        while time.monotonic() < stop:
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=2, source_address=("127.0.0.3", 0))
                s.sendall(b"GET /sparql?query=ASK")
                held.append(s)
            except OSError:
                pass
            time.sleep(0.01)

    def never_read():
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=2, source_address=("127.0.0.4", 0))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.sendall(b"GET /exports/diplokb.nt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" * 50)
            held.append(s)
        except OSError:
            pass

    threads = [threading.Thread(target=heavy) for _ in range(50)] + [threading.Thread(target=slowloris)]
    threads += [threading.Thread(target=never_read) for _ in range(10)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    result = load(port, "/sparql", "ASK {}", 1, max(1.0, seconds - 2))
    for t in threads:
        t.join()
    for s in held:
        s.close()
    return result


DEFAULT_QUERIES = ["01-timeline", "05-statements", "07-named-things", "13-meetings-of-person",
                   "14-statements-by-area"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--exports", type=Path, action="append",
                    help="A built KB's exports folder (repeatable; default: exports/).")
    ap.add_argument("--seconds", type=float, default=8.0, help="Length of each run (default 8).")
    ap.add_argument("--quick", action="store_true", help="2 s runs and no attack run.")
    ap.add_argument("--workers", type=int, default=0, help="diplokb serve --workers (default 0: CPUs + 1).")
    ap.add_argument("--queries", nargs="*", default=DEFAULT_QUERIES)
    ap.add_argument("--concurrency", type=int, nargs="*", default=[1, 8])
    ap.add_argument("--before", type=Path, metavar="TREE",
                    help="Also run diplokb from this project tree (e.g. `git worktree add` of an older "
                         "commit), cell by cell in the same run: a before/after under the same load.")
    ap.add_argument("--before-workers", type=int, help="--workers of the --before server (default: --workers).")
    ap.add_argument("--python-client", action="store_true", help="Use the Python client even if wrk is there.")
    ap.add_argument("--attack", type=float, default=8.0, metavar="SECONDS",
                    help="Then measure a trivial ASK while attacks run for this long (0: skip).")
    args = ap.parse_args()
    from diplokb.settings import worker_count

    args.workers = worker_count(args.workers)  # 0: as `diplokb serve` counts it
    args.before_workers = worker_count(args.before_workers or args.workers)
    if args.quick:
        args.seconds, args.attack = min(args.seconds, 2.0), 0.0

    from diplokb.query import named_queries
    from diplokb.rdf import PREFIXES

    wrk = None if args.python_client else shutil.which("wrk")
    if wrk:
        client, run = "wrk", lambda *a: load_wrk(wrk, *a)
    else:
        client, run = "Python client (wrk not found: apt-get install wrk)", load
        print("note: wrk is not installed; falling back to the Python load generator, which caps "
              "both servers' figures (install wrk for the issue's numbers)\n", file=sys.stderr)
    prologue = "".join(f"PREFIX {p}: <{iri}>\n" for p, iri in PREFIXES.items())
    named = named_queries(ROOT / "queries")
    cases = [("ASK {}", "ASK {}")] + [(n, prologue + named[n].sparql) for n in args.queries if n in named]
    for exports in args.exports or [ROOT / "exports"]:
        servers = []
        try:
            d, dport = start_diplokb(exports, args.workers)
            servers.append(d)
            if args.before:
                e, eport = start_diplokb(exports, args.before_workers or args.workers, args.before.resolve())
                servers.append(e)
            o, oport = start_oxigraph(exports)
            servers.append(o)
            print(f"data: {exports} · {args.seconds:g} s per cell · diplokb workers={args.workers} · "
                  f"{os.cpu_count()} CPUs · load generator: {client}\n")
            if args.before:
                print(f"before: diplokb from {args.before}, workers={args.before_workers or args.workers}\n")
            before_head = "before req/s | before p50 | before/oxigraph | " if args.before else ""
            print(f"| query | conc. | {before_head}diplokb req/s | p50 ms | p95 ms | non-2xx | oxigraph req/s "
                  "| p50 ms | p95 ms | non-2xx | oxigraph/diplokb |")
            print("|---" * (11 + 3 * bool(args.before)) + "|")
            for name, q in cases:
                for conc in args.concurrency:
                    before = ""
                    if args.before:
                        settle(eport, "/sparql", args.before_workers or args.workers)
                        z = run(eport, "/sparql", q, conc, args.seconds)
                    settle(dport, "/sparql", args.workers)
                    a = run(dport, "/sparql", q, conc, args.seconds)
                    settle(oport, "/query", 2)
                    b = run(oport, "/query", q, conc, args.seconds)
                    err = (f" ({a['errors']}/{b['errors']} socket errors)" if a["errors"] or b["errors"] else "")
                    if args.before:
                        bad = f" ({z['non2xx']} non-2xx, {z['errors']} errors)" if z["non2xx"] or z["errors"] else ""
                        before = f"{z['rps']:.0f}{bad} | {z['p50']:.2f} | {b['rps'] / max(z['rps'], 1e-9):.2f}x | "
                    print(f"| {name} | {conc} | {before}{a['rps']:.0f} | {a['p50']:.2f} | {a['p95']:.2f} | {a['non2xx']} | "
                          f"{b['rps']:.0f} | {b['p50']:.2f} | {b['p95']:.2f} | {b['non2xx']} | "
                          f"{b['rps'] / max(a['rps'], 1e-9):.2f}x{err} |", flush=True)
            if args.attack:
                a = attack(dport, args.attack)
                print(f"\nASK {{}} at concurrency 1 under attack (50 heavy queries, slowloris, never-reading "
                      f"clients, from other addresses): {a['rps']:.0f} req/s, p50 {a['p50']:.2f} ms, "
                      f"p95 {a['p95']:.2f} ms, {a['non2xx']} non-2xx, {a['errors']} errors", flush=True)
            print()
        finally:
            for p in servers:
                p.terminate()
                p.wait(10)


if __name__ == "__main__":
    main()
