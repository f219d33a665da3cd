"""The shapes the values of a saved build cache must have (cache.py): a value that digest-checks
but has another shape (a crafted file) is treated as damaged, never used. Checked with C-level
iteration (map, chain, itemgetter) where values are many: a rebuild checks every chunk it reads."""
from __future__ import annotations

from itertools import chain
from operator import itemgetter

TABLE_FIELDS = 9  # cache.LIGHT

_chain = chain.from_iterable
_first, _second, _third, _fourth = itemgetter(0), itemgetter(1), itemgetter(2), itemgetter(3)
_NONE = type(None)


def _types(values) -> set:
    return set(map(type, values))


def _all_str(values) -> bool:
    return _types(values) <= {str}


def _tuples_of(values, n: int) -> bool:
    """Whether every value is a tuple of n items."""
    return _types(values) <= {tuple} and set(map(len, values)) <= {n}


def _is_name(name) -> bool:
    return type(name) is str and len(name) == 64 and not name.strip("0123456789abcdef")


def _is_head(v) -> bool:
    return (type(v) is tuple and len(v) == 3 and type(v[0]) is int and type(v[1]) is str
            and type(v[2]) is int and v[2] >= 0)


def _is_stat(s) -> bool:
    return s is None or (type(s) is tuple and len(s) == 3 and _types(s) <= {int})


def _entries(values) -> bool:
    """Whether every value is an index entry: three strs."""
    values = list(values)
    return _tuples_of(values, 3) and _all_str(_chain(values))


def _is_stats(values) -> bool:
    """Whether every value is None or a stat (three ints)."""
    stats = [s for s in values if s is not None]
    return _tuples_of(stats, 3) and _types(_chain(stats)) <= {int}


def _all_names(values) -> bool:
    values = list(values)
    return _all_str(values) and set(map(len, values)) <= {64} and not "".join(values).strip("0123456789abcdef")


def _is_table(v) -> bool:
    """A frame of the index's table: rows (rel, *cache.LIGHT)."""
    if not (type(v) is tuple and _tuples_of(v, 1 + TABLE_FIELDS)):
        return False
    if not v:
        return True
    rel, yaml, stat, text, text_digest, text_stat, chunk, rchunk, entry, sources = zip(*v)
    return (_all_str(rel) and _all_str(yaml) and _all_str(text) and _all_str(text_digest) and _is_stats(stat)
            and _is_stats(text_stat) and _all_names(chunk) and _all_names(rchunk) and _all_names(entry)
            and _types(sources) <= {tuple} and _all_str(_chain(sources)))


def _is_names(v) -> bool:
    """The index's `names` frame (cache_index.py)."""
    from .cache_maps import NMAP

    if not (type(v) is dict and v.keys() == {"ids", "owners", "lookers", "advice", "retired"}):
        return False
    maps = [v["ids"], v["owners"], v["lookers"]]
    return (_tuples_of(maps, NMAP) and _all_names(_chain(maps)) and _is_name(v["advice"])
            and type(v["retired"]) is tuple and _all_names(v["retired"]))


def _is_entry(v) -> bool:
    """A file's entry chunk: (defines, lookups, subjects)."""
    if not (type(v) is tuple and len(v) == 3):
        return False
    defines, lookups, subjects = v
    if not (type(subjects) is frozenset and _all_str(subjects) and type(defines) is tuple and type(lookups) is dict):
        return False
    if not (_tuples_of(defines, 4) and _all_str(map(_first, defines)) and _entries(map(_second, defines))
            and _types(map(_third, defines)) <= {int} and _types(map(_fourth, defines)) <= {int}):
        return False
    values = lookups.values()
    return _all_str(lookups) and (_entries(values) if None not in values else
                                  _types(values) <= {tuple, _NONE} and _entries(e for e in values if e is not None))


def _is_ids(v) -> bool:
    """A shard of the map of ids: id -> its definitions (rel, position, entry, line, column)."""
    if not (type(v) is dict and _all_str(v) and _types(v.values()) <= {tuple}):
        return False
    defs = list(_chain(v.values()))
    return (_tuples_of(defs, 5) and _all_str(map(_first, defs)) and _types(map(_second, defs)) <= {int}
            and _entries(map(_third, defs)) and _types(map(_fourth, defs)) <= {int}
            and _types(map(itemgetter(4), defs)) <= {int})


