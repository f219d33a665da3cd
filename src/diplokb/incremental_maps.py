"""The id index and the files of each subject in a build (incremental.Build): the saved maps
(cache_maps.py) with the changes of this build's files, so that a build after an edit reads
the entries of the files it compiled (and the shards of the keys it looks up), not every
file's. A build without a usable state starts from empty maps and every file's entry, which is
the same code with every file changed.
"""
from __future__ import annotations

from collections import defaultdict

from .cache_maps import first_entry, moved
from .errors import Problem, SourceLocation


class IdIndex:
    """id -> index entry (its first definition's), as compile.py looks ids up: the saved map of
    ids (`saved`) with `new` (id -> its definitions now) over it."""

    def __init__(self, saved, new: dict):
        self.saved = saved
        self.new = new

    def defs(self, rid: str) -> tuple:
        found = self.new.get(rid)
        return self.saved.get(rid) if found is None else found

    def get(self, rid: str, default=None):
        defs = self.defs(rid)
        return defs[0][2] if defs else default

    def __getitem__(self, rid: str):
        defs = self.defs(rid)
        if not defs:
            raise KeyError(rid)
        return defs[0][2]

    def __contains__(self, rid: str) -> bool:
        return bool(self.defs(rid))

    def items(self):
        """Every (id, entry) (every shard of the saved map read: for suggestions after an error)."""
        for rid, defs in self.saved.items():
            if rid not in self.new and defs:
                yield rid, defs[0][2]
        for rid, defs in self.new.items():
            if defs:
                yield rid, defs[0][2]

    def owner(self, sid: str) -> str | None:
        """The first file defining `sid` as a source."""
        return next((d[0] for d in self.defs(sid) if d[2][0] == "source"), None)


class Owners:
    """subject -> the files with triples of it, in file order: the saved map with this build's
    changes (`changes`: subject -> files now, () when none) over it, and over those the last
    build recorded for the subjects its validation read (`recorded(s)`, None when not);
    `count`: the number of subjects."""

    def __init__(self, saved, changes: dict, count: int, recorded=lambda s: None):
        self.saved = saved
        self.changes = changes
        self.count = count
        self.recorded = recorded

    def get(self, s: str, default=()):
        found = self.changes.get(s)
        if found is None:
            found = self.recorded(s)
            if found is None:
                found = self.saved.get(s)
        return found or default

    def __getitem__(self, s: str):
        found = self.get(s)
        if not found:
            raise KeyError(s)
        return found

    def __contains__(self, s: str) -> bool:
        return bool(self.get(s))

    def __len__(self) -> int:
        return self.count


def index(build, loaded: dict, changed: set) -> tuple[IdIndex, list]:
    """(the id index, the duplicate-id problems as index.build_index gives them: one for each
    definition after an id's first, in file order), from the saved map of ids and the defines
    of the files `loaded` (rel -> index.defines()); `changed`: those and the removed files."""
    saved, delta = build.old.map("ids"), build.old.delta
    adds: dict = defaultdict(list)
    ids: set = set()
    for rel in sorted(changed):  # file order
        after = [(rid, pos, entry, loc.line, loc.column) for pos, (rid, entry, loc) in enumerate(loaded.get(rel, ()))]
        for rid, *d in after:
            adds[rid].append((rel, *d))
        old = build.old.units.get(rel) if delta else None
        if old is None:
            ids.update(d[0] for d in after)
        else:  # the ids whose definitions in this file changed (the others' are as saved)
            before = [(rid, pos, entry, line, col) for pos, (rid, entry, line, col) in enumerate(old["defines"])]
            ids.update(d[0] for d in set(before).symmetric_difference(after))
    new = {}
    dups = []
    for rid in ids:
        defs = [d for d in saved.get(rid) if d[0] not in changed]
        defs += adds.get(rid, ())
        if len(defs) > 1:
            defs.sort()  # by file, then position in it (unique)
            first = SourceLocation(build.display(defs[0][0]), defs[0][3], defs[0][4])
            for rel, pos, _, line, col in defs[1:]:
                dups.append(((rel, pos), Problem(SourceLocation(build.display(rel), line, col),
                                                 f"duplicate id '{rid}' (first defined at {first})")))
        new[rid] = tuple(defs)
    dups.sort(key=lambda d: d[0])
    return IdIndex(saved, new), [p for _, p in dups]


