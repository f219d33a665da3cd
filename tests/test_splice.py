"""export_splice.py and the rebuild path: a build after an edit that splices the exports on disk
gives the bytes of a clean build, in the cases where a splice could go wrong; an export that
is not what the last build wrote is assembled whole; the stat shortcut never misleads
`build --check` and `--no-cache`."""
from __future__ import annotations

import os
import time
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


# -- the fifth pass: plans of ranges, blocks, the stat ----------------------------------------

import io
import random
from array import array

from diplokb import export_splice as sp
from diplokb import files as dfiles

STYLES = {"nt": sp.Style(b"", b"", b"", nt=True), "ttl": sp.Style(b"@prefix x: <y> .\n\n", b"", b"\n"),
          "jsonld": sp.Style(b'{"@graph": [\n  ', b"\n]}\n", b",\n  "),
          "trig": sp.Style(b"@prefix x: <y> .\n", b"", b"\n\n    ", trig=True)}


def _whole(style, items: dict) -> bytes:
    keys = sorted(items, key=style.sortkey)
    out = [style.lead(keys[0])]
    for a, b in zip(keys, keys[1:]):
        out += [items[a], style.gap(a, b)]
    return b"".join(out + [items[keys[-1]], style.end])


def _apply(pieces, old: bytes) -> bytes:
    return b"".join(old[p[0]:p[0] + p[1]] if type(p) is tuple else p for p in pieces)


def _layout(style, items: dict):
    keys = sorted(items, key=style.sortkey)
    return sp.blocks_of(style, keys, array("q", [len(items[k]) for k in keys]))


@pytest.mark.parametrize("name", list(STYLES))
@pytest.mark.parametrize("block", [1, 2, 3])
def test_a_plan_gives_the_bytes_of_a_whole_assembly(monkeypatch, name, block):
    """Random edits (changed, added, removed items; in TriG graphs that come and go, subjects
    moving between graphs; the first, last and only item of a block; a block that grows past
    its size and is split), spliced again and again from the previous result: each time the
    bytes of the items assembled whole, and a top level that adds up."""
    monkeypatch.setattr(sp, "BLOCK", block)
    monkeypatch.setattr(sp, "MAX_BLOCK", 2 * block)
    style, rnd = STYLES[name], random.Random(f"{name}{block}")
    # IRIs one of which is a prefix of another ("x1", "x1-2"): N-Triples order is not string order
    subjects = [f"<x{i}" + ("-2" if i % 3 == 0 else "") for i in range(12)] + [f"<x{i}" for i in range(0, 12, 3)]
    key = (lambda s: (f"https://example.org/g{rnd.randrange(3)}", s)) if style.trig else (lambda s: s)
    items = {key(s): f"{s} text {rnd.random()}".encode() for s in subjects[:8]}
    old = _whole(style, items)
    top, chunks = _layout(style, items)
    read_count = []
    for _ in range(60):
        changes = {}
        for _ in range(rnd.randrange(1, 5)):
            k = rnd.choice(list(items)) if items and rnd.random() < 0.6 else key(rnd.choice(subjects))
            changes[k] = None if rnd.random() < 0.3 else f"{k} é{rnd.random()}".encode()
        if all(v is None for v in changes.values()) and set(items) <= set(changes):
            continue  # an empty export is assembled whole
        if rnd.random() < 0.1:  # many new items in one block: split
            changes.update({key(f"<x5-{i}"): b"grown" * i for i in range(1, 3 * block + 3)})
        for k, v in changes.items():
            if v is None:
                items.pop(k, None)
            else:
                items[k] = v

        def read(n):
            read_count.append(n)
            keys, raw = marshal_loads(chunks[n])
            lengths = array("q")
            lengths.frombytes(raw)
            return keys, lengths

        pieces, size, top, found = sp.splice(style, top, changes, read)
        chunks.update(found)
        new = _apply(pieces, old)
        assert new == _whole(style, items) and size == len(new)
        assert sp.fits(style, top, size)
        assert all(b[4] <= 2 * block for b in top)
        assert sum(b[4] for b in top) == len(items)
        old = new
    assert len(read_count) < 60 * 8  # only the touched blocks are read


def marshal_loads(data):
    import marshal

    return marshal.loads(data)


def _recorded(tmp_path) -> dict:
    from diplokb import cache

    (state,) = (tmp_path / "cache").glob("state-*")
    return cache.load(state, cache.code_key([*cached(tmp_path).ontology_files, cached(tmp_path).shapes_file])
                      ).meta["exports"]


