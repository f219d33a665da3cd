"""cache_index.py, cache_maps.py, incremental_maps.py: a build with the cache reads a light
table of every file and, for the rest, what the edit touches (issue 18): per-file entries, the
KB-wide maps of ids, owners and lookers, the curation warnings. Every answer stays the clean
build's: errors (duplicate and unknown ids), warnings, exports."""
from __future__ import annotations

import hashlib
import marshal
import os
import shutil
from pathlib import Path

import pytest

from diplokb import BuildError, Project, cache, cache_index, incremental, index
from diplokb.loader import kb_files, stray_files
from diplokb.synth import generate

from test_cache import index_frames
from test_incremental import check_same_as_clean, edit, settle

ROOT = Path(__file__).resolve().parents[1]
real_build_index = index.build_index


def synthetic(folder: Path, triples: int) -> Path:
    generate(triples, folder / "kb", seed=5)
    settle(*(folder / "kb").rglob("*.*"))
    return folder / "kb"


def cached(kb: Path, folder: Path):
    return Project.find(ROOT, kb=kb, out=folder / "out-cached", cache=folder / "cache")


def clean(kb: Path, folder: Path):
    return Project.find(ROOT, kb=kb, out=folder / "out-clean", cache=False)


def state_dir(folder: Path) -> Path:
    (found,) = (folder / "cache").glob("state-*")
    return found


def counting(monkeypatch) -> list:
    """The names of the chunks read (cache.Chunks.read), from now on."""
    names: list = []
    real = cache.Chunks.read

    def read(self, name, check):
        names.append(name)
        return real(self, name, check)

    monkeypatch.setattr(cache.Chunks, "read", read)
    return names


def rebuild_reads(tmp_path, monkeypatch, triples: int) -> tuple[int, int, bytes]:
    """(files, chunks read by a rebuild after a comment added to one source, the index)."""
    folder = tmp_path / str(triples)
    kb = synthetic(folder, triples)
    cached(kb, folder).build(jobs=1)
    src = kb / "sources" / "src-000002.yaml"
    src.write_text(src.read_text(encoding="utf-8") + "# a comment\n", encoding="utf-8")
    settle(src)
    names = counting(monkeypatch)
    result = cached(kb, folder).build(jobs=1)
    monkeypatch.undo()
    assert result.recompiled == ("sources/src-000002.yaml",)
    assert result.files == clean(kb, folder).build(write=False, jobs=1).files
    return len(list(kb.rglob("*.yaml"))), len(names), (state_dir(folder) / "index").read_bytes()


def test_a_rebuild_reads_what_the_edit_touches_not_every_file(tmp_path, monkeypatch):
    small_files, small_reads, _ = rebuild_reads(tmp_path, monkeypatch, 3000)
    big_files, big_reads, index = rebuild_reads(tmp_path, monkeypatch, 30000)
    assert big_files > 5 * small_files
    # the edited file's entry, chunk and rendered texts, the owners of its subjects, the
    # curation warnings, the results: the same whatever the KB's size
    assert big_reads <= small_reads + 5 and big_reads < big_files / 4, (small_reads, big_reads)
    # the index holds no file's defines, lookups or subjects: no title, no id looked up
    frames = index_frames(index)
    table = b"".join(frames[2:-1])
    assert b"Synthetic report" not in b"".join(frames[:-1]) and b"person-1" not in b"".join(frames[:-1])
    assert len(table) < 600 * big_files  # five digests (hex), two stats, a path


def errors(project) -> list[str]:
    with pytest.raises(BuildError) as exc:
        project.build(jobs=1)
    return [p.render() for p in exc.value.problems]