def to_compile_again(build, index: IdIndex) -> list:
    """The files not loaded whose lookups no longer hold (an id they looked up has another
    entry now), in file order: with a state, those its map of lookers names for the ids
    whose entry changed; without, every file's lookups checked."""
    if not build.old.delta:
        get, out = index.get, []
        for rel, _, _ in build.files:
            if rel not in build.records and rel not in build.theirs:
                lookups = build.old.units[rel]["lookups"]
                if list(map(get, lookups)) != list(lookups.values()):
                    out.append(rel)
        return out
    saved, lookers = index.saved, build.old.map("lookers")
    found: set = set()
    for rid, defs in index.new.items():
        if first_entry(defs) != first_entry(saved.get(rid)):
            found.update(lookers.get(rid))
    return sorted(rel for rel in found if rel in build.paths and rel not in build.records and rel not in build.theirs)


def owners(build, changed: set, new_units: dict):
    """The files of each subject after this build (`changed`: the files compiled or removed;
    `new_units`: rel -> the entry of each compiled file)."""
    if not build.old.delta:
        out = defaultdict(list)
        for rel, unit in build.units.items():
            for s in unit["subjects"]:
                out[s].append(rel)
        return out
    saved = build.old.map("owners")
    now: dict = defaultdict(list)
    subjects: set = set()
    for rel in sorted(changed):
        old = build.old.units.get(rel)
        new = new_units[rel]["subjects"] if rel in new_units else frozenset()
        if old is not None:
            subjects |= old["subjects"] ^ new  # the files of the others did not change
        else:
            subjects |= new
        for s in new:
            now[s].append(rel)
    changes, count = {}, build.old.meta["subjects"]
    for s in subjects:
        before = saved.get(s)
        after = moved(before, changed, now.get(s, ()))
        changes[s] = after
        count += bool(after) - bool(before)
    return Owners(saved, changes, count, build.old.read_owners)


def old_owners(build, touched: set) -> dict:
    """subject -> the entries (in the saved state) of the files that had triples of it, for the
    touched subjects."""
    out: dict = defaultdict(list)
    if not build.old.delta:
        for unit in build.old.units.values():
            for s in unit["subjects"] & touched:
                out[s].append(unit)
        return out
    saved, units = build.old.map("owners"), build.old.units
    for s in touched:
        for rel in saved.get(s):
            unit = units.get(rel)
            if unit is not None:
                out[s].append(unit)
    return out


def changed_maps(build, changed: set) -> dict:
    """name -> the map of ids, owners, lookers as the state to save has them: the saved maps
    with this build's changes set (their changed shards are what a save writes), or without a
    usable state, made whole from every file's entry."""
    from . import cache_maps

    if not build.old.delta:
        return cache_maps.full(build.units)
    ids = build.old.map("ids")
    for rid, defs in build.index.new.items():
        if defs != ids.get(rid):
            ids.set(rid, defs)
    owners_map = build.old.map("owners")
    for s, after in build.owners.changes.items():
        if after != owners_map.get(s):
            owners_map.set(s, after)
    lookers = build.old.map("lookers")
    now: dict = defaultdict(list)
    keys: set = set()
    for rel in sorted(changed):
        old = build.old.units.get(rel)
        new = build.units[rel]["lookups"].keys() if rel in build.units else set()
        keys |= (old["lookups"].keys() ^ new) if old is not None else set(new)
        for rid in new:
            now[rid].append(rel)
    for rid in keys:
        before = lookers.get(rid)
        after = moved(before, changed, now.get(rid, ()))
        if after != before:
            lookers.set(rid, after)
    return {"ids": ids, "owners": owners_map, "lookers": lookers}
