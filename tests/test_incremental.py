"""incremental.py and cache.py: a build after edits gives exactly what a clean build of the
same files gives (every export byte, every SHACL result), and redoes only what it must."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from diplokb import BuildError, Project, incremental
from diplokb.synth import generate

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def kb(tmp_path, monkeypatch):
    generate(4000, tmp_path / "kb", seed=5)
    settle(*(tmp_path / "kb").rglob("*.*"))
    monkeypatch.chdir(tmp_path)
    return tmp_path / "kb"


def settle(*paths: Path) -> None:
    """Files as a KB's files usually are: saved more than a moment before the build (a build
    does not record the stat of a file saved within incremental.RACY_NS of its start)."""
    import os
    import time

    then = time.time_ns() - 10 * incremental.RACY_NS
    for path in paths:
        os.utime(path, ns=(then, then))


def check_same_as_clean(kb: Path, tmp_path: Path):
    """Builds with the cache, then clean; returns the cached build's result."""
    cached = Project.find(ROOT, kb=kb, out=tmp_path / "out-cached", cache=tmp_path / "cache").build()
    clean = Project.find(ROOT, kb=kb, out=tmp_path / "out-clean", cache=False).build()
    assert clean.recompiled == tuple(sorted(clean.recompiled, key=lambda r: (r.startswith("sources"), r)))
    assert cached.files.keys() == clean.files.keys()
    for name in clean.files:
        assert cached.files[name] == clean.files[name], name
    assert [r.render() for r in cached.report.results] == [r.render() for r in clean.report.results]
    assert cached.report.results == clean.report.results  # every field, the constraint component too
    shacl = [r for r in clean.report.results if r.shape.startswith('dkbs:')]  # not the curation warnings
    assert all(r.component for r in shacl), [r for r in shacl if not r.component]
    assert cached.summary() == clean.summary()
    return cached


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, count), encoding="utf-8")
    settle(path)


def test_edits_give_what_a_clean_build_gives(kb, tmp_path):
    first = check_same_as_clean(kb, tmp_path)
    assert len(first.recompiled) == len(list(kb.rglob("*.yaml")))
    again = check_same_as_clean(kb, tmp_path)
    assert again.recompiled == ()  # nothing changed: nothing compiled

    # one source's title: that file only
    src = kb / "sources" / "src-000002.yaml"
    edit(src, "title: Synthetic report 2", "title: An edited report")
    assert check_same_as_clean(kb, tmp_path).recompiled == ("sources/src-000002.yaml",)

    # a person's name is in statement labels of other files: those are compiled again
    edit(kb / "entities" / "people.yaml", "id: person-1\n    name: ", "id: person-1\n    name: Renamed ")
    result = check_same_as_clean(kb, tmp_path)
    assert "entities/people.yaml" in result.recompiled and len(result.recompiled) > 2

    # a statement loses its topics: a new warning, found by the incremental validation
    edit(src, "topics: [", "topics: []\n    note: was [", 1)
    result = check_same_as_clean(kb, tmp_path)
    assert any("no topic" in r.message for r in result.report.warnings)

    # a file goes away, then comes back
    moved = tmp_path / "aside.yaml"
    shutil.move(kb / "sources" / "src-000003.yaml", moved)
    check_same_as_clean(kb, tmp_path)
    shutil.move(moved, kb / "sources" / "src-000003.yaml")
    check_same_as_clean(kb, tmp_path)

    # the archived text changes under a quote: an error; put back, the build is as before
    text = kb / "sources" / "src-000001.txt"
    original = text.read_text(encoding="utf-8")
    text.write_text(original.replace("(record 1.0)", "(record one)"), encoding="utf-8")
    with pytest.raises(BuildError, match="problem"):
        Project.find(ROOT, kb=kb, out=tmp_path / "out-cached", cache=tmp_path / "cache").build()
    text.write_text(original, encoding="utf-8")
    assert check_same_as_clean(kb, tmp_path).recompiled == ()


