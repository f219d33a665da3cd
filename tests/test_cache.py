"""cache.py: the build cache is never trusted blindly (docs/faults.md). A damaged or crafted
state is a warning and what it held is done again; an unwritable cache is a warning; a unit is
keyed by the bytes that were compiled; `build --check` compares with a clean build."""
from __future__ import annotations

import hashlib
import marshal
import os
import pickle
from pathlib import Path

import pytest
from click.testing import CliRunner

from diplokb import Project, cache
from diplokb import incremental
from diplokb.cli import main

ROOT = Path(__file__).resolve().parents[1]
S000 = "kb/sources/000_2314cb523628f110.yaml"
TITLE = "title: Cambodia, China to further deepen partnership amid diplomatic anniversary"


def cached(tmp_path, out="out"):
    return Project.find(ROOT, kb=tmp_path / "kb", out=tmp_path / out, cache=tmp_path / "cache")


def clean_files(tmp_path) -> dict:
    return Project.find(ROOT, kb=tmp_path / "kb", out=tmp_path / "clean", cache=False).build(
        write=False, jobs=1).files


def state_dir(tmp_path) -> Path:
    (found,) = (tmp_path / "cache").glob("state-*")
    return found


def state_file(tmp_path) -> Path:
    """The state's index."""
    return state_dir(tmp_path) / "index"


def index_frames(path: Path | bytes) -> list[bytes]:
    """The payloads of an index's frames (the index file, or its bytes)."""
    data = path if isinstance(path, bytes) else path.read_bytes()
    pos, frames = len(cache.MAGIC), []
    while pos < len(data):
        size = int.from_bytes(data[pos:pos + 8], "little")
        frames.append(data[pos + 40:pos + 40 + size])
        pos += 40 + size
    return frames


def rewrite_index(path: Path, change) -> None:
    """The index with `change(values)` applied and every frame's digest made right again."""
    values = change([marshal.loads(f) for f in index_frames(path)])
    path.write_bytes(cache.MAGIC + b"".join(frame(v) for v in values))


def entry_of(path: Path, rel: str) -> dict:
    """A file's row in the index's table (cache_index.py)."""
    (found,) = [dict(zip(cache.LIGHT, row[1:])) for frame in index_frames(path)[2:-1]
                for row in marshal.loads(frame) if row[0] == rel]
    return found


def names_of(path: Path) -> dict:
    """The index's `names` frame: the maps' shards, the curation warnings' chunk."""
    return marshal.loads(index_frames(path)[1])


def edit_title(tmp_path, new="title: Edited") -> None:
    path = tmp_path / S000
    path.write_text(path.read_text().replace(TITLE, new))


def key() -> str:
    p = Project.find(ROOT)
    return cache.code_key([*p.ontology_files, p.shapes_file])


KEY = key()


def frame(value) -> bytes:
    return raw_frame(marshal.dumps(value))


def raw_frame(payload: bytes) -> bytes:
    return len(payload).to_bytes(8, "little") + hashlib.sha256(payload).digest() + payload


def warnings(result) -> list[str]:
    return [n.message for n in result.notices]


def flip(path: Path, needle: bytes) -> None:
    data = bytearray(path.read_bytes())
    at = data.find(needle)
    assert at > 0, needle
    data[at] ^= 0x20  # e.g. 'K' -> 'k': a same-length edit
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("where", ["table", "names", "entry", "chunk", "rendered", "summary", "shard", "results",
                                   "reads", "ids", "owners", "lookers", "advice"])
