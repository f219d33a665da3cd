"""benchmarks/run.py in its smallest mode: it runs, prints its tables, and replaces only the
marked section of a copy of RESULTS.md (the hand-written history stays as it is)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUN = ROOT / "benchmarks" / "run.py"


def test_run_py_smallest_mode_writes_the_marked_section(tmp_path):
    results = tmp_path / "RESULTS.md"
    shutil.copy(ROOT / "benchmarks" / "RESULTS.md", results)
    before = results.read_text(encoding="utf-8")
    begin, end = "<!-- run.py:begin -->", "<!-- run.py:end -->"
    assert before.count(begin) == 1 and before.count(end) == 1
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    proc = subprocess.run([sys.executable, str(RUN), "--triples", "2000", "--runs", "1", "--cli-runs", "1",
                           "--no-queries", "--results", str(results)],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "estimated duration" in out and "Load average (1, 5, 15 min) before" in out
    # the clean-build table: floor (interleaved: 2 per build, plus the first), then both builds
    rows = re.findall(r"^\| (floor \(libyaml CSafeLoader\)|`build --jobs 1`|`build`) \| (\d+) \|(.*)\|$", out, re.M)
    assert [(name, runs) for name, runs, _ in rows] == [
        ("floor (libyaml CSafeLoader)", "3"), ("`build --jobs 1`", "1"), ("`build`", "1")]
    for _, _, cells in rows:
        assert len(cells.split("|")) == 8  # min, median, max, x floor, 4 peak-RSS columns
    assert re.search(r"^\| `diplokb build` after a one-file edit \(cache\) \| 1 \|.*\| yes, byte for byte", out, re.M)
    assert re.search(r"^\| `diplokb --help` \| 1 \| \d+ \| \d+ \| \d+ \|", out, re.M)
    assert re.search(r"^\| `diplokb query 02-who-met-whom`", out, re.M)

    after = results.read_text(encoding="utf-8")
    assert after.count(begin) == 1 and after.count(end) == 1
    # outside the markers nothing changed; inside is the dated section that was printed
    assert after[:after.index(begin)] == before[:before.index(begin)]
    assert after[after.index(end):] == before[before.index(end):]
    inside = after[after.index(begin) + len(begin):after.index(end)]
    assert re.match(r"\n## \d{4}-\d\d-\d\d \d\d:\d\d UTC: `benchmarks/run.py`", inside)
    assert inside.strip() in out