def test_edits_of_the_real_kb(tmp_path, monkeypatch):
    shutil.copytree(ROOT / "kb", tmp_path / "kb")
    monkeypatch.chdir(tmp_path)
    kb = tmp_path / "kb"
    check_same_as_clean(kb, tmp_path)
    people = kb / "entities" / "people.yaml"
    edit(people, "name: Hun Sen", "name: HUN Sen")  # in labels of statements of several sources
    result = check_same_as_clean(kb, tmp_path)
    assert len(result.recompiled) > 2
    # a source's date moves: attestations dated by it, and the checks on them, follow
    src = next((kb / "sources").glob("004_*.yaml"))
    text = src.read_text(encoding="utf-8")
    import re
    date = re.search(r"^  date: (\S+)", text, re.M).group(1)
    edit(src, f"  date: {date}", f"  date: {date[:7]}")
    check_same_as_clean(kb, tmp_path)


def test_a_violation_fails_the_cached_build_and_is_not_remembered(kb, tmp_path):
    check_same_as_clean(kb, tmp_path)
    src = kb / "sources" / "src-000000.yaml"
    original = src.read_text(encoding="utf-8")
    # an event that ends before it starts: only SHACL sees it
    import re
    day = re.search(r"^    date: (\d{4}-\d\d-\d\d)\n    status", original, re.M).group(1)
    edit(src, f"    date: {day}\n    status", f"    date: {day}/2001-01-01\n    status")
    project = Project.find(ROOT, kb=kb, out=tmp_path / "out-cached", cache=tmp_path / "cache")
    for _ in range(2):  # the failed build left no state behind that would hide the violation
        with pytest.raises(BuildError) as exc:
            project.build()
        assert "end date 2001-01-01 is before start date" in exc.value.render()
    src.write_text(original, encoding="utf-8")
    check_same_as_clean(kb, tmp_path)


def test_a_changed_shapes_file_or_corrupt_cache_means_a_clean_build(kb, tmp_path):
    check_same_as_clean(kb, tmp_path)
    states = list((tmp_path / "cache").glob("state-*"))
    assert len(states) == 1
    index = states[0] / "index"
    index.write_bytes(index.read_bytes()[:1000])  # truncated
    result = check_same_as_clean(kb, tmp_path)
    assert len(result.recompiled) == len(list(kb.rglob("*.yaml")))


def test_the_default_cache_lives_beside_the_kb(tmp_path):
    project = Project.find(ROOT, kb=tmp_path / "kb")
    assert project.cache == tmp_path / ".diplokb-cache"
    assert Project.find(ROOT).cache == ROOT / ".diplokb-cache"
    assert Project.find(ROOT, cache=False).cache is None


def test_curation_warnings_are_kept_by_digest_and_follow_edits(kb, tmp_path, monkeypatch):
    from diplokb import advice

    check_same_as_clean(kb, tmp_path)
    src = kb / "sources" / "src-000002.yaml"
    src.write_text("# TODO: check the title\n" + src.read_text(encoding="utf-8"), encoding="utf-8")
    (kb / "sources" / "zz-orphan.txt").write_text("a text no YAML names\n", encoding="utf-8")
    settle(src, kb / "sources" / "zz-orphan.txt")
    result = check_same_as_clean(kb, tmp_path)
    messages = [(r.location.file, r.message) for r in result.report.warnings]
    assert (str(Path("kb/sources/src-000002.yaml")), "still to do: check the title") in messages
    assert any(m.startswith("archived text with no source YAML") for _, m in messages)

    # another file edited: only its text is looked at again, the TODO above comes from the cache
    seen = []
    real = advice.file_advice
    monkeypatch.setattr(advice, "file_advice", lambda text, is_source: seen.append(text) or real(text, is_source))
    edit(kb / "sources" / "src-000001.yaml", "title: Synthetic report 1", "title: Edited")
    cached = Project.find(ROOT, kb=kb, out=tmp_path / "out-cached", cache=tmp_path / "cache").build()
    assert len(seen) == 1 and "title: Edited" in seen[0]
    assert [r.message for r in cached.report.warnings if r.location.file.endswith("src-000002.yaml")] == [
        "still to do: check the title"]
    monkeypatch.setattr(advice, "file_advice", real)
    check_same_as_clean(kb, tmp_path)

    # the TODO done, and the orphan text named by nobody still: the cached build follows
    edit(src, "# TODO: check the title\n", "")
    result = check_same_as_clean(kb, tmp_path)
    assert not any("still to do" in r.message for r in result.report.warnings)
    assert any(r.message.startswith("archived text with no source YAML") for r in result.report.warnings)
