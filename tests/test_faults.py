"""Faults in the inputs and while writing the exports (docs/faults.md): each one is refused with a
message at file:line:col, or survived, and never ends in wrong exports or a traceback.

Each test builds a copy of the real KB (or writes exports with write_atomically directly) and
injects one fault: a bad value, a file that must not be read, an empty KB, a failing or killed
write."""
from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from diplokb import BuildError, Project, files as diplokb_files
from diplokb.cli import main
from diplokb.errors import DiplokbError
from diplokb.lexical import LANGUAGE_TAG_RE

ROOT = Path(__file__).resolve().parents[1]
S000 = "kb/sources/000_2314cb523628f110.yaml"
T000 = "kb/sources/000_2314cb523628f110.txt"


def project(tmp_path, out="out", cache=False):
    return Project.find(ROOT, kb=tmp_path / "kb", out=tmp_path / out, cache=cache)


def edit(path, old: str, new: str) -> None:
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    assert text.count(old) >= 1, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def problems_of(tmp_path, **kw) -> list[str]:
    with pytest.raises(BuildError) as err:
        project(tmp_path, **kw).build(jobs=1)
    return [p.render() for p in err.value.problems]


def snapshot(folder: Path) -> dict:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.iterdir())}


# -- values: whole matches, ASCII digits, bounded ---------------------------------------------

VALUE_CASES = [
    # an id ending in a newline used to build (exit 0) and write N-Triples that do not parse
    ("kb/entities/people.yaml", "  - id: hun-sen\n", '  - id: "zz-a\\n"\n    name: Zed\n  - id: hun-sen\n',
     "kb/entities/people.yaml:5:9: error: 'zz-a\\n' is not a valid id "
     "(use lower-case letters, digits and single hyphens, e.g. 'hun-sen')"),
    ("kb/entities/things.yaml", "ordinal: 65", "ordinal: ²",
     "kb/entities/things.yaml:74:14: error: 'ordinal' must be a whole number, got '²' "
     "('²' is SUPERSCRIPT TWO: write the ASCII digits 0-9)"),
    ("kb/entities/things.yaml", "ordinal: 65", "ordinal: " + "9" * 5000,
     "kb/entities/things.yaml:74:14: error: 'ordinal' must be a whole number, got '" + "9" * 40
     + "'… (5,000 characters) (at most 40 characters)"),
    ("kb/entities/things.yaml", "ordinal: 65", "ordinal: ٦٥",
     "kb/entities/things.yaml:74:14: error: 'ordinal' must be a whole number, got '٦٥' "
     "('٦' is ARABIC-INDIC DIGIT SIX: write the ASCII digits 0-9)"),
    (S000, "    value: 84\n", '    value: "84\\n"\n',
     f"{S000}:44:12: error: 'value' must be a number written with digits, got '84\\n' "
     "(remove the spaces or line breaks around it)"),
    (S000, "    value: 84\n", "    value: ٨٤\n",
     f"{S000}:44:12: error: 'value' must be a number written with digits, got '٨٤' "
     "('٨' is ARABIC-INDIC DIGIT EIGHT: write the ASCII digits 0-9)"),
    (S000, "    value: 84\n", "    value: 1" + "0" * 5000 + "\n",
     f"{S000}:44:12: error: 'value' must be a number written with digits, got '1" + "0" * 39
     + "'… (5,001 characters) (at most 40 characters)"),
    (S000, "  date: 2023-07-24\n", "  date: ٢٠٢٣-٠٧-٢٤\n",
     f"{S000}:7:9: error: 'date': '٢٠٢٣-٠٧-٢٤' is not a date "
     "('٢' is ARABIC-INDIC DIGIT TWO: write the ASCII digits 0-9)"),
    (S000, "  date: 2023-07-24\n", '  date: "2023-07-24\\n"\n',
     f"{S000}:7:9: error: 'date': '2023-07-24\\n' is not a date "
     "(remove the spaces or line breaks around it)"),
    (S000, "  text_file:", '  language: "en\\n"\n  text_file:',
     f"{S000}:9:13: error: 'language': 'en\\n' is not a BCP 47 language tag (e.g. 'en', 'km', 'zh-Hans')"),
    (S000, "  text_file:", "  language: en_GB\n  text_file:",
     f"{S000}:9:13: error: 'language': 'en_GB' is not a BCP 47 language tag (e.g. 'en', 'km', 'zh-Hans')"),
]


@pytest.mark.parametrize("file, old, new, expected", VALUE_CASES,
                         ids=["id-newline", "superscript", "5000-digits", "arabic-ordinal", "value-newline",
                              "arabic-value", "5001-digit-value", "arabic-date", "date-newline",
                              "language-newline", "language-underscore"])
