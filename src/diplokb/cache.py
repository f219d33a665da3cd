"""The build cache: what each YAML file compiled to and how each subject was written, keyed by
content, so that a build after an edit redoes, reads and writes only what the edit touches.

A build keeps one state folder per KB (under `.diplokb-cache/`, `state-NAME/`). Everything in
it is plain strings, numbers, tuples, sets and dicts in marshal format (never pickle, which
runs code when it loads; marshal only builds values, and each value is then checked to have
the shape the build expects). It holds

- `index`, read whole by every build: a series of frames, each its length, the SHA-256 of its
  bytes and the bytes: the header (format, `key`: a digest of diplokb's code, the ontology,
  the vocabularies and the shapes; a state with another key is ignored, so a change to any of
  them means a clean build); for each YAML file (path relative to the KB folder) its entry:
  the digests of its YAML and of its archived text, their stat (size, mtime_ns, inode), the
  ids it defines (with the entry other files see), the index entries it was compiled against
  (`lookups`), the subjects it has triples of, the name of its chunk and its curation
  warnings (advice.file_advice, a function of its YAML alone); then `meta`: the
  names of the results chunk and of the reverse-link shards, the KB's figures (triples,
  subjects by predicate and by class) and the layout of each export (state_meta.py);
- chunks, read on demand: files named by the SHA-256 of their bytes (so a chunk checks
  itself), never changed once written. A unit's chunk holds its triples by subject and graph,
  its subjects' lines, and the rendered texts (N-Triples, Turtle, JSON-LD, counts, TriG blocks)
  of the subjects it is the first file of; the results chunk the fast SHACL engine's results
  by focus node (None after a pySHACL build); a shard the subjects linking to each object IRI
  of its share (`shard()`).

A file is recompiled when its YAML or text changed, or when an entry it looked up in the index
changed. A state is written only once the KB compiled and validated; a build with errors leaves
the previous one, which stays correct. A save writes the chunks that changed, then the index in
one step (a temporary moved in), and removes the chunks neither the new nor the previous index
names (a build still reading the previous state finds its chunks).

A state is never trusted blindly. A frame or a chunk whose digest does not match its bytes (a
flipped bit, an edit) or whose value has not the expected shape (a crafted file) is a warning:
a damaged unit entry or unit chunk means that file is compiled again, and the rendered texts
and results are then rebuilt for every subject (`complete` false); a damaged header, index or
meta frame means a clean build. A chunk found damaged in the middle of a build raises `Damaged`,
and the build starts again that way (pipeline.py). The cache is an optimisation: `build
--check` and `--no-cache` do not read it, and a cache that cannot be read or written is a
warning, never a failed build.
"""
from __future__ import annotations

import hashlib
import marshal
import os
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from . import state_meta
from .cache_shapes import (_is_chunk, _is_entry_frame, _is_head, _is_name, _is_rchunk, _is_reads, _is_results,
                           _is_shard)

FORMAT = 4
MAGIC = b"diplokb build cache 4\n"
NSHARDS = 256  # reverse-link shards: an edit reads those of the objects it reaches
_HEAD = 8 + 32  # a frame's length and digest
LIGHT = ("yaml", "stat", "text", "text_digest", "text_stat", "defines", "lookups", "subjects", "chunk",
         "rchunk", "advice")
HEAVY = {"contrib": "chunk", "locations": "chunk", "rendered": "rchunk", "trig": "rchunk"}  # key -> its chunk


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def shard(o: str) -> int:
    return zlib.crc32(o.encode("utf-8", "surrogatepass")) % NSHARDS


def code_key(files) -> str:
    """A digest of diplokb's own source code and of the given files (ontology, shapes)."""
    h = hashlib.sha256(f"format {FORMAT}".encode())
    package = Path(__file__).resolve().parent
    for f in (*sorted(package.glob("*.py")), *files):
        h.update(f.name.encode() + b"\0" + Path(f).read_bytes() + b"\0")
    return h.hexdigest()


class Damaged(Exception):
    """A chunk that failed its check while a build read it: `rel` the unit it belongs to (None:
    a shard or the results), `message` what to tell."""

    def __init__(self, rel, message: str):
        super().__init__(message)
        self.rel = rel
        self.message = message


_BAD = object()  # a frame or chunk that failed its digest or shape check
_UNREAD = object()


