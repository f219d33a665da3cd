"""The index of a saved state (cache.py): the one file every build with the cache reads whole,
and how a save writes it and removes the chunks no index names any more.

The index is the magic, then frames (each its length, the SHA-256 of its bytes and the bytes):

- the header: (format, code key, number of table frames);
- `names`: the chunk names of the KB-wide maps' shards (cache_maps.py), of the curation
  warnings of every file (`advice`) and the chunks the save that wrote this index stopped
  naming (`retired`: the next save removes them, so that no save lists the folder);
- the table, cache.ROWS files a frame: per file its path in the KB, the digests and stat of
  its YAML and of its text, the names of its three chunks (triples, rendered texts, `entry`:
  what it defines, looked up and has triples of) and the ids of the sources it defines;
- `meta` (state_meta.py).

A damaged table frame costs the files it lists (compiled again; the state is incomplete), a
damaged `names` frame the maps (made again from every file's entry); a damaged header or
`meta` means a clean build.
"""
from __future__ import annotations

import hashlib
import marshal
import os
import tempfile
from pathlib import Path

from . import state_meta
from .cache import _BAD, _HEAD, FORMAT, LIGHT, MAGIC, ROWS, State, _value, new_unit
from .cache_shapes import _is_head, _is_name, _is_names, _is_table

SAVING = ".saving"  # there from write_chunks to the end of save
UNFINISHED = ".unfinished"  # SAVING was found there: the next save lists the folder


class Corrupt(Exception):
    pass


def state_path(cache_dir: Path, kb_dir: Path) -> Path:
    name = hashlib.sha1(str(Path(kb_dir).resolve()).encode()).hexdigest()[:16]
    return Path(cache_dir) / f"state-{name}"


def _frames(data: bytes):
    """(bytes, digest matches) of each frame after the magic; raises Corrupt when truncated."""
    pos, end = len(MAGIC), len(data)
    while pos < end:
        if end - pos < _HEAD:
            raise Corrupt("it ends in the middle of a frame")
        size = int.from_bytes(data[pos:pos + 8], "little")
        start = pos + _HEAD
        if size > end - start:
            raise Corrupt("it ends in the middle of a frame")
        payload = data[start:start + size]
        yield payload, hashlib.sha256(payload).digest() == data[pos + 8:start]
        pos = start + size


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
            raise Corrupt("it ends early")
        head = _value(*frames[0], _is_head)
        if head is _BAD:
            raise Corrupt("its header is damaged")
        if head[:2] != (FORMAT, key):
            return empty  # diplokb, its ontology or its shapes changed: a clean build
        if len(frames) != 3 + head[2]:
            raise Corrupt("it has not the frames its header announces")
        meta = _value(*frames[-1], state_meta.is_meta)
        if meta is _BAD:
            raise Corrupt("its summary of the KB and the exports failed its digest or shape check")
    except Corrupt as exc:
        empty.warnings.append(f"the build cache is damaged ({exc}); it is ignored: a clean build")
        return empty
    names = _value(*frames[1], _is_names)
    units, damaged = {}, 0
    for payload, ok in frames[2:-1]:
        rows = _value(payload, ok, _is_table)
        if rows is _BAD:
            damaged += 1
            continue
        for row in rows:
            units[row[0]] = new_unit(row[0], dict(zip(LIGHT, row[1:])))
    state = State(key=key, units=units, meta=meta, folder=path, names=None if names is _BAD else names)
    if damaged or names is _BAD:
        what = (f"{damaged} part{'' if damaged == 1 else 's'} of its table of files" if damaged
                else "the names of its maps")
        state.warnings.append(f"the build cache is damaged ({what} failed the digest or shape check); "
                              "the files it lists are compiled again and everything is rendered and "
                              "validated again")
        state.complete = False
    return state


