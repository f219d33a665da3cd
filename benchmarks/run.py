"""Benchmarks as a user feels them: whole processes, interleaved with the floor (issue 18).

    .venv/bin/python benchmarks/run.py [--triples 100000 1000000] [--runs 5] [--code DIR] [--no-write]
    .venv/bin/python benchmarks/run.py --quick          # 10k triples, 1 run: a check that it works

Every figure is a fresh process, timed from outside (wall clock from just before the process
is started to its exit, `time.perf_counter`), and measured with `os.wait4`, which is what GNU
`time -v` reads:

- clean build: the floor (libyaml's C loader over the same YAML files, `yaml.CSafeLoader`, in a
  process of its own), `diplokb build --no-cache --jobs 1` and `diplokb build --no-cache` (the
  default jobs), interleaved floor, build, floor, build ... so that a machine whose speed drifts
  affects both alike. min / median / max per process kind, and the ratio of the medians.
- peak memory: a `diplokb` process runs under a small wrapper (`RUSAGE` below) that records, at
  exit, the build process's own `ru_maxrss` and its children's (`RUSAGE_CHILDREN`: the
  *largest* forked worker, not their sum); the table gives both, and their sum as an upper
  bound of what was resident at once.
- rebuild after a one-file edit: a `diplokb build` with the cache (filled by one untimed
  build), after editing a different source file each run (its title); after each, a clean
  build of the same files (`--no-cache`, untimed) must give byte-identical exports, else the
  benchmark aborts.
- CLI start-up: `diplokb --help`, and `diplokb query 02-who-met-whom` over the real KB's
  exports (built first into a temporary folder), medians; the console script itself, without
  the RUSAGE wrapper (with `--code`, the same two lines over that checkout's src/).
- named queries on the 100k KB: median of 7 runs of each, in one process (`store.query`), with
  parameters bound to well-connected synthetic entities.

It prints the tables with the machine, the git commit measured and the load average
(`os.getloadavg`) before and after, and writes them into benchmarks/RESULTS.md between the
`<!-- run.py:begin -->` and `<!-- run.py:end -->` markers (`--no-write`: print only), leaving
the hand-written history around them as it is. `--code DIR` times another checkout's `src/`
on the same KB (before/after figures), with that checkout's ontology, shapes, queries and real
KB (its processes run in it); the synthetic KB is written by this checkout's `diplokb synth`.
A failing process aborts the run with its stderr; temporary folders are removed.
"""
from __future__ import annotations

import argparse
import datetime
import filecmp
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
BEGIN, END = "<!-- run.py:begin -->", "<!-- run.py:end -->"
PY = sys.executable

FLOOR = ("import sys, yaml\nfrom pathlib import Path\n"
         "for f in sorted(Path(sys.argv[1]).rglob('*.yaml')):\n"
         "    yaml.load(f.read_text(encoding='utf-8'), Loader=yaml.CSafeLoader)\n")
# `python -m diplokb ARGS`, which at exit writes [own ru_maxrss, largest child's] (KiB) to $BENCH_RUSAGE
RUSAGE = ("import atexit, json, os, resource, runpy, sys\n"
          "def _report(path=os.environ['BENCH_RUSAGE']):\n"
          "    with open(path, 'w') as f:\n"
          "        json.dump([resource.getrusage(w).ru_maxrss for w in\n"
          "                   (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)], f)\n"
          "atexit.register(_report)\n"
          "sys.argv = ['diplokb', *sys.argv[1:]]\n"
          "runpy.run_module('diplokb', run_name='__main__', alter_sys=True)\n")
# typical seconds per 100k triples on the 2-core machine (for the estimate printed first)
PER_100K = {"synth": 1.5, "floor": 0.5, "build --jobs 1": 2.6, "build": 1.7, "rebuild": 1.0}