class Chunks:
    """The content-addressed files of a state folder (None: no folder, nothing to read)."""

    def __init__(self, folder: Path | None):
        self.folder = folder
        self._dir = None if folder is None else os.fspath(folder)

    def read(self, name: str, check):
        """The chunk's value, or _BAD when it is missing, fails its digest or its shape."""
        if self.folder is None or not _is_name(name):
            return _BAD
        try:
            with open(os.path.join(self._dir, name), "rb") as fh:
                data = fh.read()
        except OSError:
            return _BAD
        if hashlib.sha256(data).hexdigest() != name:  # damaged: removed, so that a save writes it again
            try:
                (self.folder / name).unlink()
            except OSError:
                pass
            return _BAD
        return _value(data, True, check)


class Unit(dict):
    """A file's index entry (LIGHT keys); its chunk's keys (HEAVY) are read on first use."""

    __slots__ = ("rel", "state", "frame")  # frame: its bytes in the index read, while unchanged

    def __missing__(self, key):
        if key not in HEAVY or getattr(self, "state", None) is None:
            raise KeyError(key)
        if HEAVY[key] == "chunk":
            self.state.load_chunk(self)
        else:
            self.state.load_rendered(self)
        return dict.__getitem__(self, key)


def new_unit(rel: str, values: dict) -> Unit:
    u = Unit(values)
    u.rel, u.state, u.frame = rel, None, None
    return u


@dataclass(eq=False)
class State:
    key: str = ""
    units: dict = field(default_factory=dict)  # rel -> Unit
    meta: dict | None = None  # state_meta.py; None: none saved (a clean build)
    complete: bool = True  # False: rendered texts and results are rebuilt for every subject
    warnings: list = field(default_factory=list)  # what was wrong with the saved state
    folder: Path | None = None
    rendered: dict = field(default_factory=dict)  # subject -> rendered row, of the chunks read
    trig: dict = field(default_factory=dict)  # (graph, subject) -> block, of the chunks read
    _shards: dict = field(default_factory=dict)  # shard number -> {object: subjects}
    _results: object = None  # set to _UNREAD in __post_init__
    _reads: object = None  # set to _UNREAD in __post_init__

    def __post_init__(self):
        self.chunks = Chunks(self.folder)
        self._results = _UNREAD
        self._reads = _UNREAD
        for rel, u in self.units.items():
            u.rel, u.state = rel, self

    def __eq__(self, other):
        """Whether two states record the same KB: the same entries and chunk contents (the
        names of chunks may differ: marshal's bytes depend on which values share objects)."""
        if not (isinstance(other, State) and self.key == other.key and self.units.keys() == other.units.keys()
                and (self.meta or {}).get("figures") == (other.meta or {}).get("figures")):
            return False
        keys = [k for k in LIGHT if k not in HEAVY.values()] + list(HEAVY)
        return all(a[k] == b[k] for rel, a in self.units.items() for b in [other.units[rel]] for k in keys)

    @property
    def results(self):
        """The SHACL results by focus node of the last build (None: none to start from)."""
        if self.meta is None or not self.complete:
            return None
        if self._results is _UNREAD:
            found = self.chunks.read(self.meta["results"], _is_results)
            if found is _BAD:
                raise Damaged(None, "the results failed their digest or shape check")
            self._results = found
        return self._results

    def read_cached(self, rel: str, chunk: str, s: str):
        """A subject's triples in a unit's chunk (graph -> pairs) as the last incremental
        validation read them, if recorded there with that chunk's name (the chunk's content,
        since a chunk is named by its digest); None: read the chunk. A reads chunk that fails
        its check raises Damaged, as any other."""
        if self._reads is _UNREAD:
            if not (self.meta and self.complete):
                self._reads = {}
            else:
                found = self.chunks.read(self.meta["reads"], _is_reads)
                if found is _BAD:
                    raise Damaged(None, "the triples the last validation read failed their digest or shape check")
                self._reads = found
        found = self._reads.get(rel)
        if found is None or found[0] != chunk or not chunk:
            return None
        return found[1].get(s)

    def reverse(self, o: str) -> tuple:
        """The subjects whose triples have the IRI `o` as object."""
        n = shard(o)
        found = self._shards.get(n)
        if found is None:
            found = self.chunks.read(self.meta["reverse"][n], _is_shard)
            if found is _BAD:
                raise Damaged(None, "a reverse-link shard failed its digest or shape check")
            self._shards[n] = found
        return found.get(o, ())

    def load_chunk(self, unit: Unit) -> None:
        """Reads a unit's triples and their lines (its chunk)."""
        found = self.chunks.read(unit.get("chunk", ""), _is_chunk)
        if found is _BAD:
            raise Damaged(unit.rel, f"the chunk of {unit.rel} failed its digest or shape check")
        contrib, locations = found
        if contrib.keys() != unit["subjects"]:
            raise Damaged(unit.rel, f"the chunk of {unit.rel} is not the one its entry names")
        dict.update(unit, contrib=contrib, locations=locations)

    def load_rendered(self, unit: Unit) -> None:
        """Reads the rendered texts of the subjects a unit is the first file of (its rchunk)."""
        found = self.chunks.read(unit.get("rchunk", ""), _is_rchunk)
        if found is _BAD:
            raise Damaged(unit.rel, f"the rendered texts of {unit.rel} failed their digest or shape check")
        rendered, trig = found
        if not rendered.keys() <= unit["subjects"]:
            raise Damaged(unit.rel, f"the rendered texts of {unit.rel} are not those its entry names")
        dict.update(unit, rendered=rendered, trig=trig)
        setdefault = self.rendered.setdefault  # a row rendered in this build stays
        for s, row in rendered.items():
            setdefault(s, row)
        setdefault = self.trig.setdefault
        for k, block in trig.items():
            setdefault(k, block)

    def load_all(self) -> list[str]:
        """Reads every unit's chunk of triples, not its rendered texts (a state read whole is
        rendered again: they are set empty); drops the units whose chunk is damaged (they are
        compiled again, and the state is then incomplete); returns those units."""
        dropped = []
        for rel, unit in list(self.units.items()):
            try:
                unit["contrib"]
                dict.update(unit, rendered={}, trig={})
            except Damaged:
                del self.units[rel]
                dropped.append(rel)
        if dropped:
            self.complete = False
        return dropped


