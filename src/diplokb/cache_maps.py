"""The KB-wide maps of a saved state (cache.py), kept so that a build after an edit reads and
writes what the edit touches instead of every file's entry:

- `ids`: id -> the definitions of it, in file order ((file, position in the file's defines,
  index entry, line, column) each): the id index (index.build_index) is the first entry of
  each, the duplicates the others;
- `owners`: subject -> the files with triples of it, in file order;
- `lookers`: id -> the files compiled against its index entry (their `lookups`), in file order:
  those to compile again when the entry changes.

Each is cut into NMAP shards by a CRC-32 of the key, each shard a content-addressed chunk read
on first use (`ShardedMap`); a build changes a few keys (`set`), and its save writes the
shards it changed. A KB file's path relative to the KB ('entities/x.yaml') sorts as the build
orders the files (entities first, then by name: loader.kb_files), so "file order" is the
paths' sort order.
"""
from __future__ import annotations

import zlib
from bisect import insort

NMAP = 256
MAPS = ("ids", "owners", "lookers")


def map_shard(key: str) -> int:
    return zlib.crc32(key.encode("utf-8", "surrogatepass")) % NMAP


class ShardedMap:
    """key -> value over NMAP shards; `read(n)` gives shard n's dict (raising cache.Damaged when
    it fails its check). `names`: the shards' chunk names as saved (None: an empty map)."""

    def __init__(self, names: tuple | None, read=None):
        self.names = names
        self._read = read
        self._shards: dict = {}
        self.dirty: set = set()  # shard numbers changed by `set`

    def _shard(self, n: int) -> dict:
        found = self._shards.get(n)
        if found is None:
            found = self._shards[n] = {} if self.names is None else self._read(self.names[n])
        return found

    def get(self, key: str, default=()):
        return self._shard(map_shard(key)).get(key, default)

    def set(self, key: str, value) -> None:
        """Sets `key` (an empty value removes it)."""
        n = map_shard(key)
        shard = self._shard(n)
        if n not in self.dirty:  # a copy: the shard read may be shared with the state's reader
            shard = self._shards[n] = dict(shard)
            self.dirty.add(n)
        if value:
            shard[key] = value
        else:
            shard.pop(key, None)

    def items(self):
        """Every (key, value) (every shard read)."""
        for n in range(NMAP):
            yield from self._shard(n).items()

    def changed(self) -> dict:
        """shard number -> its value, of the shards `set` changed (every shard of a new map)."""
        numbers = range(NMAP) if self.names is None else sorted(self.dirty)
        return {n: self._shard(n) for n in numbers}


def full(units: dict) -> dict:
    """name -> ShardedMap of each map, made from every file's entry (`units`: rel -> entry, in
    file order): a build without a usable state."""
    ids: dict = {}
    owners: dict = {}
    lookers: dict = {}
    for rel, unit in units.items():
        for pos, (rid, entry, line, col) in enumerate(unit["defines"]):
            ids.setdefault(rid, []).append((rel, pos, entry, line, col))
        for s in unit["subjects"]:
            owners.setdefault(s, []).append(rel)
        for rid in unit["lookups"]:
            lookers.setdefault(rid, []).append(rel)
    out = {}
    for name, values in zip(MAPS, (ids, owners, lookers)):
        m = out[name] = ShardedMap(None)
        for n in range(NMAP):
            m._shards[n] = {}
        for k, v in values.items():
            m._shards[map_shard(k)][k] = tuple(v) if name == "ids" else tuple(sorted(v))
    return out


def moved(old: tuple, changed: set, new_rels) -> tuple:
    """A value of `owners`/`lookers` (rels in file order) with the `changed` files taken out and
    `new_rels` (the changed files that now have the key) put in."""
    out = [rel for rel in old if rel not in changed]
    for rel in new_rels:
        insort(out, rel)
    return tuple(out)


def first_entry(defs: tuple):
    """The index entry of an id (its first definition's), None when it has none."""
    return defs[0][2] if defs else None