def test_a_flipped_bit_is_a_warning_and_never_reaches_the_exports(kb, tmp_path, where):
    """In each part of the state: a file's row in the index's table, the index's names of the
    maps, the file's entry chunk (defines, lookups, subjects), its chunk (triples), its rendered
    texts, the index's summary (figures, the exports' layout), a reverse-link shard, the
    results, the triples the last validation read, the shards of the maps of ids, owners and
    lookers, the curation warnings. The edit makes the build read the damaged part."""
    cached(tmp_path).build(jobs=1)
    if where == "reads":  # a build after an edit records what its validation read
        edit_title(tmp_path, "title: A first edit")
        cached(tmp_path).build(jobs=1)
    folder, index = state_dir(tmp_path), state_file(tmp_path)
    entry = entry_of(index, S000.removeprefix("kb/"))
    if where == "table":
        flip(index, entry["yaml"].encode())  # the digest of its YAML
    elif where == "names":
        flip(index, names_of(index)["advice"].encode())
    elif where == "entry":
        flip(folder / entry["entry"], b"further deepen")
    elif where in ("ids", "owners", "lookers", "advice"):
        found = names_of(index)[where]
        for name in ([found] if where == "advice" else found):  # every shard: the edit reads some
            data = bytearray((folder / name).read_bytes())
            data[-1] ^= 0x01
            (folder / name).write_bytes(bytes(data))
    elif where == "chunk":
        flip(folder / entry["chunk"], b"further deepen")
    elif where == "rendered":
        flip(folder / entry["rchunk"], b"further deepen")
    elif where == "summary":
        flip(index, b"diplokb.trig")
    else:
        meta = marshal.loads(index_frames(index)[-1])
        names = meta["reverse"] if where == "shard" else [meta[where]]
        for name in names:  # every shard: the edit reads some
            data = bytearray((folder / name).read_bytes())
            data[-1] ^= 0x01
            (folder / name).write_bytes(bytes(data))
    if where == "reads":  # another edit: its validation reads those subjects again
        (tmp_path / S000).write_text((tmp_path / S000).read_text().replace("title: A first edit", "title: Edited"))
    elif where == "shard":  # the source's date: the checks of the events citing it read it (the
        # shapes' analysis walks dkb:evidence/dkb:source back from it: the reverse-link shards)
        path = tmp_path / S000
        path.write_text(path.read_text().replace("  date: 2023-07-24\n  dateline", "  date: 2023-07-25\n  dateline"))
    elif where in ("ids", "lookers"):  # a changed index entry (the title): the files that looked it up
        edit_title(tmp_path)
    elif where not in ("table", "names"):  # an edit that changes none of its triples: only it is compiled again
        (tmp_path / S000).write_text((tmp_path / S000).read_text() + "# a comment\n")
    result = cached(tmp_path).build(jobs=1)
    assert any("the build cache is damaged" in w for w in warnings(result)), warnings(result)
    assert result.files == clean_files(tmp_path)
    assert {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()} == result.files
    if where in ("entry", "chunk", "rendered"):
        assert len(result.recompiled) == 1  # that unit only is compiled again
    elif where == "table":  # the files of that part of the table (here all of them)
        assert len(result.recompiled) == len(list((tmp_path / "kb").rglob("*.yaml")))
    again = cached(tmp_path).build(jobs=1)  # the damaged state was replaced by a good one
    assert warnings(again) == [] and again.recompiled == () and again.files == result.files