def state_path(cache_dir: Path, kb_dir: Path) -> Path:
    name = hashlib.sha1(str(Path(kb_dir).resolve()).encode()).hexdigest()[:16]
    return Path(cache_dir) / f"state-{name}"


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


def _value(payload: bytes, ok: bool, check):
    """The value of bytes if their digest matched (`ok`), they load and `check` accepts it."""
    if not ok:
        return _BAD
    try:
        with _bounded(len(payload)):
            value = marshal.loads(payload)
    except (EOFError, ValueError, TypeError, MemoryError):  # MemoryError: a crafted count (_bounded)
        return _BAD
    try:
        return value if check(value) else _BAD
    except (TypeError, ValueError, AttributeError, IndexError, KeyError):
        return _BAD


class _bounded:
    """Bounds the memory the process may map while a value is decoded (Linux: RLIMIT_AS), so
    that a crafted count (a list of 2**31 items in five bytes, which marshal would allocate
    before reading it) fails at once with MemoryError instead of taking seconds and
    gigabytes. A real value needs far less than 64 times its size."""

    def __init__(self, size: int):
        self.size = size
        self.old = None

    def __enter__(self):
        if self.size < 1 << 16:  # too small to hold a count that matters: not worth the calls
            return self
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
    path = Path(path)
    empty = State(key=key)
    try:
        data = (path / "index").read_bytes()
    except (FileNotFoundError, NotADirectoryError):  # no state (yet)
        if path.exists() and not path.is_dir():
            empty.warnings.append("the build cache is not a diplokb state (a file where its folder "
                                  "should be); it is ignored: a clean build")
        return empty
    except OSError as exc:
        empty.warnings.append(f"cannot read the build cache ({exc.strerror or exc}); a clean build")
        return empty
    if not data.startswith(MAGIC):
        empty.warnings.append("the build cache is not a diplokb state (an older format or another "
                              "file); it is ignored: a clean build")
        return empty
    try:
        frames = list(_frames(data))
        if not frames:
            raise _Corrupt("it ends early")
        head = _value(*frames[0], _is_head)
        if head is _BAD:
            raise _Corrupt("its header is damaged")
        if head[:2] != (FORMAT, key):
            return empty  # diplokb, its ontology or its shapes changed: a clean build
        n_units = head[2]
        if len(frames) != 2 + n_units:
            raise _Corrupt("it has not the frames its header announces")
        meta = _value(*frames[-1], state_meta.is_meta)
        if meta is _BAD:
            raise _Corrupt("its summary of the KB and the exports failed its digest or shape check")
    except _Corrupt as exc:
        empty.warnings.append(f"the build cache is damaged ({exc}); it is ignored: a clean build")
        return empty
    units, damaged = {}, 0
    for payload, ok in frames[1:-1]:
        entry = _value(payload, ok, _is_entry_frame)
        if entry is _BAD:
            damaged += 1
        else:
            units[entry[0]] = unit = new_unit(entry[0], dict(zip(LIGHT, entry[1])))
            unit.frame = payload
    state = State(key=key, units=units, meta=meta, folder=path)
    if damaged:
        state.warnings.append(f"the build cache is damaged ({damaged} file entr{'y' if damaged == 1 else 'ies'} "
                              "failed the digest or shape check); those files are compiled again and "
                              "everything is rendered and validated again")
        state.complete = False
    return state