def test_values_are_checked_whole_and_in_ascii(kb, tmp_path, file, old, new, expected):
    edit(tmp_path / file, old, new)
    assert problems_of(tmp_path) == [expected]
    assert not (tmp_path / "out").exists()  # nothing written


def test_a_reference_with_a_newline_is_reported_on_one_line(kb, tmp_path):
    edit(tmp_path / S000, "    venue: mfaic\n", '    venue: "mfaic\\n"\n')
    assert problems_of(tmp_path) == [
        f"{S000}:19:12: error: unknown organization or place 'mfaic\\n' (did you mean 'mfaic'?)"]


def test_values_in_their_lexical_forms_still_build(kb, tmp_path):
    edit(kb / "entities/things.yaml", "ordinal: 65", "ordinal: 065")  # read as 65, as before
    edit(tmp_path / S000, "  text_file:", "  language: en-GB\n  text_file:")
    result = project(tmp_path).build(jobs=1)
    nt = result.files["diplokb.nt"].decode()
    assert '"65"^^<http://www.w3.org/2001/XMLSchema#integer>' in nt
    assert '<http://purl.org/dc/terms/language> "en-GB" .' in nt


@pytest.mark.parametrize("tag", ["en", "km", "zh-Hans", "zh-Hans-CN", "sr-Latn-RS", "de-CH-1901", "es-419",
                                 "en-US-x-twain", "x-private", "i-klingon", "en-GB-oed", "EN-gb"])
def test_bcp47_tags_are_accepted(tag):
    assert LANGUAGE_TAG_RE.fullmatch(tag)


@pytest.mark.parametrize("tag", ["", "e", "en-", "-en", "en--us", "en_US", "en\n", "ençais", "en-x", "toolongtag",
                                 "en-a", "zh-Hans-Hant-CN-"])
def test_malformed_tags_are_refused(tag):
    assert not LANGUAGE_TAG_RE.fullmatch(tag)


# -- files: regular, inside the KB, bounded ---------------------------------------------------

TEXT_LINE = "  text_file: 000_2314cb523628f110.txt"


@pytest.mark.parametrize("name, reason", [
    ("/etc/passwd", "must be a path relative to this YAML file, inside the KB folder (no '..', not absolute)"),
    ("../../../../../../etc/passwd", "must be a path relative to this YAML file, inside the KB folder"),
    ("/dev/zero", "must be a path relative to this YAML file"),
])
def test_text_file_must_name_a_file_inside_the_kb(kb, tmp_path, name, reason):
    edit(tmp_path / S000, TEXT_LINE, f"  text_file: {name}")
    (found,) = problems_of(tmp_path)
    assert found.startswith(f"{S000}:9:14: error: text_file '{name}' ") and reason in found


@pytest.mark.parametrize("target, reason", [
    ("/etc/passwd", "it is outside the KB folder (a symlink out of it?)"),
    ("/dev/zero", "it is outside the KB folder"),
])
def test_symlinks_out_of_the_kb_are_refused(kb, tmp_path, target, reason):
    (kb / "sources" / "linked.txt").symlink_to(target)
    edit(tmp_path / S000, TEXT_LINE, "  text_file: linked.txt")
    (found,) = problems_of(tmp_path)
    assert found.startswith(f"{S000}:9:14: error: archived text 'linked.txt' refused: {reason}")


def test_devices_fifos_and_folders_are_not_read(kb, tmp_path):
    # inside the KB folder, but not regular files: a FIFO would block, a device never end
    os.mkfifo(kb / "sources" / "fifo.txt")
    (kb / "sources" / "folder.txt").mkdir()
    original = (tmp_path / S000).read_text(encoding="utf-8")
    for name in ("fifo.txt", "folder.txt"):
        (tmp_path / S000).write_text(original.replace(TEXT_LINE, f"  text_file: {name}"), encoding="utf-8")
        assert problems_of(tmp_path) == [
            f"{S000}:9:14: error: archived text '{name}' refused: it is not a regular file "
            "(archived texts are regular files inside the KB folder, at most 8,388,608 bytes)"]


