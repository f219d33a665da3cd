"""The build cache: what each YAML file compiled to and how each subject was written, keyed by
content, so that a build after an edit redoes, reads and writes only what the edit touches.

A build keeps one state folder per KB (under `.diplokb-cache/`, `state-NAME/`). Everything in
it is plain strings, numbers, tuples, sets and dicts in marshal format (never pickle, which
runs code when it loads; marshal only builds values, and each value is then checked to have
the shape the build expects). It holds

- `index`, read whole by every build (cache_index.py): a series of frames, each its length,
  the SHA-256 of its bytes and the bytes: the header (format, `key`: a digest of diplokb's
  code, the ontology, the vocabularies and the shapes; a state with another key is ignored, so
  a change to any of them means a clean build); the names of the KB-wide maps' shards and of
  the curation warnings' chunk; the table, a row per YAML file (path relative to the KB
  folder): the digests of its YAML and of its archived text, their stat (size, mtime_ns,
  inode), the names of its chunks and the ids of the sources it defines; then `meta`: the
  names of the results chunk and of the reverse-link shards, the KB's figures (triples,
  subjects by predicate and by class) and the layout of each export (state_meta.py);
- chunks, read on demand: files named by the SHA-256 of their bytes (so a chunk checks
  itself), never changed once written. A unit's `entry` holds the ids it defines (with the
  entry other files see), the index entries it was compiled against (`lookups`) and the
  subjects it has triples of; its `chunk` its triples by subject and graph and its subjects'
  lines; its `rchunk` the rendered texts (N-Triples, Turtle, JSON-LD, counts, TriG blocks) of
  the subjects it is the first file of. The KB-wide maps (cache_maps.py: id -> definitions,
  subject -> files, id -> files that looked it up) are sharded chunks, which a build updates
  by its edits; the curation warnings (advice.file_advice of every file, a function of its
  YAML alone) one chunk; the results chunk the fast SHACL engine's results by focus node
  (None after a pySHACL build); a reverse-link shard the subjects linking to each object IRI
  of its share (`shard()`).

A file is recompiled when its YAML or text changed, or when an entry it looked up in the index
changed (the map of lookers names the files). A state is written only once the KB compiled and
validated; a build with errors leaves the previous one, which stays correct. A save writes the
chunks that changed, then the index in one step (a temporary moved in), and removes the chunks
neither the new nor the previous index names (a build still reading the previous state finds
its chunks): those the previous save stopped naming, or after a killed save every such file.

A state is never trusted blindly. A frame or a chunk whose digest does not match its bytes (a
flipped bit, an edit) or whose value has not the expected shape (a crafted file) is a warning:
a damaged part of the table or a damaged unit chunk means those files are compiled again,
and the rendered texts, results and maps are then rebuilt for every subject and file
(`complete` false); a damaged header or meta frame means a clean build. A chunk found damaged
in the middle of a build raises `Damaged`, and the build starts again that way (pipeline.py).
The cache is an optimisation: `build --check` and `--no-cache` do not read it, and a cache
that cannot be read or written is a warning, never a failed build.
"""
from __future__ import annotations

import hashlib
import marshal
import os
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from . import cache_maps, state_meta
from .cache_shapes import (_is_advice_map, _is_chunk, _is_entry, _is_head, _is_ids, _is_name, _is_names, _is_rchunk,
                           _is_reads, _is_results, _is_shard, _is_table)

FORMAT = 5
MAGIC = b"diplokb build cache 5\n"
NSHARDS = 256  # reverse-link shards: an edit reads those of the objects it reaches
_HEAD = 8 + 32  # a frame's length and digest
ROWS = 512  # file rows per frame of the table
LIGHT = ("yaml", "stat", "text", "text_digest", "text_stat", "chunk", "rchunk", "entry", "sources")
HEAVY = {"contrib": "chunk", "locations": "chunk", "rendered": "rchunk", "trig": "rchunk",
         "defines": "entry", "lookups": "entry", "subjects": "entry"}  # key -> its chunk


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
        self.count = 0  # chunks read (what a build costs: tests)

    def read(self, name: str, check):
        """The chunk's value, or _BAD when it is missing, fails its digest or its shape."""
        if self.folder is None or not _is_name(name):
            return _BAD
        self.count += 1
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

    __slots__ = ("rel", "state")

    def __missing__(self, key):
        if key not in HEAVY or getattr(self, "state", None) is None:
            raise KeyError(key)
        kind = HEAVY[key]
        if kind == "chunk":
            self.state.load_chunk(self)
        elif kind == "entry":
            self.state.load_entry(self)
        else:
            self.state.load_rendered(self)
        return dict.__getitem__(self, key)


