"""Benchmark: server-side time of every page kind (src/diplokb/pages/), no timing asserts.

    .venv/bin/python benchmarks/pages.py [--runs 20] [--synth 100000]

Loads the built exports (the real KB by default; with --synth N, a synthetic KB of about N
triples written and built in a temporary folder first), builds the page context once (as
the server does at start-up, timed apart as "first page"), then renders one page of each kind
`--runs` times and prints the median and the slowest run, in milliseconds. Targets: under
50 ms on the real KB, under 200 ms on the 100k synthetic KB.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def kinds(ctx) -> list[tuple[str, str, dict]]:
    """One page of each kind, picked from the KB itself (so it works on a synthetic KB)."""
    def first(cls: str, order: str = "?x") -> str:
        for sol in ctx.q(f"SELECT ?x WHERE {{ ?x a dkb:{cls} }} ORDER BY {order} LIMIT 1"):
            return "/" + sol["x"].value.split("/diplokb/", 1)[1]
        return "/"

    def busiest(prop: str, cls: str) -> str:
        for sol in ctx.q(f"SELECT ?x (COUNT(*) AS ?n) WHERE {{ ?s dkb:{prop} ?x . ?x a dkb:{cls} }} "
                         "GROUP BY ?x ORDER BY DESC(?n) ?x LIMIT 1"):
            return "/" + sol["x"].value.split("/diplokb/", 1)[1]
        return first(cls)

    person = busiest("speaker", "Person")
    name = next(iter(ctx.q(f"SELECT ?l WHERE {{ <https://w3id.org/diplokb{person}> rdfs:label ?l }}")))["l"].value
    question = next(iter(ctx.named), None)
    out = [("home", "/", {}), ("index", "/id/", {}), ("person (busiest speaker)", person, {}),
           ("organization", first("Organization"), {}),
           ("event", first("Event"), {}), ("source (largest)", busiest("source", "SourceDocument"), {}),
           ("statement", first("Statement"), {}),
           ("search (a name)", "/search", {"q": [name.lower()]}), ("search (a miss)", "/search", {"q": [name[:-2] + "zz"]}),
           ("timeline", "/timeline", {}), ("network", "/network", {}), ("differences", "/differences", {}),
           ("vocabularies", "/vocab/", {}), ("concept", "/vocab/event-kind/meeting", {}), ("ontology", "/ontology", {})]
    if question:
        out.append(("question", f"/query/{question}", {}))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--synth", type=int, default=0, help="benchmark a synthetic KB of about N triples")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from diplokb import Project
    from diplokb.pages import PageContext, render
    from diplokb.query import named_queries

    with tempfile.TemporaryDirectory(prefix="diplokb-pages-") as tmp:
        if args.synth:
            from diplokb.synth import generate

            generate(args.synth, Path(tmp) / "kb")
            project = Project.find(ROOT, kb=Path(tmp) / "kb", out=Path(tmp) / "exports", cache=False)
        else:
            project = Project.find(ROOT, out=Path(tmp) / "exports", cache=False)
        project.build()
        store = project.store()
        t = time.perf_counter()
        ctx = PageContext(store, named_queries(project.queries_dir), (), project.kb)
        render(ctx, "/search", {"q": ["x"]})  # builds the indexes every page shares (labels, classes, names)
        indexes = time.perf_counter() - t
        print(f"KB: {len(store)} triples ({'synthetic ' + str(args.synth) if args.synth else 'real'}); "
              f"shared indexes built once at the first page: {indexes * 1000:.0f} ms")
        print("first: the page's first render (whole-KB pages are then kept); median/max: the next runs")
        print(f"{'page kind':26} {'path':40} {'first ms':>8} {'median ms':>9} {'max ms':>7} {'KB':>6}")
        for kind, path, params in kinds(ctx):
            t = time.perf_counter()
            render(ctx, path, params)
            first = (time.perf_counter() - t) * 1000
            times = []
            for _ in range(args.runs):
                t = time.perf_counter()
                body = render(ctx, path, params)
                times.append((time.perf_counter() - t) * 1000)
            print(f"{kind:26} {path[:40]:40} {first:8.1f} {statistics.median(times):9.1f} {max(times):7.1f} "
                  f"{len(body) // 1024:6}")


if __name__ == "__main__":
    main()
