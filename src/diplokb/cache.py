"""The build cache: what each YAML file compiled to and how each subject was written, keyed by
content, so that a build after an edit redoes only what the edit can affect.

A build keeps one state file per KB (under `.diplokb-cache/`). It is a series of frames, each
its length, the SHA-256 of its bytes and the bytes: plain strings, numbers, tuples and dicts in
marshal format (never pickle, which runs code when it loads; marshal only builds values, and
each value is then checked to have the shape the build expects). It holds

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

A state is never trusted blindly. A frame whose digest does not match its bytes (a flipped bit,
an edit), or whose value has not the expected shape (a crafted file), is a warning: a unit is
then compiled again, and the rendered texts and results (which may come from it) are thrown
away, so the build renders and validates everything again; a file that is not a state at all is
ignored, with a warning. The cache is an optimisation: `build --check` does not read it, and a
cache that cannot be read or written is a warning, never a failed build.
"""
from __future__ import annotations

import hashlib
import marshal
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

FORMAT = 2
MAGIC = b"diplokb build cache\n"
CHUNK = 20_000  # subjects per rendered frame, which bounds the memory a save needs
_HEAD = 8 + 32  # a frame's length and digest


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
    complete: bool = True  # False: `rendered`, `trig` and `results` were thrown away (see above)
    warnings: list = field(default_factory=list)  # what was wrong with the saved state


def state_path(cache_dir: Path, kb_dir: Path) -> Path:
    name = hashlib.sha1(str(Path(kb_dir).resolve()).encode()).hexdigest()[:16]
    return Path(cache_dir) / f"state-{name}.marshal"


class _Corrupt(Exception):
    pass


def _frames(data: bytes):
    """(bytes, digest matches) of each frame after the magic; raises _Corrupt when truncated."""
    pos, end = len(MAGIC), len(data)
    while pos < end:
        if end - pos < _HEAD:
            raise _Corrupt("it ends in the middle of a frame")
        size = int.from_bytes(data[pos:pos + 8], "little")
        start = pos + _HEAD
        if size > end - start:
            raise _Corrupt("it ends in the middle of a frame")
        payload = data[start:start + size]
        yield payload, hashlib.sha256(payload).digest() == data[pos + 8:start]
        pos = start + size


_BAD = object()  # a frame that failed its digest or shape check


def _value(payload: bytes, ok: bool, check):
    """The value of a frame if its digest matched (`ok`), it loads and `check` accepts it."""
    if not ok:
        return _BAD
    try:
        value = marshal.loads(payload)
    except (EOFError, ValueError, TypeError, MemoryError):  # MemoryError: a crafted count (_bounded)
        return _BAD
    try:
        return value if check(value) else _BAD
    except (TypeError, ValueError, AttributeError, IndexError):
        return _BAD


class _bounded:
    """Bounds the memory the process may map while a state is decoded (Linux: RLIMIT_AS), so
    that a crafted count in a frame (a list of 2**31 items in five bytes, which marshal would
    allocate before reading it) fails at once with MemoryError instead of taking seconds and
    gigabytes. A real state needs far less than 64 times its size."""

    def __init__(self, size: int):
        self.size = size
        self.old = None

    def __enter__(self):
        try:
            import resource

            with open("/proc/self/status", encoding="ascii") as fh:
                vm = next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmSize:"))
            soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        except (ImportError, OSError, StopIteration, ValueError):
            return self
        limit = vm + 64 * self.size + (512 << 20)
        unlimited = resource.RLIM_INFINITY
        if (soft == unlimited or limit < soft) and (hard == unlimited or limit <= hard):
            resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
            self.old = (soft, hard)
        return self

    def __exit__(self, *exc):
        if self.old is not None:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, self.old)


def load(path: Path, key: str) -> State:
    """The saved state, or an empty one when there is none or its key differs; with warnings
    (`State.warnings`) for what could not be used."""
    with _bounded(_size(path)):
        return _load(path, key)


def _size(path) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _load(path: Path, key: str) -> State:
    empty = State(key=key)
    try:
        data = Path(path).read_bytes()
    except (FileNotFoundError, NotADirectoryError):  # no state (yet)
        return empty
    except OSError as exc:
        empty.warnings.append(f"cannot read the build cache ({exc.strerror or exc}); a clean build")
        return empty
    if not data.startswith(MAGIC):
        empty.warnings.append("the build cache is not a diplokb state (an older format or another "
                              "file); it is ignored: a clean build")
        return empty
    try:
        frames = _frames(data)
        payload, ok = next(frames, (b"", False))
        head = _value(payload, ok, _is_head)
        if head is _BAD:
            raise _Corrupt("its header is damaged")
        if head[:2] != (FORMAT, key):
            return empty  # diplokb, its ontology or its shapes changed: a clean build
        _, _, n_units, n_chunks = head
        state = State(key=key)
        damaged = []
        for _ in range(n_units):
            payload, ok = next(frames)
            unit = _value(payload, ok, _is_unit)
            if unit is _BAD:
                damaged.append("a unit")
            else:
                state.units[unit[0]] = unit[1]
        rest = [(payload, ok) for payload, ok in frames]
        if len(rest) != 2 + n_chunks:
            raise _Corrupt("it has not the frames its header announces")
        trig = _value(*rest[0], _is_trig)
        results = _value(*rest[1], _is_results)
        chunks = [_value(p, ok, _is_rendered) for p, ok in rest[2:]]
    except (StopIteration, _Corrupt) as exc:
        reason = str(exc) or "it ends early"
        empty.warnings.append(f"the build cache is damaged ({reason}); it is ignored: a clean build")
        return empty
    if trig is _BAD or results is _BAD or any(c is _BAD for c in chunks) or damaged:
        what = ", ".join(damaged) or "the rendered texts or results"
        state.warnings.append(f"the build cache is damaged ({what} failed its digest or shape check); "
                              "that part is compiled again and everything is rendered and validated again")
        state.complete = False
        return state
    state.trig, state.results = trig, results
    for chunk in chunks:
        state.rendered.update(chunk)
    return state