def new_unit(rel: str, values: dict) -> Unit:
    u = Unit(values)
    u.rel, u.state = rel, None
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
    # the names of the KB-wide maps' shards (cache_maps.py), of the curation warnings' chunk and
    # the chunks the previous save stopped naming (`retired`, which the next save removes);
    # None: none saved, or damaged (the maps are then made from every file's entry)
    names: dict | None = None
    _advice: object = None  # set to _UNREAD in __post_init__

    def __post_init__(self):
        self.chunks = Chunks(self.folder)
        self._results = _UNREAD
        self._reads = _UNREAD
        self._advice = _UNREAD
        self._maps: dict = {}
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
    def delta(self) -> bool:
        """Whether a build may update the KB-wide maps by its edits (else it makes them whole)."""
        return self.meta is not None and self.complete and self.names is not None

    def map(self, name: str):
        """One of the KB-wide maps (cache_maps.MAPS), its shards read on demand."""
        found = self._maps.get(name)
        if found is None:
            check = _is_ids if name == "ids" else _is_shard

            def read(chunk: str):
                value = self.chunks.read(chunk, check)
                if value is _BAD:
                    raise Damaged(None, f"a shard of the map of {name} failed its digest or shape check")
                return value
            found = self._maps[name] = cache_maps.ShardedMap(self.names[name] if self.delta else None, read)
        return found

    @property
    def advice(self) -> dict:
        """rel -> advice.file_advice of every file, as the last build recorded it."""
        if self._advice is _UNREAD:
            if not self.delta:
                self._advice = {}
            else:
                found = self.chunks.read(self.names["advice"], _is_advice_map)
                if found is _BAD:
                    raise Damaged(None, "the curation warnings failed their digest or shape check")
                self._advice = found
        return self._advice

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

    def _read_reads(self) -> tuple:
        if self._reads is _UNREAD:
            if not (self.meta and self.complete):
                self._reads = ({}, {})
            else:
                found = self.chunks.read(self.meta["reads"], _is_reads)
                if found is _BAD:
                    raise Damaged(None, "the triples the last validation read failed their digest or shape check")
                self._reads = found
        return self._reads

    def read_owners(self, s: str):
        """The files of a subject as the last build recorded them for a subject its validation
        read (None: not recorded; the map of owners has it)."""
        return self._read_reads()[1].get(s)

    def read_cached(self, rel: str, chunk: str, s: str):
        """A subject's triples in a unit's chunk (graph -> pairs) as the last incremental
        validation read them, if recorded there with that chunk's name (the chunk's content,
        since a chunk is named by its digest); None: read the chunk. A reads chunk that fails
        its check raises Damaged, as any other."""
        found = self._read_reads()[0].get(rel)
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
        if dict.__contains__(unit, "subjects") and contrib.keys() != unit["subjects"]:
            raise Damaged(unit.rel, f"the chunk of {unit.rel} is not the one its entry names")
        dict.update(unit, contrib=contrib, locations=locations)

    def load_entry(self, unit: Unit) -> None:
        """Reads what a file defines, looked up and has triples of (its entry chunk)."""
        found = self.chunks.read(unit.get("entry", ""), _is_entry)
        if found is _BAD:
            raise Damaged(unit.rel, f"the entry of {unit.rel} failed its digest or shape check")
        defines, lookups, subjects = found
        if dict.__contains__(unit, "contrib") and unit["contrib"].keys() != subjects:
            raise Damaged(unit.rel, f"the chunk of {unit.rel} is not the one its entry names")
        dict.update(unit, defines=defines, lookups=lookups, subjects=subjects)

    def load_rendered(self, unit: Unit) -> None:
        """Reads the rendered texts of the subjects a unit is the first file of (its rchunk)."""
        found = self.chunks.read(unit.get("rchunk", ""), _is_rchunk)
        if found is _BAD:
            raise Damaged(unit.rel, f"the rendered texts of {unit.rel} failed their digest or shape check")
        rendered, trig = found
        if dict.__contains__(unit, "subjects") and not rendered.keys() <= unit["subjects"]:
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
                unit["subjects"]
                dict.update(unit, rendered={}, trig={})
            except Damaged:
                del self.units[rel]
                dropped.append(rel)
        if dropped:
            self.complete = False
        return dropped


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


def chunk_bytes(value) -> tuple[str, bytes]:
    data = marshal.dumps(value)
    return hashlib.sha256(data).hexdigest(), data


from .cache_index import Corrupt as _Corrupt, load, save, state_path, write_chunks  # noqa: E402,F401
