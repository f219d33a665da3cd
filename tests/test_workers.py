"""workers.py: a build that validates in a second process gives exactly what a build in one
process gives, and a failure in that process reaches the caller."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from diplokb import BuildError, Project
from diplokb.synth import generate
from diplokb import incremental
from diplokb.workers import Forked, Peer, WorkerError

ROOT = Path(__file__).resolve().parents[1]
needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is not available here")


def build(kb: Path, out: Path, jobs: int):
    try:
        return Project.find(ROOT, kb=kb, out=out, cache=False).build(jobs=jobs)
    except BuildError as exc:
        return exc


@pytest.fixture(autouse=True)
def split_small_kbs(monkeypatch):
    """Loads the files in two processes from 2 files on (64 in real use)."""
    monkeypatch.setattr(incremental, "SPLIT_MIN", 2)


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
def test_the_cache_saved_by_the_second_process_is_the_one_saved_in_process(tmp_path, monkeypatch):
    """With two jobs the cache is saved in a second process while the exports are written:
    the state it leaves is the same, and the next build starts from it."""
    from diplokb import cache

    generate(3000, tmp_path / "kb", seed=5)
    monkeypatch.chdir(tmp_path)
    states = {}
    for jobs in (1, 2):
        project = Project.find(ROOT, kb=tmp_path / "kb", out=tmp_path / f"out{jobs}", cache=tmp_path / f"cache{jobs}")
        first = project.build(jobs=jobs)
        assert first.timings["save cache"] > 0
        (path,) = (tmp_path / f"cache{jobs}").iterdir()
        states[jobs] = cache.load(path, cache.code_key([*project.ontology_files, project.shapes_file]))
        assert project.build(jobs=jobs).recompiled == ()  # the next build reads it
    assert states[2].units and states[2] == states[1]
    assert not [p for p in (tmp_path / "cache2").iterdir() if p.name.startswith(".state")]  # no temporary left


@needs_fork
def test_the_real_kb_and_its_errors_are_the_same_in_two_processes(project, tmp_path, monkeypatch):
    """Files of both halves cite sources defined in the other half (entities/*.yaml quote
    sources/*.yaml), and errors in either half are reported once each, together."""
    import shutil

    monkeypatch.chdir(tmp_path)
    kb = tmp_path / "kb"
    shutil.copytree(project.kb, kb)
    one = build(kb, tmp_path / "one", jobs=1)
    two = build(kb, tmp_path / "two", jobs=2)
    assert two.files == one.files
    assert two.recompiled == one.recompiled and len(one.recompiled) >= 8
    for f in [kb / "entities" / "places.yaml", kb / "entities" / "things.yaml",  # files of both halves
              *sorted((kb / "sources").glob("00[34]_*.yaml"))]:
        text = f.read_text(encoding="utf-8")
        f.write_text(text.replace("\n", "\n  - nonsense: [\n", 1), encoding="utf-8")  # bad YAML
    for f in (kb / "sources").glob("00[01]_*.yaml"):  # a problem in an event of sources differences.yaml cites
        f.write_text(f.read_text(encoding="utf-8").replace("\n    kind: ", "\n    colour: red\n    kind: ", 1),
                     encoding="utf-8")
    edit = kb / "sources" / "002_e414bc1f994df249.yaml"
    edit.write_text(edit.read_text(encoding="utf-8").replace("who: hun-sen,", "who: hun-senn,", 1), encoding="utf-8")
    one = build(kb, tmp_path / "one-bad", jobs=1)
    two = build(kb, tmp_path / "two-bad", jobs=2)
    assert isinstance(one, BuildError) and isinstance(two, BuildError)
    assert [p.render() for p in two.problems] == [p.render() for p in one.problems]
    assert len({p.location.file for p in one.problems}) >= 5
    assert any("did you mean 'hun-sen'?" in p.render() for p in two.problems)
    assert sum("colour" in p.render() for p in two.problems) == 2  # once each


@needs_fork
def test_a_peer_swaps_messages_and_passes_errors_back():
    def child(channel):
        channel.send(("ids", os.getpid()))
        theirs = channel.receive()
        channel.send(theirs * 2)
        raise KeyError("late")

    peer = Peer(child)
    kind, pid = peer.receive()
    assert kind == "ids" and pid != os.getpid()
    peer.send(21)
    assert peer.receive() == 42
    with pytest.raises(KeyError, match="late"):
        peer.receive()
    with pytest.raises(WorkerError):
        peer.receive()
    peer.close()


@needs_fork
def test_plain_data_is_marshalled_and_anything_else_fails_clearly():
    """Units go through the channel marshalled (plain data: faster than pickle); a value that
    marshal cannot write is an error in the parent, not a hang or a wrong value."""
    units = {"a.yaml": {"contrib": {"urn:s": {"urn:g": (("urn:p", ("v", None, "en")), ("urn:p", "urn:o"))}},
                        "defines": (("id", ("person", "Name", ""), 3, 1),), "n": 1.5, "none": None}}

    def child(channel):
        channel.send(units, plain=True)
        channel.send(object(), plain=True)

    peer = Peer(child)
    assert peer.receive() == units
    with pytest.raises(ValueError, match="unmarshallable"):
        peer.receive()
    peer.close()


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
