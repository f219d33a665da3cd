"""YAML files -> typed records (model.py), reporting every problem with file, line and column.

The YAML is composed into nodes (never constructed into Python objects), so nothing unsafe can
run, plain scalars stay strings (no YAML 1.1 `no` -> False or `1.10` -> 1.1), duplicate keys
are caught, and anchors/aliases are refused (which also bounds "billion laughs" documents).
"""
from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

import yaml

from . import model
from .errors import Problem, SourceLocation, did_you_mean
from .files import MAX_TEXT_BYTES, FileRefused, read_regular
from .kbfiles import _display, kb_files, read_kb_file, stray_files  # noqa: F401 (formerly here)
from .lexical import shown
from .model import KB, SLUG_RE, Source
from .reader import _Reader, _yaml_fields  # noqa: F401 (the node reader, formerly here)
from .vocabularies import load_vocabularies


class _Composer(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """libyaml's parser, without implicit typing: every untagged node (or one tagged '!') gets
    the tag 'tag:yaml.org,2002:str', whatever its kind (plain scalars are strings here; fields
    convert them; the reader tells nodes apart by their class and only checks that a tag is one
    of YAML's core ones, so any core tag would do).

    The composer calls these three hooks for every node: they are C functions here (str.format
    of a text without fields returns the text and ignores its arguments), not Python methods,
    which saves a Python call per node and hook. No path resolvers are used, so descending and
    ascending have nothing to do (as in PyYAML's BaseResolver without them)."""

    resolve = "tag:yaml.org,2002:str".format  # (kind, value, implicit) -> the tag
    descend_resolver = "".format  # (parent, index) -> ignored
    ascend_resolver = "".format  # () -> ignored


def decode(data: bytes, display: str, problems: list[Problem]) -> str | None:
    """UTF-8 bytes as text with its line breaks made "\n" (as reading in text mode does), or
    None after recording where the first byte that is not UTF-8 is (line and column)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        column = len(data[line_start:exc.start].decode("utf-8", errors="replace")) + 1
        problems.append(Problem(SourceLocation(display, line, column),
                                f"not UTF-8 text: byte 0x{data[exc.start]:02x} ({exc.reason})",
                                hint="save the file as UTF-8"))
        return None
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def compose_file(data: bytes, problems: list[Problem], display: str):
    """The root node of a YAML file's bytes, or None after recording a syntax error."""
    text = decode(data, display, problems)
    if text is None:
        return None
    try:
        if "*" in text:  # report each alias where it is used, before composing shares nodes
            aliases = [e for e in yaml.parse(text, Loader=_Composer) if isinstance(e, yaml.AliasEvent)]
            for e in aliases:
                problems.append(Problem(SourceLocation(display, e.start_mark.line + 1, e.start_mark.column + 1),
                                        f"alias '*{e.anchor}' is not allowed: anchors and aliases are "
                                        "refused in the KB; write the value out"))
            if aliases:
                return None
        root = yaml.compose(text, Loader=_Composer)
        if root is None:
            problems.append(Problem(SourceLocation(display), "the file is empty or holds only comments",
                                    hint="write its sections, or delete the file"))
        return root
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = SourceLocation(display, mark.line + 1, mark.column + 1) if mark else SourceLocation(display)
        hint = None
        if exc.context and exc.context_mark and exc.problem:
            hint = (f"{exc.context} started at line {exc.context_mark.line + 1}, "
                    f"column {exc.context_mark.column + 1}")
        problems.append(Problem(loc, f"YAML syntax: {exc.problem or exc.context}", hint=hint))
    except yaml.YAMLError as exc:
        problems.append(Problem(SourceLocation(display), f"YAML syntax: {exc}"))
    return None


def load_file(path: Path, display: str, problems: list[Problem], vocabularies: dict,
              is_source: bool, broken_ids: set | None = None, *, data: bytes | None = None,
              root: Path | None = None, text_data: tuple | None = None) -> list:
    """Every record of one YAML file (a Source first for a source file).

    `data`: the file's bytes, where the caller has read them already (the bytes it hashed are
    the bytes compiled); `root`: the KB folder, which every file read must be inside (default:
    the folder above the file's); `text_data`: (text_file, its bytes) read already by the caller.

    A record with problems is left out, but the references it holds come back as a
    `model.Unchecked`, so that they are checked in the same run. A file that cannot be read
    at all adds `("failed", display, ids)` to `broken_ids`, where `ids` are the ids its text
    seems to define: references to them are reported as not checkable, not as unknown."""
    broken_ids = set() if broken_ids is None else broken_ids
    root = Path(root) if root is not None else path.parent.parent
    if data is None:
        data = read_kb_file(path, root, display, problems)
        if data is None:
            broken_ids.add(("failed", display, ()))
            return []
    root_node = compose_file(data, problems, display)
    reader = _Reader(display, problems, vocabularies)
    reader.broken_ids = broken_ids
    top = None if root_node is None else reader.mapping(root_node, "a KB file")
    if top is None:
        broken_ids.add(("failed", display, _ids_in_text(data)))
        return []
    sections = model.SOURCE_SECTIONS if is_source else model.ENTITY_SECTIONS
    allowed = list(sections) + (["source"] if is_source else [])
    records: list = []
    checked = True  # False: the source record failed; its records' quotes are checked against `fallback`
    fallback = ("", "")  # (text, text_file) of a source whose record failed, if the text is readable
    if is_source:
        source = _read_source(reader, path, display, root, root_node, top, text_data)
        if source is None:
            checked = False
            fallback = _fallback_text(path, root, top)
            if reader.refs:
                records.append(model.Unchecked(tuple(reader.refs), (), reader.loc(top["source"][1]) if "source" in top
                                               else reader.loc(root_node), reader.source_id))
        else:
            records.append(source)

    for key, (key_node, node) in top.items():
        if key == "source" and is_source:
            continue
        cls = sections.get(key)
        if cls is None:
            where = "a source file" if is_source else "an entities file"
            reader.error(key_node, f"unknown section '{key}' in {where}",
                         did_you_mean(key, allowed) or f"sections: {', '.join(allowed)}")
            continue
        if reader.is_null(node):
            continue
        extra = {"source": reader.source_id} if is_source else {}  # a source's records are from it
        for item in reader.sequence(node, f"section '{key}'") or []:
            reader.refs, reader.quotes = [], []
            record = reader.record(cls, item, f"an item of '{key}'", extra)
            if record is not None and checked:
                records.append(record)
            else:
                if record is not None and getattr(record, "id", None):
                    broken_ids.add(record.id)
                if reader.refs or reader.quotes:
                    quotes = tuple(reader.quotes) if checked or fallback[0] else ()
                    records.append(model.Unchecked(tuple(reader.refs), quotes, reader.loc(item), reader.source_id,
                                                   *fallback))
    return records


def _fallback_text(path: Path, root: Path, top: dict) -> tuple[str, str]:
    """(text, text_file) of a source file whose source record failed, when its `text_file`
    can still be read (under the same rules as any archived text), so that its records'
    quotes are checked all the same."""
    entry = top.get("source")
    if entry is None or not isinstance(entry[1], yaml.MappingNode):
        return "", ""
    name = next((v.value for k, v in entry[1].value if k.value == "text_file" and isinstance(v, yaml.ScalarNode)), "")
    if not name.strip() or "/" in name or "\\" in name or name.startswith("."):
        return "", ""
    try:
        return read_regular(path.parent / name, root, MAX_TEXT_BYTES).decode("utf-8"), name
    except (OSError, FileRefused, UnicodeDecodeError):
        return "", ""


def _read_source(reader, path: Path, display: str, root: Path, root_node, top, text_data) -> Source | None:
    """The source record of a source file, with its archived text, or None (after an error)."""
    if "source" not in top:
        reader.error(root_node, "a source file must start with a 'source:' section")
        return None
    key_node, node = top["source"]
    if isinstance(node, yaml.MappingNode):  # its records are this source's even if it fails
        sid = next((v.value for k, v in node.value if k.value == "id" and isinstance(v, yaml.ScalarNode)), "")
        reader.source_id = sid if SLUG_RE.fullmatch(sid) else ""
    source = reader.record(Source, node, "'source'")
    if source is None:
        return None
    read = read_text_file(path, root, source, node, reader, text_data)
    if read is None:
        reader.broken_ids.add(source.id)
        return None
    text, data = read
    if source.sha256 is not None:
        import hashlib

        actual = hashlib.sha256(data).hexdigest()
        if actual != source.sha256.strip().lower():
            value_node = next(v for k, v in node.value if k.value == "sha256")
            reader.error(value_node, f"archived text '{source.text_file}' has SHA-256 {actual}, not the one "
                                     "recorded: the text changed since it was archived",
                         "archived texts stay byte for byte as received; restore it, or archive the new "
                         "version as a new source")
            reader.broken_ids.add(source.id)
            return None
    reader.source_id = source.id
    return dataclasses.replace(source, text=text, yaml_file=display)


_ID_LINE = re.compile(r"""(?:^|[{,\s])id\s*:\s*["']?([a-z0-9]+(?:-[a-z0-9]+)*)["']?\s*(?:[,}#]|$)""", re.M)


def _ids_in_text(data: bytes) -> tuple:
    """The ids a file that could not be read seems to define (its `id:` lines)."""
    return tuple(sorted(set(_ID_LINE.findall(data.decode("utf-8", errors="replace")))))


def read_text_file(path: Path, root: Path, source: Source, node, reader: _Reader, text_data=None) -> tuple[str, bytes] | None:
    """The archived text a source names: a regular file inside the KB folder, named by a path
    relative to the YAML file, at most MAX_TEXT_BYTES, in UTF-8: (its text, its bytes); None after an error."""
    value_node = next(v for k, v in node.value if k.value == "text_file")
    name = source.text_file
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or os.path.isabs(name) or ".." in parts or "\0" in name:
        reader.error(value_node, f"text_file {shown(name)} must be a path relative to this YAML file, "
                                 "inside the KB folder (no '..', not absolute)", "e.g. '000_report.txt'")
        return None
    text_path = path.parent / name
    display = os.path.join(os.path.dirname(reader.path), name)  # as the YAML file's path is shown
    if text_data is not None and text_data[0] == name:
        data = text_data[1]
    else:
        try:
            data = read_regular(text_path, root, MAX_TEXT_BYTES)
        except FileRefused as exc:
            reader.error(value_node, f"archived text {shown(name)} refused: {exc.reason}",
                         f"archived texts are regular files inside the KB folder, at most {MAX_TEXT_BYTES:,} bytes")
            return None
        except OSError as exc:
            reader.error(value_node, f"cannot read archived text '{name}': {exc.strerror or exc}")
            return None
    text = decode(data, display, reader.problems)
    return None if text is None else (text, data)


def load(kb_dir: str | os.PathLike, vocabularies_file: str | os.PathLike, *,
         base: str | os.PathLike | None = None) -> KB:
    """Reads `kb_dir/entities/*.yaml` and `kb_dir/sources/*.yaml`.

    Records with problems are left out; the problems travel in `KB.problems` (and the ids of
    the records left out in `KB.broken_ids`), so that the compiler can add its own and report
    all of them together. Paths in messages are relative to `base` (default: cwd).
    """
    kb_dir = Path(kb_dir)
    base = Path(base) if base is not None else Path.cwd()
    problems: list[Problem] = []
    files = kb_files(kb_dir)
    vocabularies = load_vocabularies(Path(vocabularies_file))
    records: list = []
    sources: list = []
    broken: set = set()
    for _, path, is_source in files:
        for rec in load_file(Path(path), _display(path, base), problems, vocabularies, is_source, broken, root=kb_dir):
            (sources if isinstance(rec, Source) else records).append(rec)
    problems += stray_files(kb_dir, base)
    return KB(root=str(kb_dir), sources=tuple(sources), records=tuple(records),
              vocabularies=vocabularies, problems=tuple(problems), broken_ids=frozenset(broken))