def _is_advice_map(v) -> bool:
    """rel -> advice.file_advice's value (None: not known)."""
    if not (type(v) is dict and _all_str(v)):
        return False
    found = [a for a in v.values() if a is not None]
    if not (_tuples_of(found, 2) and _types(_chain(found)) <= {tuple} and _all_str(_chain(map(_second, found)))):
        return False
    return all(map(_is_advice, [a for a in found if a[0]]))


def _is_advice(v) -> bool:
    """None (not known: read again) or advice.file_advice's value."""
    if v is None:
        return True
    if not (type(v) is tuple and len(v) == 2 and _types(v) <= {tuple} and _all_str(v[1])):
        return False
    items = v[0]
    return (_tuples_of(items, 5) and _types(map(_first, items)) <= {int} and _types(map(_second, items)) <= {int}
            and _all_str(map(_third, items)) and _all_str(map(_fourth, items))
            and _types(map(itemgetter(4), items)) <= {str, _NONE})


def _is_rendered(rows: dict) -> bool:
    values = list(rows.values())
    if not (_all_str(rows) and _tuples_of(values, 6)):
        return False
    return (_all_str(map(_first, values)) and _all_str(map(_second, values)) and _all_str(map(_third, values))
            and _types(map(_fourth, values)) <= {int} and _types(map(itemgetter(4), values)) <= {tuple}
            and _types(map(itemgetter(5), values)) <= {tuple} and _all_str(_chain(map(itemgetter(4), values)))
            and _all_str(_chain(map(itemgetter(5), values))))


def _is_contrib(contrib: dict) -> bool:
    """subject -> graph -> tuple of (predicate, term) pairs; a term an IRI (str) or a literal
    (value, datatype or None, language or None)."""
    return _all_str(contrib) and _are_graphs(list(contrib.values()))


def _are_graphs(graphs: list) -> bool:
    """Whether each value is a subject's graphs in a contrib (_is_contrib)."""
    if not (_types(graphs) <= {dict} and _all_str(_chain(graphs))):
        return False
    tuples = list(_chain(map(dict.values, graphs)))
    if not _types(tuples) <= {tuple}:
        return False
    pairs = list(_chain(tuples))
    if not (_tuples_of(pairs, 2) and _all_str(map(_first, pairs))):
        return False
    objects = list(map(_second, pairs))
    kinds = _types(objects)
    if kinds <= {str}:
        return True
    if not kinds <= {str, tuple}:
        return False
    literals = [o for o in objects if type(o) is tuple]
    return (set(map(len, literals)) <= {3} and _all_str(map(_first, literals))
            and _types(map(_second, literals)) <= {str, _NONE} and _types(map(_third, literals)) <= {str, _NONE})


def _is_chunk(v) -> bool:
    if not (type(v) is tuple and len(v) == 2 and _types(v) <= {dict}):
        return False
    contrib, locations = v
    locs = list(locations.values())
    return (_all_str(locations) and _tuples_of(locs, 2) and _types(_chain(locs)) <= {int}
            and _is_contrib(contrib))


def _is_rchunk(v) -> bool:
    if not (type(v) is tuple and len(v) == 2 and _types(v) <= {dict}):
        return False
    rendered, trig = v
    return (_is_rendered(rendered) and _tuples_of(list(trig), 2) and _all_str(_chain(trig))
            and _all_str(trig.values()))


def _is_results(v) -> bool:
    if v is None:
        return True
    if not (type(v) is dict and _all_str(v) and _types(v.values()) <= {tuple}):
        return False
    rows = list(_chain(v.values()))
    return _tuples_of(rows, 6) and _types(_chain(rows)) <= {str, _NONE}


def _is_shard(v) -> bool:
    return (type(v) is dict and _all_str(v) and _types(v.values()) <= {tuple}
            and _all_str(_chain(v.values())))


def _is_reads(v) -> bool:
    """(rel -> (the name of its chunk, a part of that chunk's triples: subject -> graph -> pairs),
    subject -> the files with triples of it)."""
    if not (type(v) is tuple and len(v) == 2 and _is_shard(v[1])):
        return False
    v = v[0]
    if not (type(v) is dict and _all_str(v) and _tuples_of(list(v.values()), 2)):
        return False
    contribs = list(map(_second, v.values()))  # checked together: C-level passes over all of them
    return (_all_names(map(_first, v.values())) and _types(contribs) <= {dict} and _all_str(_chain(contribs))
            and _are_graphs(list(_chain(map(dict.values, contribs)))))
