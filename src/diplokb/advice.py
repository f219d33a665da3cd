"""Warnings that do not fail the build: what a curator still has to do.

- a `# TODO` comment left in a YAML file (the skeletons of `diplokb new` mark each field to
  fill and each suggestion to check with one), at its line and column;
- a source file none of whose records has a quote yet;
- an archived text in kb/sources that no source YAML names as its `text_file`.

They are read from the files as they are on disk at every build (they are not cached), so
they come and go with the edits that cause them, and they sit beside the SHACL warnings in
the build's report.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from .errors import SourceLocation
from .rdf import ID
from .validate import ValidationResult

_TODO = re.compile(r"#\s*TODO\b:?\s*(.*)$")
# a `quote:` key on a line that is not a comment, in block style or in a flow mapping
_QUOTE_KEY = re.compile(r"^[ \t]*(?:-[ \t]+)?(?:quote[ \t]*:|\{[^#\n]*\bquote[ \t]*:)", re.M)
_TEXT_FILE = re.compile(r"""^\s*text_file\s*:\s*["']?([^"'#\n]+?)["']?\s*(?:#.*)?$""", re.M)
_SOURCE_ID = re.compile(r"""^source\s*:\s*\n(?:[ \t]+.*\n|\s*\n)*?[ \t]+id\s*:\s*["']?([a-z0-9-]+)""", re.M)


def _display(path: Path, base: Path) -> str:
    try:
        return os.path.relpath(path, base)
    except ValueError:
        return str(path)


def warnings(kb_dir: str | os.PathLike, base: str | os.PathLike | None = None) -> list[ValidationResult]:
    """Every curation warning of the KB in `kb_dir`, sorted by location (paths relative to
    `base`, default: cwd)."""
    kb_dir = Path(kb_dir)
    base = Path(base) if base is not None else Path.cwd()
    out: list[ValidationResult] = []
    named: set = set()
    for sub in ("entities", "sources"):
        for path in sorted((kb_dir / sub).glob("*.yaml")):
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue  # the loader reports it
            display = _display(path, base)
            sid = _SOURCE_ID.search(text) if sub == "sources" else None
            focus = ID + sid.group(1) if sid else display
            for n, line in enumerate(text.splitlines() if "TODO" in text else (), 1):
                m = _TODO.search(line)
                if m and (line.lstrip().startswith("#") or " #" in line):
                    out.append(ValidationResult(SourceLocation(display, n, m.start() + 1), "Warning",
                                                f"still to do: {m.group(1).strip() or 'see the comment'}",
                                                focus, shape="diplokb:todo"))
            if sub == "sources":
                named.update(_TEXT_FILE.findall(text))
                if not _QUOTE_KEY.search(text):
                    out.append(ValidationResult(SourceLocation(display, 1, 1), "Warning",
                                                "source has no quotes yet: no record cites its text",
                                                focus, shape="diplokb:no-quotes"))
    for path in sorted((kb_dir / "sources").glob("*.txt")):
        if path.name not in named:
            display = _display(path, base)
            out.append(ValidationResult(SourceLocation(display), "Warning",
                                        "archived text with no source YAML (no 'text_file' names it): "
                                        f"run 'diplokb new {display}' to start one, or delete it",
                                        display, shape="diplokb:orphan-text"))
    return sorted(out)
