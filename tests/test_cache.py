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


def state_file(tmp_path) -> Path:
    (found,) = (tmp_path / "cache").glob("state-*.marshal")
    return found


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


@pytest.mark.parametrize("where", ["unit", "rendered"])
def test_a_flipped_bit_is_a_warning_and_never_reaches_the_exports(kb, tmp_path, where):
    cached(tmp_path).build(jobs=1)
    path = state_file(tmp_path)
    data = bytearray(path.read_bytes())
    needle = "Kingdom of Cambodia".encode()
    # the first occurrence is in a unit (what a file compiled to), the last in a rendered text
    at = data.find(needle) if where == "unit" else data.rfind(needle)
    assert at > 0
    data[at] ^= 0x20  # 'K' -> 'k': a same-length edit
    path.write_bytes(bytes(data))
    result = cached(tmp_path).build(jobs=1)
    assert any("the build cache is damaged" in w for w in warnings(result))
    assert result.files == clean_files(tmp_path)
    if where == "unit":
        assert len(result.recompiled) == 1  # that unit only is compiled again
    again = cached(tmp_path).build(jobs=1)  # the damaged state was replaced by a good one
    assert warnings(again) == [] and again.recompiled == () and again.files == result.files


@pytest.mark.parametrize("content", [
    b"",
    b"garbage \x00\xff" * 100,
    pickle.dumps(("anything", 1)),
    cache.MAGIC,
    cache.MAGIC + b"\x05\x00",
    cache.MAGIC + frame(marshal.loads(marshal.dumps(compile("print(1)", "x", "exec")))),
    cache.MAGIC + frame((cache.FORMAT, KEY, 10 ** 12, 0)),
    cache.MAGIC + frame((cache.FORMAT, KEY, 0, 1)) + frame({}) + frame(None),  # no frame for the rendered
    cache.MAGIC + frame((cache.FORMAT, KEY, 1, 0)) + frame(("entities/people.yaml", {"yaml": 1}))
    + frame({}) + frame(None),
    cache.MAGIC + frame((cache.FORMAT, KEY, 0, 1)) + frame({}) + frame({"f": "not rows"}) + frame({}),
    cache.MAGIC + frame((cache.FORMAT, KEY, 0, 1)) + frame({}) + frame(None) + frame({"s": ("nt", 1)}),
    cache.MAGIC + frame((cache.FORMAT, KEY, 0, 1)) + frame({}) + frame(None) + raw_frame(b"[\xff\xff\xff\x7f"),
], ids=["empty", "garbage", "pickle", "magic-only", "truncated-frame", "code-object", "huge-count",
        "missing-frames", "unit-of-the-wrong-shape", "results-of-the-wrong-shape", "rendered-of-the-wrong-shape",
        "list-of-2**31-items"])
def test_a_crafted_cache_file_is_a_warning_not_a_traceback(kb, tmp_path, content):
    cached(tmp_path).build(jobs=1)
    path = state_file(tmp_path)
    path.write_bytes(content)
    result = cached(tmp_path).build(jobs=1)
    assert result.files == clean_files(tmp_path)
    assert warnings(result) and all("build cache" in w for w in warnings(result))
    path = cache.state_path(tmp_path / ".diplokb-cache", kb)  # the cache of `diplokb build --kb kb`
    path.parent.mkdir()
    path.write_bytes(content)
    out = CliRunner().invoke(main, ["build", "--kb", str(kb), "--out", str(tmp_path / "out")])
    assert out.exit_code == 0, out.output
    assert "Traceback" not in out.output and f"{path}: warning: " in out.output


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


def test_a_save_that_fails_in_its_process_is_a_warning(kb, tmp_path, monkeypatch):
    def fail(path, state):
        raise MemoryError("no memory left")

    monkeypatch.setattr(cache, "save", fail)
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
    real = incremental.load_file

    def edited_meanwhile(file, *args, **kwargs):
        if Path(file).name == path.name:  # the curator saves again between hashing and loading
            path.write_bytes(original.replace(TITLE.encode(), b"title: Second edit, soon reverted"))
        return real(file, *args, **kwargs)

    monkeypatch.setattr(incremental, "load_file", edited_meanwhile)
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
    # a state edited consistently (digests recomputed, shapes right) that lies about one title
    data = path.read_bytes()
    lie = data.replace(b"Cambodia, China to further deepen", b"Cambodia, China to further weaken")
    assert lie != data
    pos, frames = len(cache.MAGIC), []
    while pos < len(lie):
        size = int.from_bytes(lie[pos:pos + 8], "little")
        frames.append(lie[pos + 40:pos + 40 + size])
        pos += 40 + size
    path.write_bytes(cache.MAGIC + b"".join(len(f).to_bytes(8, "little") + hashlib.sha256(f).digest() + f
                                            for f in frames))
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
    left = tmp_path / "cache" / ".state.abc123"
    left.write_bytes(b"half a state")
    (tmp_path / S000).write_text((tmp_path / S000).read_text().replace(TITLE, "title: Edited"))
    cached(tmp_path).build(jobs=1)
    assert not left.exists()
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [state_file(tmp_path).name]