def test_the_layout_is_in_blocks_and_an_edit_reads_only_its_blocks(kb, tmp_path, monkeypatch):
    monkeypatch.setattr(sp, "BLOCK", 8)
    monkeypatch.setattr(sp, "MAX_BLOCK", 16)
    cached(tmp_path).build(jobs=1)
    top = _recorded(tmp_path)["diplokb.nt"][2]
    assert len(top) > 4
    read = []
    real = sp.read_block
    monkeypatch.setattr(sp, "read_block", lambda *a: read.append(a[1]) or real(*a))
    edit(kb / "sources" / "src-000004.yaml", "title: Synthetic report", "title: A block edit")
    same_as_clean(tmp_path, spliced=True)
    assert 0 < len(read) < len(top), (len(read), len(top))
    # a source goes (its subjects and its graph), comes back, is renamed: a subject moving between graphs
    aside = tmp_path / "aside"
    aside.mkdir()
    for name in ("src-000003.yaml", "src-000003.txt"):
        shutil.move(kb / "sources" / name, aside / name)
    same_as_clean(tmp_path, spliced=True)
    for name in ("src-000003.yaml", "src-000003.txt"):
        shutil.move(aside / name, kb / "sources" / name)
    same_as_clean(tmp_path, spliced=True)


@pytest.mark.parametrize("how", ["same size, mtime set back", "replaced", "truncated", "appended"])
def test_an_export_written_after_the_build_is_found_by_its_stat(kb, tmp_path, how):
    """Without reading it: a write with the mtime set back keeps size and mtime, and is caught by
    the ctime; a file replaced by another by its inode; truncated or appended by its size."""
    cached(tmp_path).build(jobs=1)
    path = tmp_path / "out" / "diplokb.nt"
    rec = _recorded(tmp_path)["diplokb.nt"][0]
    assert dfiles.stat_key(os.stat(path)) == rec
    data = path.read_bytes()
    if how == "same size, mtime set back":
        at = data.index(b"Synthetic report")
        with open(path, "r+b") as fh:
            fh.seek(at)
            fh.write(b"synthetic")
        os.utime(path, ns=(rec[1], rec[1]))
        now = dfiles.stat_key(os.stat(path))
        assert now[0] == rec[0] and now[1] == rec[1] and now[3] == rec[3] and now[2] != rec[2]  # ctime
    elif how == "replaced":
        other = tmp_path / "other.nt"
        other.write_bytes(data.replace(b"Synthetic report", b"synthetic Report"))
        os.utime(other, ns=(rec[1], rec[1]))
        os.replace(other, path)
        assert os.stat(path).st_ino != rec[3]
    elif how == "truncated":
        with open(path, "r+b") as fh:
            fh.truncate(len(data) - 10)
        os.utime(path, ns=(rec[1], rec[1]))
    else:
        with open(path, "ab") as fh:
            fh.write(b"<x> <y> <z> .\n")
        os.utime(path, ns=(rec[1], rec[1]))
    edit(kb / "sources" / "src-000001.yaml", "title: Synthetic report", "title: Another report")
    result = same_as_clean(tmp_path, spliced=False)
    assert "diplokb.nt" in result.stale


def test_a_write_between_ours_and_the_record_is_not_recorded(kb, tmp_path):
    """An export's mtime is the build's start: one with another mtime when it is recorded
    was written since, and the next build does not splice from it."""
    cached(tmp_path).build(jobs=1)
    out = tmp_path / "out"
    st = os.stat(out / "diplokb.ttl")
    files = {n: (out / n).read_bytes() for n in ("diplokb.nt", "diplokb.ttl", "diplokb.jsonld", "diplokb.trig")}
    layout = {n: e[2] for n, e in _recorded(tmp_path).items()}
    assert rebuild.recorded(out, files, layout, st.st_mtime_ns, {}) is not None
    os.utime(out / "diplokb.ttl", ns=(st.st_mtime_ns + 1, st.st_mtime_ns + 1))
    assert rebuild.recorded(out, files, layout, st.st_mtime_ns, {}) is None