class Runner:
    """Runs whole processes with one environment (`--code`: another checkout's src/ first)."""

    def __init__(self, code: Path | None, work: Path, timeout: float):
        self.env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        if code:
            self.env["PYTHONPATH"] = str(code.resolve() / "src")
        self.work, self.timeout = work, timeout
        self.root = (code or ROOT).resolve()  # the project whose ontology, shapes, queries and kb are used

    def run(self, cmd: list[str]) -> dict:
        """One process: {"wall": s, "rss": MiB (wait4: itself or its largest descendant)}, and for
        a `diplokb` command (RUSAGE wrapper) "main" and "child" MiB. Aborts if it fails."""
        diplokb = cmd[0] == "diplokb"
        argv = [PY, "-c", RUSAGE, *cmd[1:]] if diplokb else cmd
        usage = self.work / "rusage.json"
        usage.unlink(missing_ok=True)
        env = dict(self.env, BENCH_RUSAGE=str(usage))
        with tempfile.TemporaryFile() as err:
            t = time.perf_counter()
            proc = subprocess.Popen(argv, cwd=self.root, env=env, stdout=subprocess.DEVNULL, stderr=err)
            try:
                _, status, ru = _wait4(proc, self.timeout)
            except TimeoutError:
                proc.kill()
                proc.wait()
                sys.exit(f"benchmark aborted: {' '.join(cmd)} took over {self.timeout:.0f} s (--timeout)")
            wall = time.perf_counter() - t
            code = os.waitstatus_to_exitcode(status)
            if code:
                err.seek(0)
                sys.exit(f"benchmark aborted: {' '.join(cmd)} exited with {code}:\n"
                         + err.read().decode(errors="replace")[-4000:])
        out = {"wall": wall, "rss": ru.ru_maxrss / 1024}
        if diplokb:
            main, child = json.loads(usage.read_text())
            out.update(main=main / 1024, child=child / 1024)
        return out


def _wait4(proc: subprocess.Popen, timeout: float):
    """os.wait4 of the process (its resource usage), polling so that a timeout can stop it."""
    deadline = time.monotonic() + timeout
    while True:
        pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)  # Popen must not wait again
            return pid, status, ru
        if time.monotonic() > deadline:
            raise TimeoutError
        time.sleep(0.002)


def spread(values: list[float], scale: float = 1.0, digits: int = 2) -> list[str]:
    return [f"{v * scale:.{digits}f}" for v in (min(values), statistics.median(values), max(values))]


