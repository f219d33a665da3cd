"""Benchmarks: build stages of synthetic KBs, the YAML-parse floor, named queries, --help.

Plain Python, no timing asserts. Usage:

    .venv/bin/python benchmarks/run.py [--sizes 10000,100000,1000000] [--engine fast] [--runs 3]

A process of its own writes each size's synthetic KB; then `--runs` fresh processes each time
the floor and a clean build (no exports, no cache), and the table shows the median build with
its stages (and every build's time), against the median floor: a single build on this class
of machine varies by 10-30%. Each process's peak memory (ru_maxrss) is its own. The last run
also times a build after a one-file edit and (at 100k) the named queries.
Paste the printed table into benchmarks/RESULTS.md with the machine and date.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def one_size(n: int, engine: str, workdir: Path, final: bool) -> dict:
    """Runs in a fresh process: the floor, then a clean build (no exports, no cache), stage by
    stage; in the `final` run also the build after an edit and the named queries."""
    import shutil

    import yaml

    from diplokb import Project

    kb = workdir / "kb"
    files = sorted(kb.rglob("*.yaml"))
    t = time.perf_counter()
    for f in files:
        yaml.load(f.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    floor = time.perf_counter() - t

    for old in (workdir / "exports", workdir / ".diplokb-cache"):
        shutil.rmtree(old, ignore_errors=True)
    project = Project.find(ROOT, kb=kb, out=workdir / "exports")  # cache: workdir/.diplokb-cache
    os.chdir(workdir)
    t0 = time.perf_counter()
    result = project.build(engine=engine)  # a clean build (no cache yet), which also fills the cache
    total = time.perf_counter() - t0
    # the validation and cache-saving processes (workers.py) are the only children so far
    child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    out = {"size": n, "triples": result.triples, "floor": floor, "total": total, "stages": dict(result.timings),
           "files": len(files), "child_mb": child_mb,
           "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if not final:
        return out
    # the curator's loop: edit one source file, run `diplokb build` again (a new process)
    first = sorted((kb / "sources").glob("*.yaml"))[len(files) // 3]
    first.write_text(first.read_text(encoding="utf-8").replace("title: Synthetic report", "title: Edited report", 1),
                     encoding="utf-8")
    cli = [str(Path(sys.executable).parent / "diplokb"), "build", "--kb", str(kb), "--out", str(workdir / "exports"),
           "--engine", engine]
    t = time.perf_counter()
    subprocess.run(cli, check=True, capture_output=True)
    out["edit"] = time.perf_counter() - t
    if n == 100_000 or os.environ.get("BENCH_QUERIES"):
        out["queries"] = time_queries(project)
    return out


# The parameters of the named queries, bound to well-connected synthetic entities (their
# defaults name entities of the real KB, which a synthetic KB does not have).
PARAMETERS = """
SELECT ?person ?visit ?post ?when ?fact WHERE {
  { SELECT ?person (COUNT(*) AS ?n) WHERE { ?part dkb:agent ?person } GROUP BY ?person ORDER BY DESC(?n) ?person LIMIT 1 }
  { SELECT ?visit (COUNT(*) AS ?m) WHERE { ?visit dkb:participation ?x } GROUP BY ?visit ORDER BY DESC(?m) ?visit LIMIT 1 }
  { SELECT ?post (SAMPLE(?d) AS ?when) (COUNT(*) AS ?k) WHERE { ?att dkb:post ?post ; dkb:date ?d }
    GROUP BY ?post ORDER BY DESC(?k) ?post LIMIT 1 }
  BIND (?visit AS ?fact)
}"""


def time_queries(project) -> dict:
    """Median of 7 runs of each named query (ms), and its number of rows."""
    from diplokb.query import bind, named_queries

    store = project.store()
    row = next(iter(store.query(PARAMETERS)))
    values = {name: str(row[name].value) for name in ("person", "visit", "post", "when", "fact")}
    times = {}
    for q in named_queries(project.queries_dir).values():
        names = [param.split("=")[0].strip() for param in q.params]  # "person = id:hun-sen"
        sparql = bind(q.sparql, {name: values[name] for name in names})
        runs = []
        for _ in range(7):
            t = time.perf_counter()
            found = list(store.query(sparql))
            runs.append(time.perf_counter() - t)
        times[q.name] = (statistics.median(runs), len(found))
    return times


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--engine", default="fast")
    ap.add_argument("--child", type=int)
    ap.add_argument("--workdir")
    ap.add_argument("--runs", type=int, default=3, help="clean builds per size (the median is reported)")
    ap.add_argument("--synth", type=int)
    ap.add_argument("--final", action="store_true")
    args = ap.parse_args()
    if args.synth:
        from diplokb.synth import generate

        generate(args.synth, Path(args.workdir) / "kb", seed=1)
        return
    if args.child:
        print(json.dumps(one_size(args.child, args.engine, Path(args.workdir), args.final)))
        return
    rows = []
    for n in [int(x) for x in args.sizes.split(",")]:
        with tempfile.TemporaryDirectory() as tmp:
            # the KB is written by a process of its own, and each build runs in a fresh one
            subprocess.run([sys.executable, __file__, "--synth", str(n), "--workdir", tmp], check=True, cwd=ROOT)
            runs = []
            for i in range(args.runs):
                cmd = [sys.executable, __file__, "--child", str(n), "--engine", args.engine, "--workdir", tmp]
                proc = subprocess.run(cmd + (["--final"] if i == args.runs - 1 else []),
                                      capture_output=True, text=True, cwd=ROOT)
                if proc.returncode:
                    sys.exit(proc.stderr)
                runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
            row = sorted(runs, key=lambda r: r["total"])[len(runs) // 2]  # the median build, with its stages
            row = dict(row, floor=statistics.median(r["floor"] for r in runs), builds=[r["total"] for r in runs],
                       edit=runs[-1]["edit"], queries=runs[-1].get("queries"))
            rows.append(row)
    helps = []
    for _ in range(5):
        t = time.perf_counter()
        subprocess.run([str(Path(sys.executable).parent / "diplokb"), "--help"], capture_output=True, check=True)
        helps.append(time.perf_counter() - t)

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"engine {args.engine}")
    stage_names = ["load", "compile", "units", "render", "assemble", "validate", "validate (waited)", "write",
                   "save cache", "save cache (waited)"]
    head = ["triples", "yaml files", "floor s"] + [f"{s} s" for s in stage_names] + [
        "build s", "x floor", "builds s", "triples/s", "peak MiB (build + largest child process)",
        "`diplokb build` after a 1-file edit s"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        cells = [f"{r['triples']:,}", str(r["files"]), f"{r['floor']:.2f}"]
        cells += [f"{r['stages'].get(s, 0):.2f}" for s in stage_names]
        cells += [f"{r['total']:.2f}", f"{r['total'] / r['floor']:.1f}", " / ".join(f"{b:.2f}" for b in r["builds"]),
                  f"{r['triples'] / r['total']:,.0f}",
                  f"{r['peak_mb']:,.0f} + {r['child_mb']:,.0f}", f"{r['edit']:.2f}"]
        print("| " + " | ".join(cells) + " |")
    for r in rows:
        if r.get("queries"):
            print(f"\nnamed queries on {r['triples']:,} triples (median of 7, ms):")
            for name, (t, n) in r["queries"].items():
                print(f"  {name:<32} {t * 1000:8.1f}  ({n:,} rows)")
    print(f"\n`diplokb --help`: median {statistics.median(helps) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