@pytest.mark.parametrize("case", ["later-file", "earlier-file", "same-file"])
def test_a_duplicate_id_from_an_edit_is_reported_as_a_clean_build_reports_it(tmp_path, monkeypatch, case):
    """The id index is the saved map with the edit's changes: a duplicate whose first
    definition is in an unchanged file (or whose duplicate is, the edited file coming first)
    is reported at the same places, in the same order, with the same words."""
    kb = synthetic(tmp_path, 4000)
    monkeypatch.chdir(tmp_path)
    check_same_as_clean(kb, tmp_path)
    target = {"later-file": "src-000002", "earlier-file": "src-000000", "same-file": "src-000001"}[case]
    src = kb / "sources" / f"{target}.yaml"
    original = src.read_text(encoding="utf-8")
    edit(src, f"  - id: {target}-e1\n", "  - id: src-000001-e0\n")
    with monkeypatch.context() as m:  # the index is not made again from every file's defines
        m.setattr(incremental, "build_index", None, raising=False)
        m.setattr(index, "build_index", None)
        found = errors(cached(kb, tmp_path))
    assert found == errors(clean(kb, tmp_path))
    assert [p for p in found if "duplicate id" in p] == reference_duplicates(kb)
    assert any("duplicate id 'src-000001-e0'" in p for p in found)
    src.write_text(original, encoding="utf-8")  # taken back: the bytes the state has
    settle(src)
    assert check_same_as_clean(kb, tmp_path).recompiled == ()


def reference_duplicates(kb: Path) -> list[str]:
    """The duplicate-id problems index.build_index gives over every file's defines."""
    from diplokb.loader import load_file
    from diplokb.vocabularies import load_vocabularies

    vocabularies = load_vocabularies(ROOT / "ontology" / "vocabularies.ttl")
    units = [index.defines(load_file(Path(path), os.path.relpath(path), [], vocabularies, is_source, root=kb))
             for _, path, is_source in kb_files(kb)]
    return [p.render() for p in real_build_index(units)[1]]


def test_a_define_removed_by_an_edit_gives_the_clean_builds_errors(tmp_path, monkeypatch):
    """The files that looked up an id (the map of lookers) are compiled again when its entry
    goes: their references are the clean build's errors; put back, the build is as before."""
    kb = synthetic(tmp_path, 4000)
    monkeypatch.chdir(tmp_path)
    check_same_as_clean(kb, tmp_path)
    people = kb / "entities" / "people.yaml"
    edit(people, "  - id: person-1\n", "  - id: person-1-renamed\n")
    found = errors(cached(kb, tmp_path))
    assert found == errors(clean(kb, tmp_path))
    assert any("person-1" in p for p in found)
    edit(people, "  - id: person-1-renamed\n", "  - id: person-1\n")
    check_same_as_clean(kb, tmp_path)
    # a duplicate of an entity id that other files look up, then a define moved between files
    edit(people, "  - id: person-2\n", "  - id: person-1\n")
    assert errors(cached(kb, tmp_path)) == errors(clean(kb, tmp_path))
    edit(people, "  - id: person-1\n", "  - id: person-2\n", count=2)  # both: person-1 goes
    assert errors(cached(kb, tmp_path)) == errors(clean(kb, tmp_path))
    text = people.read_text(encoding="utf-8")
    edit(people, "  - id: person-2\n", "  - id: person-1\n")  # the first back, as before
    assert text != people.read_text(encoding="utf-8")
    check_same_as_clean(kb, tmp_path)


def test_curation_warnings_added_and_removed_by_edits_are_the_clean_builds(tmp_path, monkeypatch):
    kb = synthetic(tmp_path, 4000)
    monkeypatch.chdir(tmp_path)
    check_same_as_clean(kb, tmp_path)
    people = kb / "entities" / "people.yaml"
    src = kb / "sources" / "src-000003.yaml"
    edit(people, "  - id: person-1\n", "  - id: person-1  # TODO: check the spelling\n")
    edit(src, "  title: ", "  # TODO: a better title\n  title: ")
    result = check_same_as_clean(kb, tmp_path)
    assert sorted(result.recompiled) == ["entities/people.yaml", "sources/src-000003.yaml"]
    assert len([r for r in result.report.warnings if "still to do" in r.message]) == 2
    (kb / "sources" / "src-000003.txt").rename(tmp_path / "aside.txt")  # its source now fails...
    shutil.move(src, tmp_path / "aside.yaml")  # ... so it goes too
    (kb / "sources" / "zz-orphan.txt").write_text("a text no YAML names\n", encoding="utf-8")
    settle(kb / "sources" / "zz-orphan.txt")
    result = check_same_as_clean(kb, tmp_path)
    assert [r.message for r in result.report.warnings if "still to do" in r.message] == [
        "still to do: check the spelling"]
    assert any(r.message.startswith("archived text with no source YAML") for r in result.report.warnings)
    edit(people, "  # TODO: check the spelling\n", "\n")
    (kb / "sources" / "zz-orphan.txt").unlink()
    result = check_same_as_clean(kb, tmp_path)
    assert result.report.warnings == ()