def test_the_clean_build_after_a_damaged_cache_replaces_every_damaged_chunk(kb, tmp_path):
    """A damaged summary makes the next build a clean one; the chunks it writes have the names
    of the damaged ones on disk (content-addressed), which it must not keep: the builds after
    it, whatever they read, find nothing damaged."""
    cached(tmp_path).build(jobs=1)
    folder, index = state_dir(tmp_path), state_file(tmp_path)
    for f in folder.iterdir():
        if f.name != "index":
            data = bytearray(f.read_bytes())
            data[len(data) // 2] ^= 0x01
            f.write_bytes(bytes(data))
    flip(index, b"diplokb.trig")
    first = cached(tmp_path).build(jobs=1)
    assert any("a clean build" in w for w in warnings(first)), warnings(first)
    edit_title(tmp_path)  # the rebuild reads its chunks, their shards and the results
    edited = cached(tmp_path).build(jobs=1)
    assert warnings(edited) == [] and S000.removeprefix("kb/") in edited.recompiled
    assert edited.files == clean_files(tmp_path)


def test_the_state_file_of_the_old_format_is_removed(kb, tmp_path):
    cached(tmp_path).build(jobs=1)
    old = state_dir(tmp_path).with_name(state_dir(tmp_path).name + ".marshal")
    old.write_bytes(b"a format 2 state")
    edit_title(tmp_path)
    cached(tmp_path).build(jobs=1)
    assert not old.exists() and (state_dir(tmp_path) / "index").is_file()


@pytest.mark.parametrize("content", [
    b"",
    b"garbage \x00\xff" * 100,
    pickle.dumps(("anything", 1)),
    cache.MAGIC,
    cache.MAGIC + b"\x05\x00",
    cache.MAGIC + frame(marshal.loads(marshal.dumps(compile("print(1)", "x", "exec")))),
    cache.MAGIC + frame((cache.FORMAT, KEY, 10 ** 12)),
    cache.MAGIC + frame((cache.FORMAT, KEY, 0)),  # no frame for the summary
    cache.MAGIC + frame((cache.FORMAT, KEY, 1)) + frame(("entities/people.yaml", {"yaml": 1})) + frame({}),
    cache.MAGIC + frame((cache.FORMAT, KEY, 0)) + frame({"results": "not a name"}),
    cache.MAGIC + frame((cache.FORMAT, KEY, 0)) + raw_frame(b"[\xff\xff\xff\x7f"),
], ids=["empty", "garbage", "pickle", "magic-only", "truncated-frame", "code-object", "huge-count",
        "missing-frames", "unit-of-the-wrong-shape", "summary-of-the-wrong-shape", "list-of-2**31-items"])
def test_a_crafted_cache_file_is_a_warning_not_a_traceback(kb, tmp_path, content):
    cached(tmp_path).build(jobs=1)
    path = state_file(tmp_path)
    path.write_bytes(content)
    result = cached(tmp_path).build(jobs=1)
    assert result.files == clean_files(tmp_path)
    assert warnings(result) and all("build cache" in w for w in warnings(result))
    assert not any("not saved" in w for w in warnings(result)), warnings(result)  # a good state replaces it
    assert warnings(cached(tmp_path).build(jobs=1)) == []
    path = cache.state_path(tmp_path / ".diplokb-cache", kb) / "index"  # the cache of `diplokb build --kb kb`
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    out = CliRunner().invoke(main, ["build", "--kb", str(kb), "--out", str(tmp_path / "out")])
    assert out.exit_code == 0, out.output
    assert "Traceback" not in out.output and f"{path.parent}: warning: " in out.output


def test_a_pickle_in_the_cache_runs_nothing(kb, tmp_path):
    cached(tmp_path).build(jobs=1)
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    state_file(tmp_path).write_bytes(pickle.dumps(Evil()))
    result = cached(tmp_path).build(jobs=1)
    assert not marker.exists()
    assert any("not a diplokb state" in w for w in warnings(result))


@pytest.mark.parametrize("jobs", [1, 2])
def test_an_unwritable_cache_is_a_warning_after_the_exports_were_written(kb, tmp_path, jobs):
    (tmp_path / "cache").write_text("a file where the cache folder should be")
    result = cached(tmp_path).build(jobs=jobs)
    assert result.stale  # the exports were written...
    assert {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()} == result.files
    (w,) = warnings(result)  # ... and the cache's failure is a warning
    assert w.startswith("the build cache was not saved (") and "the next build is a clean build" in w


@pytest.mark.parametrize("step", ["write_chunks", "save"])  # (the chunks, in a second process with 2 jobs)
def test_a_save_that_fails_in_its_process_is_a_warning(kb, tmp_path, monkeypatch, step):
    def fail(*args, **kwargs):
        raise MemoryError("no memory left")

    monkeypatch.setattr(cache, step, fail)
    for jobs in (1, 2):
        result = cached(tmp_path, out=f"out{jobs}").build(jobs=jobs)
        assert [w.split(";")[0] for w in warnings(result)] == [
            "the build cache was not saved (MemoryError: no memory left)"]


def test_units_are_keyed_by_the_bytes_compiled(kb, tmp_path, monkeypatch):
    """A file edited during a build (after it was hashed) and then reverted must not leave the
    edited text in the exports of the next builds."""
    cached(tmp_path).build(jobs=1)
    path = tmp_path / S000
    original = path.read_bytes()
    path.write_bytes(original.replace(TITLE.encode(), b"title: First edit of the title"))
    from diplokb import loader

    real = loader.load_file  # (incremental.py imports it where it loads a file)

    def edited_meanwhile(file, *args, **kwargs):
        if Path(file).name == path.name:  # the curator saves again between hashing and loading
            path.write_bytes(original.replace(TITLE.encode(), b"title: Second edit, soon reverted"))
        return real(file, *args, **kwargs)

    monkeypatch.setattr(loader, "load_file", edited_meanwhile)
    first = cached(tmp_path).build(jobs=1)
    assert b"First edit of the title" in first.files["diplokb.nt"]
    assert b"Second edit" not in first.files["diplokb.nt"]
    monkeypatch.undo()
    path.write_bytes(original.replace(TITLE.encode(), b"title: Second edit, soon reverted"))
    path.write_bytes(original.replace(TITLE.encode(), b"title: First edit of the title"))  # reverted
    again = cached(tmp_path).build(jobs=1)
    assert again.recompiled == ()
    assert again.files == clean_files(tmp_path)


def test_a_text_read_to_check_a_cached_unit_is_the_text_compiled(kb, tmp_path, monkeypatch):
    """differences.yaml quotes source 000: when it is compiled again, 000's text (unchanged, so
    000 comes from the cache) is what the build read and hashed, even if it changes meanwhile."""
    cached(tmp_path).build(jobs=1)
    text = tmp_path / "kb/sources/000_2314cb523628f110.txt"
    edit_target = tmp_path / "kb/entities/differences.yaml"
    edit_target.write_text(edit_target.read_text().replace(
        "named differently by 000 and 002.", "named differently by 000 and by 002."))
    expected = clean_files(tmp_path)
    original = text.read_bytes()
    real = incremental.Build.unchanged

    def then_the_text_changes(self, rel, data):
        found = real(self, rel, data)
        if rel == "sources/000_2314cb523628f110.yaml":
            text.write_bytes(b"Replaced while the build ran.\n")
        return found

    monkeypatch.setattr(incremental.Build, "unchanged", then_the_text_changes)
    result = cached(tmp_path).build(jobs=1)
    assert result.recompiled == ("entities/differences.yaml",)
    assert result.files == expected
    monkeypatch.undo()
    text.write_bytes(original)
    assert cached(tmp_path).build(jobs=1).files == expected


def test_check_compares_with_a_clean_build_not_with_the_cache(kb, tmp_path):
    cached(tmp_path).build(jobs=1)
    path = state_file(tmp_path)
    # a state edited consistently (digests recomputed, shapes right) that lies about the KB
    def lie(values):
        n, props, classes = values[-1]["figures"]
        values[-1]["figures"] = (n + 1, props, classes)
        return values

    rewrite_index(path, lie)
    before = path.read_bytes()
    runner = CliRunner()
    out = runner.invoke(main, ["build", "--check", "--kb", str(kb), "--out", str(tmp_path / "out")])
    assert out.exit_code == 0 and "up to date" in out.output  # the cache was not read ...
    assert path.read_bytes() == before  # ... nor written
    (tmp_path / "out" / "diplokb.ttl").write_bytes(b"# stale\n")
    out = runner.invoke(main, ["build", "--check", "--kb", str(kb), "--out", str(tmp_path / "out")])
    assert out.exit_code == 1 and "diplokb.ttl" in out.output


def test_a_killed_save_leaves_no_temporary_the_next_save_keeps(kb, tmp_path):
    cached(tmp_path).build(jobs=1)
    left = state_dir(tmp_path) / ".tmp.abc123"
    left.write_bytes(b"half a state")
    (state_dir(tmp_path) / ".saving").write_bytes(b"")  # what a save killed after write_chunks leaves
    garbage = state_dir(tmp_path) / ("0" * 64)  # a chunk it wrote that no index names
    garbage.write_bytes(b"a chunk")
    edit_title(tmp_path)
    cached(tmp_path).build(jobs=1)
    assert not left.exists() and not garbage.exists()
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [state_dir(tmp_path).name]
    assert all(p.name == "index" or len(p.name) == 64 for p in state_dir(tmp_path).iterdir())


def test_chunks_no_index_names_are_removed(kb, tmp_path):
    """A save keeps the chunks of its index and of the previous one (a build may still be
    reading them), and removes the others."""
    cached(tmp_path).build(jobs=1)
    first = set(p.name for p in state_dir(tmp_path).iterdir())
    path = tmp_path / S000
    for i in range(3):
        path.write_text(path.read_text().replace("title: ", f"title: {i} ", 1))
        cached(tmp_path).build(jobs=1)
    names = set(p.name for p in state_dir(tmp_path).iterdir()) - {"index"}
    assert len(names) < 2 * len(first)  # not a copy of the state per build
    state = cache.load(state_dir(tmp_path), KEY)
    needed = {u[k] for u in state.units.values() for k in ("chunk", "rchunk")}
    assert needed <= names


def test_a_file_that_changes_during_the_build_is_an_error(kb, tmp_path, monkeypatch):
    """A file taken as unchanged by its stat, whose records the build then needs (differences.yaml
    quotes source 000), must still be what the cache recorded: changed meanwhile, it fails the
    build instead of being compiled against or skipped silently."""
    from diplokb import BuildError

    cached(tmp_path).build(jobs=1)
    edit_target = tmp_path / "kb/entities/differences.yaml"
    edit_target.write_text(edit_target.read_text().replace(
        "named differently by 000 and 002.", "named differently by 000 and by 002."))
    real = incremental.Build._stat_unchanged

    def then_it_changes(self, rel, path):
        found = real(self, rel, path)
        if rel == S000.removeprefix("kb/"):
            assert found
            edit_title(tmp_path, "title: Changed meanwhile")
        return found

    monkeypatch.setattr(incremental.Build, "_stat_unchanged", then_it_changes)
    with pytest.raises(BuildError) as exc:
        cached(tmp_path).build(jobs=1)
    assert "kb/sources/000_2314cb523628f110.yaml: error: the file changed during the build; build again" in exc.value.render()
    monkeypatch.undo()
    assert cached(tmp_path).build(jobs=1).files == clean_files(tmp_path)


def test_an_edit_in_the_same_tick_as_the_build_that_read_the_file_is_not_missed(kb, tmp_path):
    """A file saved just before a build (its mtime within RACY_NS of the build's start) and then
    edited again in the same tick of the file system's clock keeps its size and mtime: the
    build did not record that stat, so the next one hashes the file and sees the edit."""
    path = tmp_path / S000
    path.write_text(path.read_text())  # saved just now
    cached(tmp_path).build(jobs=1)
    st = path.stat()
    flip(path, b"further deepen")  # a same-length edit, in place (the same inode)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # in the same tick: the same mtime
    assert path.stat().st_ino == st.st_ino and path.stat().st_size == st.st_size
    result = cached(tmp_path).build(jobs=1)
    assert S000.removeprefix("kb/") in result.recompiled
    assert result.files == clean_files(tmp_path)


def test_what_the_last_validation_read_is_used_only_for_the_chunk_it_was_read_from(kb, tmp_path):
    cached(tmp_path).build(jobs=1)
    edit_title(tmp_path)
    cached(tmp_path).build(jobs=1)  # records what its validation read
    state = cache.load(state_dir(tmp_path), key())
    meta = marshal.loads(index_frames(state_file(tmp_path))[-1])
    reads, owners = marshal.loads((state_dir(tmp_path) / meta["reads"]).read_bytes())
    rel, (chunk, subjects) = next((rel, v) for rel, v in reads.items() if rel != S000.removeprefix("kb/"))
    s = next(iter(subjects))
    unit = state.units[rel]
    assert unit["chunk"] == chunk and state.read_cached(rel, chunk, s) == subjects[s] == unit["contrib"][s]
    assert state.read_cached(rel, "0" * 64, s) is None  # another chunk: read that one
    assert state.read_cached(rel, chunk, "https://example.org/not-in-it") is None


def test_a_build_where_nothing_changed_validates_nothing_and_reports_what_the_last_did(kb, tmp_path, monkeypatch):
    """No subject changed: no focus node, so the SHACL engine is not run (nor its shapes read);
    the report is the last build's results, as a clean build gives them."""
    first = cached(tmp_path).build(jobs=1)
    edit_title(tmp_path)
    edited = cached(tmp_path).build(jobs=1)
    assert edited.recompiled  # the edit was compiled and validated
    from diplokb import validate as validate_module

    def refused(*args, **kwargs):
        raise AssertionError("validate called on a build where nothing changed")

    monkeypatch.setattr(validate_module, "validate", refused)
    again = cached(tmp_path).build(jobs=1)
    monkeypatch.undo()
    assert again.recompiled == ()
    clean = Project.find(ROOT, kb=tmp_path / "kb", out=tmp_path / "clean", cache=False).build(write=False, jobs=1)
    assert warnings(again) == warnings(edited) == warnings(clean)
    assert again.files == clean_files(tmp_path) and warnings(first) == warnings(edited)