def test_a_damaged_layout_block_is_a_notice_and_clean_bytes(kb, tmp_path):
    cached(tmp_path).build(jobs=1)
    (state,) = (tmp_path / "cache").glob("state-*")
    for e in _recorded(tmp_path).values():
        for block in e[2] or ():
            chunk = state / block[5]
            data = bytearray(chunk.read_bytes())
            data[len(data) // 2] ^= 1
            chunk.write_bytes(bytes(data))
    edit(kb / "sources" / "src-000001.yaml", "title: Synthetic report", "title: Another report")
    result = same_as_clean(tmp_path, spliced=False)
    assert any("layout block" in n.message for n in result.notices), result.notices
    edit(kb / "sources" / "src-000001.yaml", "title: Another report", "title: And again")
    again = same_as_clean(tmp_path, spliced=True)  # the blocks were written again
    assert again.notices == ()


@pytest.mark.parametrize("unsupported, how", [(("copy_file_range",), "raises"),
                                               (("copy_file_range", "sendfile"), "raises"),
                                               (("copy_file_range",), "returns 0"),
                                               (("copy_file_range", "sendfile"), "returns 0")])
def test_without_copy_file_range_the_same_bytes(kb, tmp_path, monkeypatch, unsupported, how):
    """A kernel or file system without copy_file_range (or sendfile between files) refuses it,
    or (some file systems) copies nothing and returns 0: the next way is taken, still a splice."""
    import errno

    cached(tmp_path).build(jobs=1)
    calls = []

    def refused(*args):
        calls.append(args)
        if how == "returns 0":
            return 0
        raise OSError(errno.EXDEV, "unsupported")

    for name in unsupported:
        monkeypatch.setattr(os, name, refused)
    nxt = "pread" if "sendfile" in unsupported else "sendfile"  # the way the copies must take
    real, used = getattr(os, nxt), []
    monkeypatch.setattr(os, nxt, lambda *args: used.append(args) or real(*args))
    edit(kb / "sources" / "src-000001.yaml", "title: Synthetic report", "title: Another report")
    same_as_clean(tmp_path, spliced=True)
    assert calls and used  # the old exports' ranges copied the next way (not assembled whole)


def test_a_failed_write_leaves_the_old_exports_and_state_and_the_next_build_is_right(kb, tmp_path, monkeypatch):
    import errno

    from diplokb.errors import DiplokbError

    cached(tmp_path).build(jobs=1)
    out = tmp_path / "out"
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    (state,) = (tmp_path / "cache").glob("state-*")
    index = (state / "index").read_bytes()
    real, calls = dfiles._copy, []

    def failing(*args):
        calls.append(args)
        if len(calls) == 3:
            raise OSError(errno.EIO, "input/output error")
        return real(*args)

    monkeypatch.setattr(dfiles, "_copy", failing)
    edit(kb / "sources" / "src-000001.yaml", "title: Synthetic report", "title: Another report")
    with pytest.raises(DiplokbError, match="the exports were left as they were"):
        cached(tmp_path).build(jobs=1)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert (state / "index").read_bytes() == index
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no staging folder
    monkeypatch.setattr(dfiles, "_copy", real)
    same_as_clean(tmp_path)


def test_an_export_changed_after_the_plan_is_assembled_whole(kb, tmp_path, monkeypatch):
    """A write between the stat the splice was planned from and the copy (SourceChanged)."""
    cached(tmp_path).build(jobs=1)
    path = tmp_path / "out" / "diplokb.ttl"
    rec = _recorded(tmp_path)["diplokb.ttl"][0]
    real = rebuild._stat

    def lying(p):  # the stat is taken, then the file is changed
        found = real(p)
        if Path(p) == path and found == rec:
            with open(path, "ab") as fh:
                fh.write(b"# appended\n")
        return found

    monkeypatch.setattr(rebuild, "_stat", lying)
    raised, real_write = [], dfiles._write_splice

    def write_splice(fd, plan):
        try:
            real_write(fd, plan)
        except dfiles.SourceChanged as exc:
            raised.append(exc)
            raise

    monkeypatch.setattr(dfiles, "_write_splice", write_splice)
    edit(kb / "sources" / "src-000001.yaml", "title: Synthetic report", "title: Another report")
    same_as_clean(tmp_path)
    assert raised


def test_a_build_with_nothing_changed_reads_and_writes_no_export(kb, tmp_path, monkeypatch):
    import builtins

    cached(tmp_path).build(jobs=1)
    out = tmp_path / "out"
    before = {p.name: os.stat(p) for p in out.iterdir()}
    folder = os.stat(out).st_ino
    opened = []
    real_open, real_os_open = builtins.open, os.open

    def os_spy(path, *args, **kwargs):
        if isinstance(path, (str, os.PathLike)) and str(out) in os.path.abspath(os.fspath(path)):
            opened.append(os.fspath(path))
        return real_os_open(path, *args, **kwargs)

    def open_spy(path, *args, **kwargs):
        if isinstance(path, (str, os.PathLike)) and str(out) in os.path.abspath(os.fspath(path)):
            opened.append(os.fspath(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", open_spy)
    monkeypatch.setattr(io, "open", open_spy)
    monkeypatch.setattr(os, "open", os_spy)
    from diplokb import export

    monkeypatch.setattr(export, "void_description", lambda *a: opened.append("void.ttl computed"))
    t = time.time_ns()
    result = cached(tmp_path).build(jobs=1)
    monkeypatch.undo()
    assert opened == [] and result.stale == ()
    assert os.stat(out).st_ino == folder  # no new folder swapped in
    mtimes = set()
    for p in out.iterdir():
        st = os.stat(p)
        assert (st.st_ino, st.st_size) == (before[p.name].st_ino, before[p.name].st_size), p.name
        mtimes.add(st.st_mtime_ns)
    assert len(mtimes) == 1 and mtimes.pop() >= t  # only utime'd: the build's start
    assert result.files["diplokb.nt"] == (out / "diplokb.nt").read_bytes()
    same_as_clean(tmp_path)