def save(path: Path, state: State) -> None:
    """Writes the state next to its place, then moves it in (never a half-written state);
    removes what a killed save left. Raises OSError when the cache cannot be written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    from .files import _Lock

    with _Lock(path.parent):
        for left in path.parent.glob(".state.*"):  # a killed save's (saves hold this lock)
            left.unlink(missing_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".state.", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                items = list(state.rendered.items())
                chunks = [dict(items[i:i + CHUNK]) for i in range(0, len(items), CHUNK)]
                fh.write(MAGIC)
                values = [(FORMAT, state.key, len(state.units), len(chunks)), *state.units.items(),
                          state.trig, state.results, *chunks]
                for value in values:
                    payload = marshal.dumps(value)
                    fh.write(len(payload).to_bytes(8, "little") + hashlib.sha256(payload).digest())
                    fh.write(payload)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise


# -- the shapes a state's values must have -------------------------------------------------

def _str_or_none(x) -> bool:
    return x is None or type(x) is str


def _is_term(o) -> bool:
    return type(o) is str or (type(o) is tuple and len(o) == 3 and type(o[0]) is str
                              and _str_or_none(o[1]) and _str_or_none(o[2]))


def _is_head(v) -> bool:
    return (type(v) is tuple and len(v) == 4 and type(v[0]) is int and type(v[1]) is str
            and type(v[2]) is int and type(v[3]) is int and v[2] >= 0 and v[3] >= 0)


def _is_entry(e) -> bool:
    return type(e) is tuple and len(e) == 3 and all(type(x) is str for x in e)


_UNIT_KEYS = {"yaml", "text", "text_digest", "defines", "lookups", "contrib", "locations"}


def _is_unit(v) -> bool:
    if not (type(v) is tuple and len(v) == 2 and type(v[0]) is str and type(v[1]) is dict):
        return False
    u = v[1]
    if u.keys() != _UNIT_KEYS or not all(type(u[k]) is str for k in ("yaml", "text", "text_digest")):
        return False
    defines, lookups, contrib, locations = u["defines"], u["lookups"], u["contrib"], u["locations"]
    if type(defines) is not tuple or type(lookups) is not dict or type(contrib) is not dict \
            or type(locations) is not dict:
        return False
    for d in defines:
        if not (type(d) is tuple and len(d) == 4 and type(d[0]) is str and _is_entry(d[1])
                and type(d[2]) is int and type(d[3]) is int):
            return False
    if not all(type(k) is str and (e is None or _is_entry(e)) for k, e in lookups.items()):
        return False
    for s, loc in locations.items():
        if not (type(s) is str and type(loc) is tuple and len(loc) == 2 and type(loc[0]) is int
                and type(loc[1]) is int):
            return False
    term = _is_term
    for s, graphs in contrib.items():
        if type(s) is not str or type(graphs) is not dict:
            return False
        for g, pairs in graphs.items():
            if type(g) is not str or type(pairs) is not tuple:
                return False
            for pair in pairs:
                if not (type(pair) is tuple and len(pair) == 2 and type(pair[0]) is str and term(pair[1])):
                    return False
    return True


def _is_trig(v) -> bool:
    return type(v) is dict and all(
        type(k) is tuple and len(k) == 2 and type(k[0]) is str and type(k[1]) is str and type(t) is str
        for k, t in v.items())


def _is_results(v) -> bool:
    if v is None:
        return True
    return type(v) is dict and all(
        type(f) is str and type(rows) is tuple
        and all(type(r) is tuple and len(r) == 6 and all(_str_or_none(x) for x in r) for r in rows)
        for f, rows in v.items())


def _is_rendered(v) -> bool:
    if type(v) is not dict:
        return False
    for s, r in v.items():
        if not (type(s) is str and type(r) is tuple and len(r) == 6 and type(r[0]) is str
                and type(r[1]) is str and type(r[2]) is str and type(r[3]) is int
                and type(r[4]) is tuple and type(r[5]) is tuple
                and all(type(x) is str for x in r[4]) and all(type(x) is str for x in r[5])):
            return False
    return True
