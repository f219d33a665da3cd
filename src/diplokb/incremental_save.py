"""What a build saves in the cache (cache.py): the chunks that changed, then an index naming
every chunk. A build that read the whole state (a clean build, a damaged cache) writes every
chunk; a build after an edit writes the chunks of the files it compiled and of the files whose
subjects it rendered again (their first file, before and after), the reverse-link shards its
changed subjects touch, and the results."""
from __future__ import annotations

from collections import defaultdict

from . import affected, cache, cache_maps, incremental_maps, state_meta


def chunks(build, results, full: bool) -> tuple[dict, dict, dict, dict]:
    """(rel -> chunk names, name -> chunk bytes, rest of meta: results, reverse, figures,
    subjects, the index's `names` frame but `retired`: cache_index.py). Runs beside the exports'
    write (in another process when `full`): writes nothing of the build's but what reading it
    fills in (chunks read on demand, `read_log`)."""
    owners, rendered, trig, touched = build.owners, build.rendered, build.trig, build.touched
    units = build.units
    if full:
        dirty = set(units)
    else:
        dirty = set(build.compiled)
        for s in touched:
            if s in owners:
                dirty.add(owners[s][0])
            if s in build.old_primary:
                dirty.add(build.old_primary[s])
        dirty &= units.keys()
    log = {rel: dict(found) for rel, found in build.read_log.items()}  # before graphs_of below adds to it
    names, out = {}, {}
    for rel in (units if full else build.compiled):  # the files' triples change only when compiled
        unit = units[rel]
        name, data = cache.chunk_bytes((unit["contrib"], unit["locations"]))
        names[rel], out[name] = {"chunk": name}, data
        name, data = cache.chunk_bytes((unit["defines"], unit["lookups"], unit["subjects"]))
        names[rel]["entry"], out[name] = name, data
    # what this build read of the files' triples, by file and its chunk's name: the next build
    # after an edit likely reads the same subjects (none after a clean build)
    reads = {} if full else {rel: (names[rel]["chunk"] if rel in names else units[rel]["chunk"], found)
                             for rel, found in log.items() if rel in units}
    # and the files of each subject it read (so that the next build need not look them up)
    reads = (reads, {} if full else {s: tuple(owners.get(s, ())) for s in build.read_subjects})
    if not full and not log and not build.owners.changes:  # (a build that validated nothing, and
        reads_name = build.old.meta["reads"]  # moved no subject between files: the last one's stays)
    else:
        reads_name, data = cache.chunk_bytes(reads)
        out[reads_name] = data
    for rel in dirty:
        unit = units[rel]
        contrib = unit["contrib"]
        old_trig = unit["trig"]
        mine = [s for s in contrib if owners[s][0] == rel]
        rows = {s: rendered[s] for s in mine}
        blocks = {k: b for k, b in old_trig.items() if k[1] not in touched and owners[k[1]][0] == rel}
        for s in mine:
            if s in touched or full:
                for g in build.graphs_of(s):
                    if (g, s) in trig:
                        blocks[(g, s)] = trig[(g, s)]
        name, data = cache.chunk_bytes((rows, blocks))
        names.setdefault(rel, {})["rchunk"] = name
        out[name] = data
    old_meta = build.old.meta
    reverse = list(old_meta["reverse"]) if old_meta and not full else None
    for n, shard in _shards(build, full).items():
        name, data = cache.chunk_bytes(shard)
        out[name] = data
        if reverse is None:
            reverse = [None] * cache.NSHARDS
        reverse[n] = name
    name, data = cache.chunk_bytes(results)
    out[name] = data
    if full:
        figures = state_meta.figures_of(rendered.values())
    else:
        old_rows = [r for s, r in build.old_rows.items() if r is not None]
        new_rows = [rendered[s] for s in touched if s in rendered]
        figures = state_meta.updated(old_meta["figures"], old_rows, new_rows)
    meta = {"results": name, "reads": reads_name, "reverse": tuple(reverse), "figures": figures, "subjects": len(owners)}
    return names, out, meta, _maps(build, out)


def _maps(build, out: dict) -> dict:
    """The index's `names` frame (but `retired`): the shards of the KB-wide maps and the chunk
    of the curation warnings, the changed ones added to `out`."""
    old = build.old
    found = {}
    for key, m in incremental_maps.changed_maps(build, build.changed_files).items():
        shards = list(m.names) if m.names is not None else [None] * cache_maps.NMAP
        for n, shard in m.changed().items():
            shards[n], data = cache.chunk_bytes(shard)
            out[shards[n]] = data
        found[key] = tuple(shards)
    if old.delta and build.advice == old.advice:
        found["advice"] = old.names["advice"]
    else:
        found["advice"], data = cache.chunk_bytes(build.advice)
        out[found["advice"]] = data
    return found


def _shards(build, full: bool) -> dict:
    """shard number -> its new value, for the shards that changed."""
    if full:
        reverse: dict = defaultdict(set)
        for unit in build.units.values():
            for s, gs in unit["contrib"].items():
                for pairs in gs.values():
                    for _, o in pairs:
                        if type(o) is str:
                            reverse[o].add(s)
        shards = {n: {} for n in range(cache.NSHARDS)}
        for o, ss in reverse.items():
            shards[cache.shard(o)][o] = tuple(sorted(ss))
        return shards
    shards: dict = {}
    for s in build.changed:
        before, after = build.link_delta.get(s) or ((), affected.links(build, s))
        for o in set(before) ^ set(after):
            n = cache.shard(o)
            if n not in shards:
                build.old.reverse(o)  # reads the shard
                shards[n] = {k: set(v) for k, v in build.old._shards[n].items()}
            found = shards[n].setdefault(o, set())
            if o in after:
                found.add(s)
            else:
                found.discard(s)
    return {n: {o: tuple(sorted(ss)) for o, ss in shard.items() if ss} for n, shard in shards.items()}


def state(build, key: str, names: dict, meta: dict, exports, maps: dict) -> cache.State:
    """The state to save: every file's entry with its chunks' names, `meta` with the exports'
    layout (None: the exports on disk are not those of this build) and the maps' names."""
    units = {}
    for rel, unit in build.units.items():
        light = {k: unit[k] for k in cache.LIGHT}
        light.update(names.get(rel, ()))
        units[rel] = cache.new_unit(rel, light)
    return cache.State(key=key, units=units, meta={**meta, "exports": exports}, names=maps)
