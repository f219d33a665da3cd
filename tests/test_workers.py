"""workers.py: a build that validates in a second process gives exactly what a build in one
process gives, and a failure in that process reaches the caller."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from diplokb import BuildError, Project
from diplokb.synth import generate
from diplokb.workers import Forked, WorkerError

ROOT = Path(__file__).resolve().parents[1]
needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is not available here")


def build(kb: Path, out: Path, jobs: int):
    try:
        return Project.find(ROOT, kb=kb, out=out, cache=False).build(jobs=jobs)
    except BuildError as exc:
        return exc


@needs_fork
@pytest.mark.parametrize("broken", [0.0, 0.05])
def test_two_processes_give_what_one_gives(tmp_path, monkeypatch, broken):
    generate(3000, tmp_path / "kb", seed=3, broken=broken)
    monkeypatch.chdir(tmp_path)
    one = build(tmp_path / "kb", tmp_path / "one", jobs=1)
    two = build(tmp_path / "kb", tmp_path / "two", jobs=2)
    if broken:  # the same violations, each at the same place in the YAML
        assert isinstance(one, BuildError) and isinstance(two, BuildError)
        assert len(one.problems) >= 3
        assert [str(p) for p in two.problems] == [str(p) for p in one.problems]
        assert not (tmp_path / "two").exists()
        return
    assert two.files == one.files
    assert [r.render() for r in two.report.results] == [r.render() for r in one.report.results]
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == sorted(one.files)


@needs_fork
def test_forked_returns_the_value_or_raises_the_error():
    assert Forked(lambda: [("a", 1)]).result() == [("a", 1)]
    with pytest.raises(ZeroDivisionError):
        Forked(lambda: 1 / 0).result()
    with pytest.raises(WorkerError, match="without a result"):
        Forked(lambda: os._exit(3)).result()
    assert Forked(lambda: os.getpid()).result() != os.getpid()  # it did run elsewhere


def test_without_fork_the_function_runs_in_process():
    assert Forked(lambda: os.getpid(), fork=False).result() == os.getpid()


@needs_fork
def test_cancel_stops_the_child():
    import time

    job = Forked(lambda: time.sleep(60))
    pid = job.pid
    job.cancel()
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # already reaped