def test_a_yaml_file_that_is_a_device_or_too_big_is_refused(kb, tmp_path):
    (kb / "entities" / "zero.yaml").symlink_to("/dev/zero")
    big = kb / "entities" / "big.yaml"
    big.write_bytes(b"# " + b"x" * diplokb_files.MAX_YAML_BYTES + b"\n")
    big_text = kb / "sources" / "000_2314cb523628f110.txt"
    big_text.write_bytes(b"y" * (diplokb_files.MAX_TEXT_BYTES + 1))
    assert problems_of(tmp_path) == [
        "kb/entities/big.yaml: error: KB file refused: it is 4,194,307 bytes, over the limit of 4,194,304",
        "kb/entities/zero.yaml: error: KB file refused: it is outside the KB folder (a symlink out of it?)",
        f"{S000}:9:14: error: archived text '000_2314cb523628f110.txt' refused: it is 8,388,609 bytes, over "
        "the limit of 8,388,608 (archived texts are regular files inside the KB folder, at most 8,388,608 bytes)",
    ]


def test_invalid_utf8_is_reported_at_line_and_column(kb, tmp_path):
    path = tmp_path / S000
    data = path.read_bytes().replace(b"dateline: Phnom Penh", b"dateline: Phnom \xe9Penh", 1)
    path.write_bytes(data)
    text = tmp_path / T000
    text.write_bytes(text.read_bytes() + "\nsecond line, caf\u00e9 \xff\n".encode("latin-1"))
    lines = text.read_bytes().split(b"\n")
    # (the other files' references to what the unreadable file defines are reported too)
    assert (f"{S000}:8:19: error: not UTF-8 text: byte 0xe9 (invalid continuation byte) (save the file as UTF-8)"
            in problems_of(tmp_path))
    path.write_bytes(data.replace(b"\xe9", b""))
    assert problems_of(tmp_path) == [
        f"{T000}:{len(lines) - 1}:17: error: not UTF-8 text: byte 0xe9 (invalid continuation byte) "
        "(save the file as UTF-8)",
    ]


def test_an_empty_kb_folder_is_refused_and_nothing_is_written(kb, tmp_path):
    project(tmp_path).build(jobs=1)
    before = snapshot(tmp_path / "out")
    empty = tmp_path / "empty"
    (empty / "entities").mkdir(parents=True)
    (empty / "sources").mkdir()
    for kb_dir in (empty, empty / "entities"):
        p = Project.find(ROOT, kb=kb_dir, out=tmp_path / "out", cache=False)
        with pytest.raises(BuildError) as err:
            p.build()
        assert "no source files in this KB folder: nothing to build" in err.value.render()
    shutil.copy(kb / "entities" / "people.yaml", empty / "entities")  # entities alone: still no sources
    result = CliRunner().invoke(main, ["build", "--kb", str(empty), "--out", str(tmp_path / "out"), "--no-cache"])
    assert result.exit_code == 1 and "nothing was written" in result.output
    assert snapshot(tmp_path / "out") == before


# -- exports: all or nothing --------------------------------------------------------------------

OLD = {"a.nt": b"old a\n", "b.ttl": b"old b\n", "void.ttl": b"old void\n"}
NEW = {"a.nt": b"new a\n", "b.ttl": b"new b\n", "c.trig": b"new c\n", "void.ttl": b"new void\n"}


def _contents(folder: Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _fail_on(monkeypatch, module, name, n):
    """Makes module.name raise OSError on its n-th call."""
    real = getattr(module, name)
    calls = []

    def failing(*args, **kwargs):
        calls.append(args)
        if len(calls) == n:
            raise OSError(30, "Read-only file system", str(args[0]) if args else None)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, failing)
    return calls


@pytest.mark.parametrize("exchange, step, n", [
    (True, "open", 1), (True, "open", 3), (True, "carry", 2), (True, "swap", 1),
    (False, "open", 3), (False, "carry", 1), (False, "swap", 1), (False, "rename", 2)])
def test_a_failed_write_leaves_the_old_exports_whole(tmp_path, monkeypatch, exchange, step, n):
    out = tmp_path / "exports"
    diplokb_files.write_atomically(out, OLD)
    (out / "keep.txt").write_bytes(b"not ours\n")
    old = _contents(out)
    if not exchange:
        monkeypatch.setattr(diplokb_files, "_exchange", lambda a, b: False)
    if step == "swap":
        _fail_on(monkeypatch, diplokb_files, "_exchange" if exchange else "_swap_in", 1)
    elif step == "carry":  # carrying over a file it keeps (a hard link, else a copy)
        _fail_on(monkeypatch, diplokb_files, "_link_or_copy", n)
    elif step == "rename":
        _fail_on(monkeypatch, diplokb_files.os, "rename", 2)  # the second rename: rolled back
    else:
        _fail_on(monkeypatch, diplokb_files.os, step, n)
    with pytest.raises(OSError):
        diplokb_files.write_atomically(out, {k: v for k, v in NEW.items() if k != "b.ttl"}, known=tuple(NEW))
    assert _contents(out) == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exports"]  # no staging folder left
    monkeypatch.undo()
    diplokb_files.write_atomically(out, {k: v for k, v in NEW.items() if k != "b.ttl"}, known=tuple(NEW))
    assert _contents(out) == {**OLD, **{k: v for k, v in NEW.items() if k != "b.ttl"}, "keep.txt": b"not ours\n"}