def write_chunks(path: Path, chunks: dict, *, every: bool = False) -> None:
    """Writes the chunks (name -> bytes), each a temporary moved in: those not there yet, or
    with `every` all of them. A build that did not read the state it replaces (a clean build,
    a damaged cache) passes `every`: a file already there with a chunk's name may be a damaged
    copy, and keeping it would make the next builds find it again. Marks the folder (SAVING)
    until `save` ends: a save killed in between leaves temporaries and chunks no index names."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    _mark(path)
    for name, data in chunks.items():
        if every or not os.path.isfile(os.path.join(path, name)):
            _write_new(path, name, data)


def _mark(path: Path) -> None:
    """SAVING, holding this process's id; found there from another process (a save that did
    not end: killed, or one running now), UNFINISHED too."""
    mine = str(os.getpid()).encode()
    try:
        fd = os.open(path / SAVING, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        try:
            found = (path / SAVING).read_bytes()
        except OSError:
            found = b""
        if found != mine:  # (a build writes chunks twice: its own mark is no sign of a killed save)
            with open(path / UNFINISHED, "ab"):
                pass
        return
    with os.fdopen(fd, "wb") as fh:
        fh.write(mine)


def save(path: Path, state: State, previous: State | None = None) -> None:
    """Writes the index (a temporary moved in: never a half-written index) once its chunks are
    written (write_chunks); removes the chunks that neither this index nor the previous one
    names: those the previous save retired, when this build read that state (`previous`), else
    (and after a killed save) every such file in the folder. Raises OSError when it cannot write."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    from .files import _Lock

    with _Lock(path):
        listed = previous is None or not previous.delta or os.path.exists(path / UNFINISHED)
        # the previous index's chunks are kept for the builds still reading them: those this
        # build read it from (`previous`), else those the index on disk names
        kept = _names_of(previous) if previous is not None and previous.meta else _names(path / "index")
        new = _names_of(state)
        names = dict(state.names or {}, retired=tuple(sorted(kept - new)))
        _write_new(path, "index", index_bytes(state, names))
        keep = kept | new
        if listed:
            for f in os.listdir(path):
                if f.startswith(".tmp.") or (_is_name(f) and f not in keep):
                    os.unlink(os.path.join(path, f))
        else:
            for f in previous.names["retired"]:
                if f not in keep:
                    try:
                        os.unlink(os.path.join(path, f))
                    except FileNotFoundError:
                        pass
        for marker in (SAVING, UNFINISHED):
            try:
                os.unlink(path / marker)
            except FileNotFoundError:
                pass
    # the one-file state of formats 1 and 2 (state-<kb>.marshal), which this folder replaces
    path.with_name(path.name + ".marshal").unlink(missing_ok=True)


def index_bytes(state: State, names: dict) -> bytes:
    rows = [(rel, *[u[k] for k in LIGHT]) for rel, u in state.units.items()]
    parts = [tuple(rows[i:i + ROWS]) for i in range(0, len(rows), ROWS)]
    index = bytearray(MAGIC)
    for value in ((FORMAT, state.key, len(parts)), names, *parts, state.meta):
        payload = marshal.dumps(value)
        index += len(payload).to_bytes(8, "little") + hashlib.sha256(payload).digest() + payload
    return bytes(index)


def _write_new(folder: Path, name: str, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".tmp.", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, os.path.join(folder, name))
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _names_of(state: State) -> set:
    names = {u[k] for u in state.units.values() for k in ("chunk", "rchunk", "entry") if u.get(k)}
    if state.meta:
        names.add(state.meta["results"])
        names.add(state.meta["reads"])
        names.update(state.meta["reverse"])
        names.update(state_meta.layout_names(state.meta))  # the exports' layout blocks
    if state.names:
        names.add(state.names["advice"])
        for key in ("ids", "owners", "lookers"):
            names.update(state.names[key])
    return names


def _names(index: Path) -> set:
    """The chunks a saved index names (none if it cannot be read: its chunks are then garbage)."""
    try:
        data = index.read_bytes()
        if not data.startswith(MAGIC):
            return set()
        frames = list(_frames(data))
        if len(frames) < 2:  # the magic alone, or a header alone
            return set()
        meta = _value(*frames[-1], state_meta.is_meta)
        names = set() if meta is _BAD else {meta["results"], meta["reads"], *meta["reverse"],
                                            *state_meta.layout_names(meta)}
        found = _value(*frames[1], _is_names)
        if found is not _BAD:
            names.add(found["advice"])
            for key in ("ids", "owners", "lookers"):
                names.update(found[key])
        for payload, ok in frames[2:-1]:
            rows = _value(payload, ok, _is_table)
            if rows is not _BAD:
                for row in rows:
                    names.update(row[6:9])
        return names
    except (OSError, Corrupt):
        return set()
