"""Warnings that do not fail the build: what a curator still has to do.

- a `# TODO` comment left in a YAML file (the skeletons of `diplokb new` mark each field to
  fill and each suggestion to check with one), at its line and column;
- a source file none of whose records has a quote yet;
- an archived text in kb/sources that no source YAML names as its `text_file`.

They are a function of each file's text alone (`file_advice`), which a build with a cache keeps
with the file's entry, by its digest, and reads again only from the files it reads (the
others' are those of their unchanged bytes); so they come and go with the edits that cause
them, and they sit beside the SHACL warnings in the build's report.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from .errors import SourceLocation
from .kbfiles import _display
from .rdf import ID
from .validate import ValidationResult

_TODO = re.compile(r"#\s*TODO\b:?\s*(.*)$")
# a `quote:` key on a line that is not a comment, in block style or in a flow mapping
_QUOTE_KEY = re.compile(r"^[ \t]*(?:-[ \t]+)?(?:quote[ \t]*:|\{[^#\n]*\bquote[ \t]*:)", re.M)
_TEXT_FILE = re.compile(r"""^\s*text_file\s*:\s*["']?([^"'#\n]+?)["']?\s*(?:#.*)?$""", re.M)
_SOURCE_ID = re.compile(r"""^source\s*:\s*\n(?:[ \t]+.*\n|\s*\n)*?[ \t]+id\s*:\s*["']?([a-z0-9-]+)""", re.M)


_NEXT_SECTION = re.compile(r"^(?!source\s*:)[^\s#-]", re.M)


def _source_section(text: str) -> str:
    """The text up to the second top-level key (the `source:` section comes first), where
    `text_file` is; searching only there keeps this scan cheap on large files."""
    m = _NEXT_SECTION.search(text)
    return text if m is None else text[:m.start()]


def _has_quote_key(text: str) -> bool:
    """Whether a `quote:` key occurs on a line that is not a comment (see _QUOTE_KEY), checked
    only at the lines where the word occurs."""
    i = text.find("quote")
    while i != -1:
        if _QUOTE_KEY.match(text, text.rfind("\n", 0, i) + 1):
            return True
        end = text.find("\n", i)
        i = -1 if end == -1 else text.find("quote", end + 1)
    return False


def file_advice(text: str, is_source: bool) -> tuple:
    """What a file's text says, whatever its path: ((line, column, message, shape, source id
    or None) of each warning, the `text_file`s a source names). A pure function of the text,
    so that a build cache can keep it by the file's digest (incremental.py)."""
    named = tuple(_TEXT_FILE.findall(_source_section(text))) if is_source else ()
    if "TODO" not in text and (not is_source or _has_quote_key(text)):
        return (), named  # nothing to say of this file (the common case, kept cheap)
    found = []
    sid = _SOURCE_ID.search(text) if is_source else None
    sid = sid.group(1) if sid else None
    for n, line in enumerate(text.splitlines() if "TODO" in text else (), 1):
        m = _TODO.search(line)
        if m and (line.lstrip().startswith("#") or " #" in line):
            found.append((n, m.start() + 1, f"still to do: {m.group(1).strip() or 'see the comment'}",
                          "diplokb:todo", sid))
    if is_source and not _has_quote_key(text):
        found.append((1, 1, "source has no quotes yet: no record cites its text", "diplokb:no-quotes", sid))
    return tuple(found), named


def advice_of_bytes(data: bytes, is_source: bool):
    """file_advice of a file's bytes as `Path.read_text` would decode them (None: not UTF-8,
    which the loader reports)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if "\r" in text:  # universal newlines, as read_text
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return file_advice(text, is_source)


def warnings(kb_dir: str | os.PathLike, base: str | os.PathLike | None = None,
             known: dict | None = None) -> list[ValidationResult]:
    """Every curation warning of the KB in `kb_dir`, sorted by location (paths relative to
    `base`, default: cwd). `known`: path relative to `kb_dir` ('sources/x.yaml') -> its
    file_advice, for the files a build has it of (the others are read). Paths are strs until
    a warning names one (a build with the cache passes every file's: this is then a pass over
    the folder's names)."""
    kb = os.fspath(Path(kb_dir))
    base = Path(base) if base is not None else Path.cwd()
    known = known or {}
    out: list[ValidationResult] = []
    named: set = set()
    for sub in ("entities", "sources"):
        folder = os.path.join(kb, sub)
        try:
            names = sorted(n for n in os.listdir(folder) if n.endswith(".yaml") and not n.startswith("."))  # as glob
        except OSError:
            continue  # the loader reports it
        for name in names:
            found = known.get(f"{sub}/{name}")
            if found is None:
                try:
                    with open(os.path.join(folder, name), encoding="utf-8") as fh:
                        text = fh.read()
                except (OSError, UnicodeDecodeError):
                    continue  # the loader reports it
                found = file_advice(text, sub == "sources")
            items, names_texts = found
            named.update(names_texts)
            if not items:
                continue
            display = _display(os.path.join(folder, name), base)
            for line, column, message, shape, sid in items:
                out.append(ValidationResult(SourceLocation(display, line, column), "Warning", message,
                                            ID + sid if sid else display, shape=shape))
    sources = os.path.join(kb, "sources")
    texts = sorted(n for n in os.listdir(sources) if n.endswith(".txt") and not n.startswith(".")) if os.path.isdir(sources) else []
    for name in texts:
        if name not in named:
            display = _display(os.path.join(sources, name), base)
            out.append(ValidationResult(SourceLocation(display), "Warning",
                                        "archived text with no source YAML (no 'text_file' names it): "
                                        f"run 'diplokb new {display}' to start one, or delete it",
                                        display, shape="diplokb:orphan-text"))
    return sorted(out)