def clean_builds(r: Runner, kb: Path, runs: int) -> tuple[list[str], float]:
    """The clean-build table (markdown lines) and the floor's median."""
    series: dict[str, list[dict]] = {"floor": [], "build --jobs 1": [], "build": []}
    out = r.work / "out"
    for _ in range(runs):
        series["floor"].append(r.run([PY, "-c", FLOOR, str(kb)]))
        for name, extra in (("build --jobs 1", ["--jobs", "1"]), ("build", [])):
            shutil.rmtree(out, ignore_errors=True)
            series[name].append(r.run(["diplokb", "build", "--no-cache", "--kb", str(kb), "--out", str(out), *extra]))
            series["floor"].append(r.run([PY, "-c", FLOOR, str(kb)]))
    floor = statistics.median(m["wall"] for m in series["floor"])
    lines = ["| process | runs | min s | median s | max s | x floor (medians) | peak RSS MiB: wait4 "
             "| build process | largest child | sum |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, ms in series.items():
        walls = [m["wall"] for m in ms]
        cells = [f"`{name}`" if name != "floor" else "floor (libyaml CSafeLoader)", str(len(ms)), *spread(walls),
                 f"{statistics.median(walls) / floor:.2f}", f"{max(m['rss'] for m in ms):,.0f}"]
        if "main" in ms[0]:
            main, child = max(m["main"] for m in ms), max(m["child"] for m in ms)
            cells += [f"{main:,.0f}", f"{child:,.0f}", f"{main + child:,.0f}"]
        else:
            cells += ["", "", ""]
        lines.append("| " + " | ".join(cells) + " |")
    return lines, floor


def rebuilds(r: Runner, kb: Path, runs: int) -> list[str]:
    """`diplokb build` with the cache after editing one source file (a different one each run);
    each time the exports must equal, byte for byte, a clean build's of the same files."""
    out, check = r.work / "out", r.work / "check"
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(kb.parent / ".diplokb-cache", ignore_errors=True)
    r.run(["diplokb", "build", "--kb", str(kb), "--out", str(out)])  # fills the cache (untimed)
    sources = sorted((kb / "sources").glob("*.yaml"))
    times = []
    for i in range(runs):
        edited = sources[(len(sources) // 3 + i * 7) % len(sources)]
        text = edited.read_text(encoding="utf-8")
        new = text.replace("title: Synthetic report", f"title: Edited report ({i})", 1)
        if new == text:
            sys.exit(f"benchmark aborted: no title to edit in {edited}")
        edited.write_text(new, encoding="utf-8")
        times.append(r.run(["diplokb", "build", "--kb", str(kb), "--out", str(out)]))
        shutil.rmtree(check, ignore_errors=True)
        r.run(["diplokb", "build", "--no-cache", "--kb", str(kb), "--out", str(check)])
        same = filecmp.cmpfiles(out, check, sorted(p.name for p in check.iterdir()), shallow=False)
        extra = {p.name for p in out.iterdir()} ^ {p.name for p in check.iterdir()}
        if same[1] or same[2] or extra:
            sys.exit(f"benchmark aborted: after editing {edited.name}, the rebuild's exports differ from a clean "
                     f"build's: {sorted(same[1] + same[2] + list(extra))}")
    walls = [m["wall"] for m in times]
    return ["| process | runs | min s | median s | max s | peak RSS MiB (wait4) | exports = clean build's |",
            "| --- | --- | --- | --- | --- | --- | --- |",
            f"| `diplokb build` after a one-file edit (cache) | {runs} | " + " | ".join(spread(walls))
            + f" | {max(m['rss'] for m in times):,.0f} | yes, byte for byte, after each edit |"]


def cli_startup(r: Runner, runs: int) -> list[str]:
    """`diplokb --help` and `diplokb query 02-who-met-whom` over the real KB's exports, each run
    as users run it: the console script, not under the RUSAGE wrapper (whose own imports, json
    and runpy, cost more than --help itself); peak RSS from wait4."""
    exports = r.work / "real-exports"
    r.run(["diplokb", "build", "--no-cache", "--kb", str(r.root / "kb"), "--out", str(exports)])
    lines = ["| process | runs | min ms | median ms | max ms | peak RSS MiB |", "| --- | --- | --- | --- | --- | --- |"]
    script = _console_script(r)
    for args in (["--help"], ["query", "02-who-met-whom", "--out", str(exports)]):
        ms = [r.run([*script, *args]) for _ in range(runs)]
        label = "`diplokb query 02-who-met-whom` (real KB's exports)" if args[0] == "query" else "`diplokb --help`"
        lines.append(f"| {label} | {runs} | " + " | ".join(spread([m["wall"] for m in ms], 1000, 0))
                     + f" | {max(m['rss'] for m in ms):,.0f} |")
    return lines


def _console_script(r: Runner) -> list[str]:
    """The installed `diplokb` script; for `--code`, the same lines (its entry point) run over
    that checkout's src/ (the script would import this checkout's entry point's name)."""
    script = Path(PY).parent / "diplokb"
    if r.root == ROOT.resolve() and script.is_file():
        return [str(script)]
    entry = "launch" if (r.root / "src" / "diplokb" / "launch.py").is_file() else "cli"
    return [PY, "-c", f"import sys; sys.argv[0] = 'diplokb'; from diplokb.{entry} import main; sys.exit(main())"]


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


def time_queries(kb: Path, out: Path) -> dict:
    """Runs in a process of its own: median of 7 runs of each named query (ms), and its rows."""
    from diplokb import Project
    from diplokb.query import bind, named_queries

    project = Project.find(Path.cwd(), kb=kb, out=out, cache=False)
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


def named_queries(r: Runner, kb: Path) -> list[str]:
    out = r.work / "out"  # the exports of the last build of this KB
    proc = subprocess.run([PY, str(Path(__file__).resolve()), "--queries-child", str(kb), str(out)], env=r.env, cwd=r.root,
                          capture_output=True, text=True, timeout=r.timeout)
    if proc.returncode:
        sys.exit(f"benchmark aborted: the named queries failed:\n{proc.stderr[-4000:]}")
    times = json.loads(proc.stdout.strip().splitlines()[-1])
    lines = ["| query | median ms (of 7) | rows |", "| --- | --- | --- |"]
    lines += [f"| {name} | {t * 1000:.1f} | {n:,} |" for name, (t, n) in times.items()]
    return lines


def commit_of(code: Path) -> str:
    def git(*args):
        return subprocess.run(["git", "-C", str(code), *args], capture_output=True, text=True).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "src")
    return head + (" + uncommitted changes in src/" if dirty else "")


def write_results(section: str, path: Path) -> None:
    """Replaces the text between the markers (adds the markers after the title if missing)."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    block = f"{BEGIN}\n{section.rstrip()}\n{END}"
    if BEGIN in text and END in text and text.index(BEGIN) < text.index(END):
        text = text[:text.index(BEGIN)] + block + text[text.index(END) + len(END):]
    else:
        head, _, rest = text.partition("\n")
        text = f"{head}\n\n{block}\n{rest}"
    path.write_text(text, encoding="utf-8")


def estimate(sizes: list[int], runs: int, cli_runs: int, queries: bool) -> float:
    """Rough seconds the run takes on the 2-core machine this was written on."""
    s = 4 + cli_runs * 2 * 0.15
    for n in sizes:
        k = max(n, 10_000) / 100_000
        s += k * (PER_100K["synth"] + runs * (3 * PER_100K["floor"] + PER_100K["build --jobs 1"] + PER_100K["build"])
                  + PER_100K["build"] + runs * (PER_100K["rebuild"] + PER_100K["build"]))
        s += 3 * k if queries and n == 100_000 else 0
    return s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--triples", type=int, nargs="+", default=[100_000], help="synthetic KB sizes (default 100000)")
    ap.add_argument("--runs", type=int, default=5, help="runs of each build per size (default 5)")
    ap.add_argument("--cli-runs", type=int, default=15, help="runs of each CLI command (default 15)")
    ap.add_argument("--quick", action="store_true", help="10k triples, 1 run, 3 CLI runs (a check that it works)")
    ap.add_argument("--code", type=Path, help="another checkout whose src/ is timed instead of this one's")
    ap.add_argument("--no-queries", action="store_true", help="skip the named queries on the 100k KB")
    ap.add_argument("--no-write", action="store_true", help="print only; do not update RESULTS.md")
    ap.add_argument("--results", type=Path, default=RESULTS, help="the file to update (default benchmarks/RESULTS.md)")
    ap.add_argument("--timeout", type=float, default=900, help="seconds any one process may take (default 900)")
    ap.add_argument("--queries-child", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.queries_child:
        print(json.dumps(time_queries(*args.queries_child)))
        return
    if args.quick:
        args.triples, args.runs, args.cli_runs = [10_000], 1, 3
    if args.runs < 1 or args.cli_runs < 1:
        ap.error("--runs and --cli-runs must be at least 1")
    queries = not args.no_queries
    code = (args.code or ROOT).resolve()
    print(f"estimated duration: ~{estimate(args.triples, args.runs, args.cli_runs, queries):.0f} s "
          f"(typical figures of a 2-core machine; a busy machine takes longer)", flush=True)

    started = time.monotonic()
    load_before = os.getloadavg()
    parts = []
    with tempfile.TemporaryDirectory(prefix="diplokb-bench-") as tmp:
        work = Path(tmp)
        r = Runner(args.code, work, args.timeout)
        for n in args.triples:
            kb = work / f"kb-{n}" / "kb"  # the cache goes beside it: work/kb-N/.diplokb-cache
            subprocess.run([PY, "-m", "diplokb", "synth", "--triples", str(n), str(kb)], check=True,
                           stdout=subprocess.DEVNULL, cwd=ROOT)  # this checkout's synth, for --code too
            files = len(list(kb.rglob("*.yaml")))
            print(f"{n:,} triples: clean builds ...", flush=True)
            table, floor = clean_builds(r, kb, args.runs)
            parts += [f"### Clean build, {n:,} triples requested ({files:,} YAML files), interleaved with the floor",
                      "", *table, ""]
            if queries and n == 100_000:
                print(f"{n:,} triples: named queries ...", flush=True)
                parts += [f"### Named queries on the {n:,}-triple KB (one process, `store.query`)", "",
                          *named_queries(r, kb), ""]
            print(f"{n:,} triples: rebuilds after a one-file edit ...", flush=True)
            parts += [f"### Rebuild after a one-file edit, {n:,} triples", "", *rebuilds(r, kb, args.runs), ""]
            shutil.rmtree(kb.parent)
        print("CLI start-up ...", flush=True)
        parts += ["### CLI start-up, whole processes", "", *cli_startup(r, args.cli_runs), ""]
    load_after = os.getloadavg()

    now = datetime.datetime.now(datetime.timezone.utc)
    head = [f"## {now:%Y-%m-%d %H:%M} UTC: `benchmarks/run.py` (generated; do not edit by hand)", "",
            f"Command: `benchmarks/run.py {' '.join(sys.argv[1:])}`. Code measured: `{code}` at commit "
            f"{commit_of(code)}. Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}. Load average (1, 5, 15 min) before "
            f"{', '.join(f'{x:.2f}' for x in load_before)}, after {', '.join(f'{x:.2f}' for x in load_after)}; "
            f"took {time.monotonic() - started:.0f} s.",
            "",
            "Each row is a whole process (start-up, imports and exit included), wall clock from outside; "
            "`PYTHONDONTWRITEBYTECODE` unset. Peak RSS: `wait4` is the process's or its largest "
            "descendant's (what GNU `time` reports); \"build process\" and \"largest child\" are its own "
            "`ru_maxrss` and `RUSAGE_CHILDREN`'s (the largest forked worker), \"sum\" an upper bound of "
            "what was resident at once. Synthetic KBs from `diplokb synth` (seed 1).", ""]
    section = "\n".join(head + parts)
    print("\n" + section)
    if not args.no_write:
        write_results(section, args.results)
        print(f"\nwritten into {args.results}")


if __name__ == "__main__":
    main()
