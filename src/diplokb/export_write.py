"""The exports of a build written (pipeline.Project.build): which files differ from the disk,
the write (files.write_atomically, spliced exports copied in the kernel), and the time given
to every export written or found up to date (the build's start: rebuild.recorded)."""
from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path


def stale_of(project, kb, build, state) -> tuple[dict, list, dict]:
    """(every export file: name -> bytes, files.Splice or rebuild.Unchanged; the names of
    those that differ from the disk; name -> digest to record where it is not the SHA-256 of
    the bytes: void.ttl's). A spliced export differs; an unchanged one does not; a small file
    whose stat and digest are those recorded does not (not read); the others are compared
    with the disk."""
    from . import files as _files
    from . import rebuild

    figures, counts = kb.figures
    digests: dict = {}
    out = project.out
    files = project._files(kb.files, figures, counts, build.source_ids(),
                           lambda key: rebuild.found_unchanged(state, out, "void.ttl", key), digests)
    stale = []
    for n, data in files.items():
        if type(data) is rebuild.Unchanged:
            continue
        if type(data) is _files.Splice:
            stale.append(n)
        elif n in kb.files or not rebuild.found_unchanged(
                state, out, n, digests.get(n) or hashlib.sha256(data).hexdigest()):
            if differs(out / n, data):
                stale.append(n)
    return files, sorted(stale), digests


def write(project, kb, build, state, may_splice: bool, start_ns: int) -> tuple:
    """Writes the exports that differ, each given the time `start_ns`, and gives that time to
    those found up to date; (kb, files, stale, digests) as written (an export changed between
    the plan of its splice and the copy: every export assembled whole and written). Raises
    OSError when they cannot be written (nothing is then changed)."""
    from . import files as _files
    from . import rebuild

    files, stale, digests = stale_of(project, kb, build, state)
    try:
        _files.write_atomically(project.out, {n: files[n] for n in stale}, known=tuple(files), mtime_ns=start_ns)
    except _files.SourceChanged:
        kb = rebuild.texts(build, state, project.out, may_splice, whole=True)
        files, stale, digests = stale_of(project, kb, build, state)
        _files.write_atomically(project.out, {n: files[n] for n in stale}, known=tuple(files), mtime_ns=start_ns)
    mark_current(project.out, [n for n in files if n not in stale], start_ns)
    return kb, files, stale, digests


def mark_current(out: Path, names, mtime_ns: int) -> None:
    """Gives the exports a build found up to date the time of this build (its start, as the
    files it writes), as if written again: `query` and `show` warn when a KB file is newer than
    the exports (querycheck.stale_exports), and after `git checkout` or an edit undone a build
    must end that warning. (The next build finds them by their stat: rebuild.recorded.)"""
    for name in names:
        try:
            os.utime(out / name, ns=(mtime_ns, mtime_ns))
        except OSError:
            pass  # (the warning stays: it says "may be"; the file is not recorded)


def differs(path: Path, data: bytes, chunk: int = 1 << 20) -> bool:
    """Whether `path` is not a regular file holding exactly `data`: the size first, then the
    content a MiB at a time (an export is up to hundreds of MiB at 1M triples)."""
    try:
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode) or st.st_size != len(data):
                return True
            for start in range(0, len(data), chunk):
                if f.read(chunk) != data[start:start + chunk]:  # (bytes with bytes: a memcmp)
                    return True
            return f.read(1) != b""  # grown meanwhile
    except OSError:
        return True
