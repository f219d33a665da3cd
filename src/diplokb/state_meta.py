"""What a saved state records of the KB as a whole (cache.py's `meta` frame):

- `results`, `reverse`: the names of the results chunk and of the cache.NSHARDS reverse-link
  shards; `reads`: the name of the chunk of the triples the last incremental validation read
  (cache.State.read_cached);
- `figures`: (number of triples, predicate -> number of subjects with it, class -> number of
  instances), which an edit updates by the old and new figures of the subjects it touched, so
  that void.ttl is written without reading every subject;
- `exports`: None, or per export file (name -> (stat, digest, layout)) as the last build
  wrote it: its files.stat_key (size, mtime_ns, ctime_ns, inode, device); for a small file
  (void.ttl, ontology.ttl...) the SHA-256 of its bytes, else None; for the four KB exports
  the top level of their layout (export_splice.py: (first key, last key, offset, size, count,
  block chunk name) per block), else None. `layout_names` gives the chunks it names.
"""
from __future__ import annotations

from collections import Counter

from .rdf import DKB

EXPORTS = ("diplokb.nt", "diplokb.ttl", "diplokb.jsonld", "diplokb.trig")


def figures_of(rows) -> tuple:
    """The `figures` of rendered rows (incremental.Build._render_preds)."""
    n, props, classes = 0, Counter(), Counter()
    for row in rows:
        n += row[3]
        props.update(row[4])
        classes.update(row[5])
    return n, dict(props), dict(classes)


def updated(figures: tuple, old_rows, new_rows) -> tuple:
    """`figures` with the old rows' share taken out and the new rows' put in."""
    n, props, classes = figures
    props, classes = Counter(props), Counter(classes)
    for sign, rows in ((-1, old_rows), (1, new_rows)):
        for row in rows:
            n += sign * row[3]
            for p in row[4]:
                props[p] += sign
            for c in row[5]:
                classes[c] += sign
    return n, {p: k for p, k in props.items() if k}, {c: k for c, k in classes.items() if k}


def report(figures: tuple, subjects: int) -> tuple[dict, dict]:
    """(triples/subjects/properties, class local name -> number of instances), as void.ttl
    and the build's summary take them."""
    n, props, classes = figures
    counts: dict = {}
    for c, k in classes.items():
        name = c.removeprefix(DKB)
        counts[name] = counts.get(name, 0) + k
    return {"triples": n, "subjects": subjects, "properties": len(props)}, counts


def _is_counts(d) -> bool:
    return type(d) is dict and all(type(k) is str and type(v) is int and v > 0 for k, v in d.items())


def _is_key(k, trig: bool) -> bool:
    if trig:
        return type(k) is tuple and len(k) == 2 and type(k[0]) is str and type(k[1]) is str
    return type(k) is str


def _is_block(b, trig: bool) -> bool:
    return (type(b) is tuple and len(b) == 6 and _is_key(b[0], trig) and _is_key(b[1], trig)
            and type(b[2]) is int and type(b[3]) is int and type(b[4]) is int and b[4] > 0 and type(b[5]) is str)


def _is_export(name, e) -> bool:
    if not (type(name) is str and type(e) is tuple and len(e) == 3 and type(e[0]) is tuple and len(e[0]) == 5
            and all(type(x) is int for x in e[0])):
        return False
    if name not in EXPORTS:
        return type(e[1]) is str and e[2] is None
    trig = name == "diplokb.trig"
    return e[1] is None and type(e[2]) is tuple and all(_is_block(b, trig) for b in e[2])


def layout_names(meta) -> set:
    """The names of the layout blocks' chunks a meta (is_meta) names."""
    exports = meta.get("exports") if meta else None
    return {b[5] for e in (exports or {}).values() if e[2] for b in e[2]}


def is_meta(v) -> bool:
    from .cache import NSHARDS
    from .cache_shapes import _is_name

    if not (type(v) is dict and v.keys() == {"results", "reverse", "reads", "figures", "subjects", "exports"}):
        return False
    f = v["figures"]
    if not (type(f) is tuple and len(f) == 3 and type(f[0]) is int and _is_counts(f[1]) and _is_counts(f[2])):
        return False
    if not (_is_name(v["results"]) and _is_name(v["reads"]) and type(v["reverse"]) is tuple and len(v["reverse"]) == NSHARDS
            and all(_is_name(n) for n in v["reverse"]) and type(v["subjects"]) is int):
        return False
    ex = v["exports"]
    return ex is None or (type(ex) is dict and ex.keys() >= set(EXPORTS)
                          and all(_is_export(n, e) for n, e in ex.items()))
