"""export_splice.py and the rebuild path: a build after an edit that splices the exports on disk
gives the bytes of a clean build, in the cases where a splice could go wrong; an export that
is not what the last build wrote is assembled whole; the stat shortcut never misleads
`build --check` and `--no-cache`."""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from diplokb import Project, rebuild
from diplokb.cli import main
from diplokb.synth import generate

ROOT = Path(__file__).resolve().parents[1]
EXPORTS = ("diplokb.nt", "diplokb.ttl", "diplokb.jsonld", "diplokb.trig", "void.ttl")


@pytest.fixture()
def kb(tmp_path, monkeypatch):
    generate(3000, tmp_path / "kb", seed=7)
    monkeypatch.chdir(tmp_path)
    return tmp_path / "kb"


def cached(tmp_path):
    return Project.find(ROOT, kb=tmp_path / "kb", out=tmp_path / "out", cache=tmp_path / "cache")


def same_as_clean(tmp_path, spliced=None):
    """A cached build (after a first one filled the cache) equals, on disk too, a clean build."""
    calls = []
    real = rebuild._spliced

    def counted(*args, **kwargs):
        found = real(*args, **kwargs)  # raises export_splice.Spliced when an export cannot be spliced
        calls.append(sorted(found[0]))
        return found

    rebuild._spliced = counted
    try:
        result = cached(tmp_path).build(jobs=1)
    finally:
        rebuild._spliced = real
    clean = Project.find(ROOT, kb=tmp_path / "kb", out=tmp_path / "clean", cache=False).build(jobs=1)
    for name in clean.files:
        assert result.files[name] == clean.files[name], name
        assert (tmp_path / "out" / name).read_bytes() == clean.files[name], name
    assert result.summary() == clean.summary()
    if spliced is not None:
        assert bool(calls) == spliced, calls
    return result


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_edits_are_spliced_into_the_exports(kb, tmp_path):
    cached(tmp_path).build(jobs=1)
    src = kb / "sources" / "src-000004.yaml"
    edit(src, "title: Synthetic report", "title: A spliced report")
    result = same_as_clean(tmp_path, spliced=True)
    assert result.recompiled == ("sources/src-000004.yaml",)
    # person-1 and person-10, person-11 ...: IRIs one of which is a prefix of others, whose
    # N-Triples order ("s>") is not their order as strings
    edit(kb / "entities" / "people.yaml", "id: person-1\n    name: ", "id: person-1\n    name: Prefix ")
    same_as_clean(tmp_path, spliced=True)


def test_a_subject_whose_sort_position_changes(kb, tmp_path):
    """An id renamed: its subject leaves its place in every export and comes in at another."""
    cached(tmp_path).build(jobs=1)
    src = kb / "sources" / "src-000002.yaml"
    text = src.read_text(encoding="utf-8")
    ids = re.findall(r"^  - id: (\S+)", text, re.M)
    others = "".join(p.read_text(encoding="utf-8") for p in kb.rglob("*.yaml") if p != src)
    mine = next(i for i in ids if i not in others and text.count(i) >= 1)
    src.write_text(re.sub(rf"\b{re.escape(mine)}\b", "aaa-" + mine, text), encoding="utf-8")
    same_as_clean(tmp_path, spliced=True)
    src.write_text(text.replace(mine, "zzz-" + mine), encoding="utf-8")
    same_as_clean(tmp_path, spliced=True)


def test_files_removed_added_and_renamed(kb, tmp_path):
    cached(tmp_path).build(jobs=1)
    aside = tmp_path / "aside"
    aside.mkdir()
    for name in ("src-000003.yaml", "src-000003.txt"):  # a source goes: its graph and subjects too
        shutil.move(kb / "sources" / name, aside / name)
    same_as_clean(tmp_path, spliced=True)
    for name in ("src-000003.yaml", "src-000003.txt"):  # ... and comes back
        shutil.move(aside / name, kb / "sources" / name)
    same_as_clean(tmp_path, spliced=True)
    shutil.move(kb / "sources" / "src-000005.yaml", kb / "sources" / "zz-renamed.yaml")  # same text
    result = same_as_clean(tmp_path, spliced=True)
    assert result.recompiled == ("sources/zz-renamed.yaml",)


@pytest.mark.parametrize("how", ["same-size edit", "truncated", "removed", "replaced"])
def test_an_export_changed_by_hand_is_repaired(kb, tmp_path, how):
    cached(tmp_path).build(jobs=1)
    path = tmp_path / "out" / "diplokb.ttl"
    data = path.read_bytes()
    st = os.stat(path)
    if how == "same-size edit":  # the same size and mtime: only the CRC tells
        at = data.index(b"Synthetic report")
        path.write_bytes(data[:at] + b"synthetic" + data[at + 9:])
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    elif how == "truncated":
        path.write_bytes(data[:len(data) // 2])
    elif how == "removed":
        path.unlink()
    else:
        path.write_bytes(b"# not the KB\n")
    edit(kb / "sources" / "src-000001.yaml", "title: Synthetic report", "title: Another report")
    result = same_as_clean(tmp_path, spliced=False)  # assembled whole
    assert "diplokb.ttl" in result.stale
    edit(kb / "sources" / "src-000001.yaml", "title: Another report", "title: And again")
    same_as_clean(tmp_path, spliced=True)  # and spliced again the next time


def test_a_build_without_writing_leaves_no_layout_to_splice_from(kb, tmp_path):
    cached(tmp_path).build(jobs=1)
    edit(kb / "sources" / "src-000001.yaml", "title: Synthetic report", "title: Not written")
    cached(tmp_path).build(write=False, jobs=1)  # the exports on disk are the previous build's
    edit(kb / "sources" / "src-000002.yaml", "title: Synthetic report", "title: Written")
    same_as_clean(tmp_path, spliced=False)


def test_the_stat_shortcut_never_misleads_check_or_no_cache(kb, tmp_path):
    """An edit that keeps a file's size, mtime and inode is not seen by a build with the cache
    (the documented trade-off); `build --check` and `--no-cache` read every file."""
    cached(tmp_path).build(jobs=1)
    src = kb / "sources" / "src-000001.yaml"
    st = os.stat(src)
    text = src.read_text(encoding="utf-8")
    new = text.replace("title: Synthetic report", "title: Synthetic REPORT", 1)
    assert len(new) == len(text) and new != text
    with open(src, "r+", encoding="utf-8") as fh:  # in place: the same inode
        fh.write(new)
    os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert os.stat(src).st_ino == st.st_ino
    out = CliRunner().invoke(main, ["build", "--check", "--kb", str(kb), "--out", str(tmp_path / "out")])
    assert out.exit_code == 1 and "stale" in out.output
    clean = Project.find(ROOT, kb=kb, out=tmp_path / "clean", cache=False).build(jobs=1)
    assert b"Synthetic REPORT" in clean.files["diplokb.nt"]