def test_a_folder_that_holds_folders_is_not_replaced(kb, tmp_path):
    (tmp_path / "kb" / "exports.ttl").write_text("not an export")
    with pytest.raises(DiplokbError, match=r"it holds folders \(entities, sources\), so it is not a folder of "
                                           "exports only"):
        Project.find(ROOT, kb=tmp_path / "kb", out=tmp_path / "kb", cache=False).build(jobs=1)
    assert sorted(p.name for p in (tmp_path / "kb").iterdir()) == ["entities", "exports.ttl", "sources"]


def test_unchanged_exports_keep_their_files_and_the_exchange_is_one_step(tmp_path):
    out = tmp_path / "exports"
    diplokb_files.write_atomically(out, OLD)
    inode = (out / "b.ttl").stat().st_ino
    diplokb_files.write_atomically(out, {"a.nt": b"new a\n"})
    assert (out / "b.ttl").stat().st_ino == inode  # carried over, not rewritten
    a, b = tmp_path / "x", tmp_path / "y"
    a.mkdir(), b.mkdir()
    (a / "f").write_text("a"), (b / "f").write_text("b")
    try:
        swapped = diplokb_files._exchange(a, b)
    except OSError:
        swapped = False
    if swapped:  # Linux: both names exist at every instant, exchanged
        assert (a / "f").read_text() == "b" and (b / "f").read_text() == "a"


def test_a_failed_build_write_is_an_error_and_the_exports_stay(kb, tmp_path, monkeypatch):
    project(tmp_path).build(jobs=1)
    before = snapshot(tmp_path / "out")
    edit(tmp_path / S000, "title: Cambodia, China to further", "title: Cambodia and China to further")
    _fail_on(monkeypatch, diplokb_files, "_swap_in", 1)
    with pytest.raises(DiplokbError, match="cannot write the exports in .*; the exports were left as they were"):
        project(tmp_path).build(jobs=1)
    assert snapshot(tmp_path / "out") == before
    _fail_on(monkeypatch, diplokb_files, "_swap_in", 1)
    result = CliRunner().invoke(main, ["build", "--kb", str(kb), "--out", str(tmp_path / "out"), "--no-cache"])
    assert result.exit_code == 1 and "Error: cannot write the exports" in result.output
    assert "Traceback" not in result.output
    assert snapshot(tmp_path / "out") == before


def test_a_killed_build_leaves_nothing_that_the_next_build_keeps(kb, tmp_path):
    project(tmp_path).build(jobs=1)
    before = _contents(tmp_path / "out")
    edit(tmp_path / S000, "title: Cambodia, China to further", "title: Cambodia and China to further")
    pid = os.fork()
    if pid == 0:  # the build is killed after staging the new set, before the swap
        try:
            diplokb_files._swap_in = lambda *a: os._exit(9)
            project(tmp_path).build(jobs=1)
        finally:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 9
    assert _contents(tmp_path / "out") == before  # the old set, whole
    assert [p.name for p in tmp_path.glob(".out.new-*")]  # what the killed build left
    (tmp_path / "out" / ".diplokb.nt.k3l4m5").write_bytes(b"half")  # an older writer's temporary
    result = project(tmp_path).build(jobs=1)
    assert not list(tmp_path.glob(".out.*")) and not (tmp_path / "out" / ".diplokb.nt.k3l4m5").exists()
    assert _contents(tmp_path / "out") == result.files


@pytest.mark.parametrize("mask", [0o022, 0o027])
def test_exports_get_the_mode_of_the_umask(kb, tmp_path, mask):
    out = tmp_path / "out"
    out.mkdir()
    (out / "shapes.ttl").write_bytes((ROOT / "exports" / "shapes.ttl").read_bytes())
    (out / "shapes.ttl").chmod(0o600)  # as the earlier writer left them (mkstemp)
    old = os.umask(mask)
    try:
        project(tmp_path).build(jobs=1)
    finally:
        os.umask(old)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in out.iterdir()}
    assert set(modes.values()) == {0o666 & ~mask}, modes
    assert stat.S_IMODE(out.stat().st_mode) == 0o777 & ~mask
