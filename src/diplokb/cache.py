"""The build cache: what each YAML file compiled to and how each subject was written, keyed by
content, so that a build after an edit redoes only what the edit can affect.

A build keeps one state file per KB (under `.diplokb-cache/`, in marshal format: plain strings
and tuples only, which load many times faster than pickled objects). It holds

- `key`: a digest of diplokb's code, the ontology, the vocabularies and the shapes; a state
  with another key is ignored, so a change to any of them means a clean build;
- `units`: for each YAML file (path relative to the KB folder), the digests of its YAML and of
  its archived text, the ids it defines (with the entry other files see), the index entries it
  was compiled against (`lookups`), its triples by subject and graph, and its subjects' lines;
- `rendered`: for each subject, its N-Triples lines, Turtle block and JSON-LD node text, the
  number of its triples, its predicates and its classes;
- `trig`: the Turtle block of a subject within one graph, where that is not all of its triples;
- `results`: the fast SHACL engine's results by focus node (None after a pySHACL build).

A file is recompiled when its YAML or text changed, or when an entry it looked up in the index
changed (a renamed speaker changes statement labels elsewhere). A state is written only once
the KB compiled and validated (while the exports are written); a build with errors leaves the
previous one, which stays correct. A state never decides what is written: the exports are
compared with the files on disk, so a state saved by a build that then failed to write its
exports is still a correct starting point.
"""
from __future__ import annotations

import hashlib
import marshal
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

FORMAT = 1
CHUNK = 20_000  # subjects per marshal record, which bounds the memory a save needs


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def code_key(files) -> str:
    """A digest of diplokb's own source code and of the given files (ontology, shapes)."""
    h = hashlib.sha256(f"format {FORMAT}".encode())
    package = Path(__file__).resolve().parent
    for f in (*sorted(package.glob("*.py")), *files):
        h.update(f.name.encode() + b"\0" + Path(f).read_bytes() + b"\0")
    return h.hexdigest()


@dataclass
class State:
    key: str = ""
    units: dict = field(default_factory=dict)
    rendered: dict = field(default_factory=dict)
    trig: dict = field(default_factory=dict)
    results: dict | None = None


def state_path(cache_dir: Path, kb_dir: Path) -> Path:
    name = hashlib.sha1(str(Path(kb_dir).resolve()).encode()).hexdigest()[:16]
    return Path(cache_dir) / f"state-{name}.marshal"


def load(path: Path, key: str) -> State:
    """The saved state, or an empty one when there is none, it is unreadable or its key differs."""
    try:
        with open(path, "rb") as fh:
            head = marshal.load(fh)
            if head != (FORMAT, key):
                return State(key=key)
            units, trig, results, chunks = (marshal.load(fh) for _ in range(4))
            rendered: dict = {}
            for _ in range(chunks):
                rendered.update(marshal.load(fh))
    except (OSError, EOFError, ValueError, TypeError):
        return State(key=key)
    return State(key=key, units=units, rendered=rendered, trig=trig, results=results)


def save(path: Path, state: State) -> None:
    """Writes the state next to its place, then moves it in (never a half-written state)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".state.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            items = list(state.rendered.items())
            chunks = [dict(items[i:i + CHUNK]) for i in range(0, len(items), CHUNK)]
            for value in ((FORMAT, state.key), state.units, state.trig, state.results, len(chunks)):
                marshal.dump(value, fh)
            for chunk in chunks:
                marshal.dump(chunk, fh)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
