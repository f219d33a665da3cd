"""Whole-process build timings against a whole-process floor, interleaved (issue 18's method).

Each measurement is a fresh process, timed from outside with GNU time (wall seconds and peak
resident memory): the floor is libyaml's C loader over the same YAML files in a process of
its own; a build is `diplokb build --no-cache` (a clean build) with `--jobs 1` and with the
default jobs. Runs are interleaved (floor, build, floor, build ...) so that a machine whose
speed drifts affects both alike; the table gives min / median / max and the ratio of the
medians, with the load average before and after.

    .venv/bin/python benchmarks/whole_process.py --triples 100000 [--runs 5] [--code DIR]

`--code DIR` times another checkout's `src/` (for before/after figures) on the same KB; the KB
is written once by this checkout's `diplokb synth` (or taken from `--kb`).
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLOOR = ("import sys, yaml\nfrom pathlib import Path\n"
         "for f in sorted(Path(sys.argv[1]).rglob('*.yaml')):\n"
         "    yaml.load(f.read_text(encoding='utf-8'), Loader=yaml.CSafeLoader)\n")


def timed(cmd: list[str], env: dict, cwd: Path) -> tuple[float, float]:
    """(wall seconds, peak RSS in MiB) of one process, from GNU time."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as out:
        proc = subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", out.name, *cmd], env=env, cwd=cwd,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if proc.returncode:
            raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
        wall, rss = out.read().split()[-2:]
    return float(wall), int(rss) / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--triples", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--code", type=Path, help="another checkout whose src/ is timed instead")
    ap.add_argument("--kb", type=Path, help="an existing KB folder (default: a synthetic one)")
    args = ap.parse_args()
    env = dict(os.environ)
    if args.code:
        env["PYTHONPATH"] = str(args.code.resolve() / "src")
    with tempfile.TemporaryDirectory(prefix="diplokb-whole-") as tmp:
        work = Path(tmp)
        kb = args.kb or work / "kb"
        if not args.kb:
            subprocess.run([sys.executable, "-m", "diplokb", "synth", "--triples", str(args.triples), str(kb)],
                           check=True, stdout=subprocess.DEVNULL)
        load_before = os.getloadavg()
        series: dict[str, list] = {"floor": [], "build --jobs 1": [], "build": []}
        for _ in range(args.runs):
            series["floor"].append(timed([sys.executable, "-c", FLOOR, str(kb)], env, work))
            for name, extra in (("build --jobs 1", ["--jobs", "1"]), ("build", [])):
                shutil.rmtree(work / "out", ignore_errors=True)
                series[name].append(timed([sys.executable, "-m", "diplokb", "build", "--no-cache", "--kb", str(kb),
                                           "--out", str(work / "out"), *extra], env, ROOT))
                series["floor"].append(timed([sys.executable, "-c", FLOOR, str(kb)], env, work))
        load_after = os.getloadavg()
    floor = statistics.median(w for w, _ in series["floor"])
    print(f"{args.triples:,} triples, {args.runs} runs, code: {args.code or ROOT}, "
          f"load average {load_before[0]:.2f} -> {load_after[0]:.2f}")
    print("| process | min s | median s | max s | x floor (medians) | peak MiB |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, runs in series.items():
        walls = [w for w, _ in runs]
        med = statistics.median(walls)
        print(f"| {name} | {min(walls):.2f} | {med:.2f} | {max(walls):.2f} | {med / floor:.2f} | "
              f"{max(m for _, m in runs):.0f} |")


if __name__ == "__main__":
    main()