def write_chunks(path: Path, chunks: dict, *, every: bool = False) -> None:
    """Writes the chunks (name -> bytes), each a temporary moved in: those not there yet, or
    with `every` all of them. A build that did not read the state it replaces (a clean build,
    a damaged cache) passes `every`: a file already there with a chunk's name may be a damaged
    copy, and keeping it would make the next builds find it again."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    for name, data in chunks.items():
        if every or not (path / name).is_file():
            _write_new(path, name, data)


def save(path: Path, state: State, previous: State | None = None) -> None:
    """Writes the index (a temporary moved in: never a half-written index) once its chunks are
    written (write_chunks); removes what a killed save left and the chunks that neither this
    index nor the previous one names. Raises OSError when it cannot write."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    from .files import _Lock

    with _Lock(path):
        for left in path.glob(".tmp.*"):  # a killed save's
            left.unlink(missing_ok=True)
        index = bytearray(MAGIC)
        for rel, u in [(None, None), *state.units.items(), (None, None)]:
            if u is None:
                payload = marshal.dumps((FORMAT, state.key, len(state.units)) if rel is None and len(index) == len(MAGIC)
                                        else state.meta)
            else:  # an entry as it was read, if it did not change (cheaper than marshalling it again)
                payload = u.frame or marshal.dumps((rel, tuple(u[k] for k in LIGHT)))
            index += len(payload).to_bytes(8, "little") + hashlib.sha256(payload).digest() + payload
        # the previous index's chunks are kept for the builds still reading them: those this
        # build read it from (`previous`), else those the index on disk names
        kept = _names_of(previous) if previous is not None and previous.meta else _names(path / "index")
        _write_new(path, "index", bytes(index))
        keep = kept | _names_of(state)
        for f in path.iterdir():
            if _is_name(f.name) and f.name not in keep:
                f.unlink(missing_ok=True)
    # the one-file state of formats 1 and 2 (state-<kb>.marshal), which this folder replaces
    path.with_name(path.name + ".marshal").unlink(missing_ok=True)


def _write_new(folder: Path, name: str, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".tmp.", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, folder / name)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _names_of(state: State) -> set:
    names = {u[k] for u in state.units.values() for k in ("chunk", "rchunk") if u.get(k)}
    if state.meta:
        names.add(state.meta["results"])
        names.add(state.meta["reads"])
        names.update(state.meta["reverse"])
        names.update(state_meta.layout_names(state.meta))  # the exports' layout blocks
    return names


def _names(index: Path) -> set:
    """The chunks a saved index names (none if it cannot be read: its chunks are then garbage)."""
    try:
        data = index.read_bytes()
        if not data.startswith(MAGIC):
            return set()
        frames = list(_frames(data))
        if not frames:  # the magic alone
            return set()
        meta = _value(*frames[-1], state_meta.is_meta)
        names = set() if meta is _BAD else {meta["results"], meta["reads"], *meta["reverse"],
                                            *state_meta.layout_names(meta)}
        for payload, ok in frames[1:-1]:
            entry = _value(payload, ok, _is_entry_frame)
            if entry is not _BAD:
                names.add(entry[1][LIGHT.index("chunk")])
                names.add(entry[1][LIGHT.index("rchunk")])
        return names
    except (OSError, _Corrupt):
        return set()


def chunk_bytes(value) -> tuple[str, bytes]:
    data = marshal.dumps(value)
    return hashlib.sha256(data).hexdigest(), data
