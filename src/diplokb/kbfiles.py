"""The KB's files: which they are, how each is named in messages, and reading one's bytes.

Apart from loader.py (which imports these from here) so that a build that reads no YAML (one
where nothing changed) does not import the YAML loader.
"""
from __future__ import annotations

import os
from pathlib import Path

from .errors import BuildError, Problem, SourceLocation
from .files import MAX_YAML_BYTES, FileRefused, read_regular


def read_kb_file(path: Path, root: Path, display: str, problems: list[Problem], *,
                 limit: int | None = None, what: str = "KB file") -> bytes | None:
    """The bytes of a KB file (a regular file inside `root`, at most `limit` bytes), or None
    after recording why it cannot be read."""
    try:
        return read_regular(path, root, limit or MAX_YAML_BYTES)
    except FileRefused as exc:
        problems.append(Problem(SourceLocation(display), f"{what} refused: {exc.reason}"))
    except OSError as exc:
        problems.append(Problem(SourceLocation(display), f"cannot read {what}: {exc.strerror or exc}"))
    return None


def _display(path: Path, base: Path) -> str:
    try:
        return os.path.relpath(path, base)
    except ValueError:
        return str(path)


def kb_files(kb_dir: Path) -> list[tuple[str, str, bool]]:
    """(path relative to the KB, path, is it a source file): entities first, in name order.
    The names `Path.glob("*.yaml")` gives (every entry, whatever its kind: reading refuses
    what is not a regular file inside the KB), listed and sorted as strs (a build lists every
    file: no Path object for each)."""
    if not os.path.isdir(kb_dir):
        raise BuildError([Problem(SourceLocation(str(kb_dir)), "KB directory not found")])
    top = os.fspath(Path(kb_dir))  # (normalised as the Paths were)
    files = []
    for sub, is_source in (("entities", False), ("sources", True)):
        folder = os.path.join(top, sub)
        try:
            names = sorted(n for n in os.listdir(folder) if n.endswith(".yaml"))
        except (FileNotFoundError, NotADirectoryError, PermissionError):  # as glob: nothing there
            continue
        folder += os.sep
        files += [(f"{sub}/{n}", folder + n, is_source) for n in names]
    if not any(is_source for _, _, is_source in files):  # it would write empty exports over good ones
        raise BuildError([Problem(SourceLocation(str(kb_dir)), "no source files in this KB folder: nothing to build",
                                  hint=f"a KB holds sources/*.yaml (and entities/*.yaml); is '{kb_dir}' the right folder?")])
    return files


def stray_files(kb_dir: Path, base: Path) -> list[Problem]:
    """A problem for each '.yml' file, which the build would otherwise silently skip: what
    `Path.rglob("*.yml")` finds (entries of any kind, in folders not reached through a
    symlink), walked as strs and in the order of its sorted Paths (by path component)."""
    found = []
    for folder, dirs, files in os.walk(os.fspath(Path(kb_dir))):  # (does not follow symlinks)
        found += [os.path.join(folder, n) for n in (*dirs, *files) if n.endswith(".yml")]
    return [Problem(SourceLocation(_display(path, base)), "file ignored: KB files end in '.yaml'")
            for path in sorted(found, key=lambda p: p.split(os.sep))]