def test_an_older_format_is_a_clean_build_without_error(kb, tmp_path):
    """A state of format 4 (the index of frames per file) is not read: a notice, a clean
    build, and a state of this format after it."""
    project = Project.find(ROOT, kb=kb, out=tmp_path / "out", cache=tmp_path / "cache")
    project.build(jobs=1)
    index = state_dir(tmp_path) / "index"

    def frame(value) -> bytes:
        payload = marshal.dumps(value)
        return len(payload).to_bytes(8, "little") + hashlib.sha256(payload).digest() + payload

    key = cache.code_key([*project.ontology_files, project.shapes_file])
    index.write_bytes(b"diplokb build cache 4\n" + frame((4, key, 0)) + frame({"results": "0" * 64}))
    result = project.build(jobs=1)
    assert [n.message for n in result.notices] == [
        "the build cache is not a diplokb state (an older format or another file); it is ignored: a clean build"]
    assert len(result.recompiled) == len(list(kb.rglob("*.yaml")))
    assert index.read_bytes().startswith(cache.MAGIC)
    assert project.build(jobs=1).notices == ()


def test_a_save_removes_what_the_previous_one_retired_without_listing_the_folder(tmp_path, monkeypatch):
    kb = synthetic(tmp_path, 3000)
    monkeypatch.chdir(tmp_path)
    cached(kb, tmp_path).build(jobs=1)
    folder = state_dir(tmp_path)
    key = cache.load(folder, "").key or cache.code_key(
        [*cached(kb, tmp_path).ontology_files, cached(kb, tmp_path).shapes_file])
    src = kb / "sources" / "src-000002.yaml"
    listed = []
    real = os.listdir
    monkeypatch.setattr(cache_index.os, "listdir",
                        lambda p=".": listed.append(os.fspath(p)) or real(p))
    for i in range(3):
        before = cache.load(folder, key)
        edit(src, "title: Synthetic report 2", f"title: Synthetic report 2 edit {i}")
        result = cached(kb, tmp_path).build(jobs=1)
        assert i == 0 or result.notices == ()
        after = cache.load(folder, key)
        on_disk = {n for n in real(folder) if len(n) == 64}
        assert on_disk == cache_index._names_of(before) | cache_index._names_of(after)
        assert set(after.names["retired"]) == cache_index._names_of(before) - cache_index._names_of(after)
        assert not (folder / cache_index.SAVING).exists()
        edit(src, f"title: Synthetic report 2 edit {i}", "title: Synthetic report 2")
    assert os.fspath(folder) not in listed


def test_kb_files_and_stray_files_find_what_pathlib_found(tmp_path):
    """The names Path.glob('*.yaml') gave, in the order of the sorted Paths, for names a str
    sort could order differently, hidden files, folders, symlinks; rglob's '.yml' files."""
    kb = tmp_path / "kb"
    (kb / "entities").mkdir(parents=True)
    (kb / "sources" / "deeper").mkdir(parents=True)
    names = ["a.yaml", "a-b.yaml", "a_b.yaml", "B.yaml", ".hidden.yaml", "é.yaml", "a.yaml.yaml", "x.YAML",
             "x.yml", "z.txt"]
    for sub in ("entities", "sources"):
        for n in names:
            (kb / sub / n).write_text("x: 1\n")
    (kb / "sources" / "dir.yaml").mkdir()
    (kb / "sources" / "link.yaml").symlink_to(kb / "entities" / "a.yaml")
    (kb / "sources" / "deeper" / "d.yml").write_text("x: 1\n")
    (kb / "sources" / "up").symlink_to(kb / "entities")  # rglob does not follow it
    expected = [(f"{sub}/{p.name}", p, sub == "sources") for sub in ("entities", "sources")
                for p in sorted((kb / sub).glob("*.yaml"))]
    assert [(rel, Path(path), s) for rel, path, s in kb_files(kb)] == expected
    assert [p.location.file for p in stray_files(kb, tmp_path)] == [
        os.path.relpath(p, tmp_path) for p in sorted(kb.rglob("*.yml"))]


def test_many_files_edited_with_two_processes_update_the_maps_as_one_does(tmp_path, monkeypatch):
    """With two jobs and many files to compile, each process makes the id index from the
    saved map and every loaded file's defines (theirs and its own): the same index, the same
    duplicate-id problems, the same maps saved."""
    from diplokb import incremental as inc, workers

    if not workers.CAN_FORK:
        pytest.skip("no fork here")
    kb = synthetic(tmp_path, 12000)
    monkeypatch.chdir(tmp_path)
    cached(kb, tmp_path).build(jobs=2)
    sources = sorted((kb / "sources").glob("*.yaml"))[:inc.SPLIT_MIN + 6]
    for path in sources:
        edit(path, "  title: Synthetic report", "  title: Edited synthetic report")
    result = cached(kb, tmp_path).build(jobs=2)
    assert len(result.recompiled) >= len(sources)
    assert result.files == clean(kb, tmp_path).build(write=False, jobs=1).files
    last = sources[-1]
    original = last.read_text(encoding="utf-8")
    edit(last, f"  - id: {last.stem}-e0\n", "  - id: src-000001-e0\n")  # a duplicate, and the titles back
    for path in sources[:-1]:
        edit(path, "  title: Edited synthetic report", "  title: Synthetic report")
    with pytest.raises(BuildError) as two:
        cached(kb, tmp_path).build(jobs=2)
    assert [p.render() for p in two.value.problems] == errors(clean(kb, tmp_path))
    last.write_text(original, encoding="utf-8")
    settle(last)
    for path in sources[-1:]:
        edit(path, "  title: Edited synthetic report", "  title: Synthetic report")
    assert check_same_as_clean(kb, tmp_path).files == clean(kb, tmp_path).build(write=False, jobs=1).files


def test_a_build_that_validated_nothing_keeps_what_the_last_validation_read(tmp_path, monkeypatch):
    """A rebuild after an edit reads the triples its validation needs from the `reads` chunk
    the last validation wrote; a build in between that changed nothing keeps that chunk (it
    used to write an empty one, and the next edit read every file's triples again)."""
    kb = synthetic(tmp_path, 8000)
    monkeypatch.chdir(tmp_path)
    # the HOPS rule's wide reads (the shapes' analysis reads two subjects for a title edit, so
    # the chunk would make no difference to count): what a wider edit's validation reads
    from diplokb import affected
    monkeypatch.setattr(affected, "affected", lambda build, *_: affected.by_hops(build))
    cached(kb, tmp_path).build(jobs=1)
    src = kb / "sources" / "src-000002.yaml"
    edit(src, "title: Synthetic report 2", "title: First edit")
    names = counting(monkeypatch)
    cached(kb, tmp_path).build(jobs=1)  # reads every file's triples (none recorded after a clean build)
    first = len(names)
    edit(src, "title: First edit", "title: Second edit")
    names.clear()
    cached(kb, tmp_path).build(jobs=1)
    after_edit = len(names)
    assert cached(kb, tmp_path).build(jobs=1).recompiled == ()  # nothing changed
    edit(src, "title: Second edit", "title: Third edit")
    names.clear()
    result = cached(kb, tmp_path).build(jobs=1)
    monkeypatch.undo()
    files = len(list(kb.rglob("*.yaml")))
    assert first > files and len(names) <= after_edit + 2 < first - files / 2, (first, after_edit, len(names), files)
    assert result.files == clean(kb, tmp_path).build(write=False, jobs=1).files
