"""The exports of a build with the cache (pipeline.Project.build): spliced where the exports on
disk are what the last build wrote (export_splice.py), else assembled whole; and what the next
build records of them."""
from __future__ import annotations

import os
import zlib
from collections import defaultdict

from . import export, export_splice as sp
from . import state_meta
from .rdf import DKB

ONE_SEQUENCE = ((sp.NT, 0), (sp.TTL, 1), (sp.JSONLD, 2))


def texts(build, state, out_dir, may_splice: bool) -> tuple[dict, dict, dict, dict]:
    """(name -> bytes of the four KB exports, name -> layout (None unless `may_splice`), name ->
    bytes on disk where they were read, (figures, counts) for void.ttl and the summary)."""
    recorded = recorded_exports(state)
    if may_splice and recorded:
        try:
            files, layout, olds = _spliced(build, recorded, out_dir)
            found = state_meta.updated(state.meta["figures"],
                                         [r for r in build.old_rows.values() if r is not None],
                                         [build.rendered[s] for s in build.touched if s in build.rendered])
            return files, layout, olds, state_meta.report(found, len(build.owners))
        except sp.Spliced:
            pass
    whole = files_text(build)
    files = {n: t.encode("utf-8") for n, t in whole.items()}
    # the layout only where the next build may splice from these files (not --no-cache, --check)
    return files, sp.layout_of(build) if may_splice else None, {}, figures(build)


def recorded_exports(state) -> dict | None:
    """What the last build recorded of the exports it wrote, if a splice may start from it."""
    return state.meta["exports"] if state.meta and state.complete else None


def _spliced(build, recorded: dict, out_dir) -> tuple[dict, dict, dict]:
    heads = sp.heads(build.jsonld)
    rendered, touched = build.rendered, build.touched
    files, layout, olds = {}, {}, {}
    for name, col in ONE_SEQUENCE:
        old = sp.read_checked(out_dir / name, recorded[name][:2])
        if old is None:
            raise sp.Spliced(name)
        changes = {s: rendered[s][col].encode() if s in rendered else None for s in touched}
        files[name], layout[name] = sp.splice_one(name, old, recorded[name][2], *heads[name], changes)
        olds[name] = old
    old = sp.read_checked(out_dir / sp.TRIG, recorded[sp.TRIG][:2])
    if old is None:
        raise sp.Spliced(sp.TRIG)
    changes: dict = defaultdict(dict)
    trig = build.trig
    for s in touched:
        new = build.graphs_of(s) if s in rendered else {}
        for g in set(build.old_graph_sets.get(s, ())) | set(new):
            changes[g][s] = sp.trig_item(trig.get((g, s)) or rendered[s][1]).encode() if g in new else None
    files[sp.TRIG], layout[sp.TRIG] = sp.splice_trig(old, recorded[sp.TRIG][2], heads[sp.TRIG][0], changes)
    olds[sp.TRIG] = old
    return files, layout, olds


def recorded(out_dir, files: dict, layout: dict) -> dict | None:
    """What the next build checks of the exports just written (None where one cannot be read)."""
    out = {}
    for name in state_meta.EXPORTS:
        try:
            st = os.stat(out_dir / name)
        except OSError:
            return None
        data = files[name]
        if st.st_size != len(data):
            return None
        out[name] = ((st.st_size, st.st_mtime_ns, st.st_ino), zlib.crc32(data), layout[name])
    return out


# -- the exports assembled whole, from every subject's text (every chunk read) ------------

def files_text(build) -> dict[str, str]:
    """The text of each KB export, from the subjects' rendered texts."""
    build.load_everything()
    r = build.rendered
    subjects = sorted(r)
    rows = [r[s] for s in subjects]
    # N-Triples lines sort as "<s> ...": where an IRI is a prefix of another ("x" and "x-y"),
    # that is not the subjects' own order.
    nt_order = sorted(subjects, key=lambda s: s + ">")
    lines = [row[0] for row in rows] if nt_order == subjects else [r[s][0] for s in nt_order]
    files = {"diplokb.nt": "".join(lines)}
    files["diplokb.ttl"] = export.turtle_document([row[1] for row in rows])
    files["diplokb.trig"] = export.trig_document(trig_graphs(build))
    files["diplokb.jsonld"] = build.jsonld.document([row[2] for row in rows])
    return files


def trig_graphs(build) -> dict:
    """graph -> subject -> its Turtle block there (every chunk read)."""
    graphs: dict = defaultdict(dict)
    r, trig = build.rendered, build.trig
    for unit in build.units.values():
        for s, gs in unit["contrib"].items():
            for g in gs:
                graphs[g][s] = (trig.get((g, s)) if trig else None) or r[s][1]
    return graphs


def figures(build) -> tuple[dict, dict]:
    """(triples/subjects/properties, class local name -> number of instances)."""
    properties: set = set()
    counts: dict = defaultdict(int)
    n = 0
    for value in build.rendered.values():
        n += value[3]
        properties.update(value[4])
        for c in value[5]:
            counts[c.removeprefix(DKB)] += 1
    return {"triples": n, "subjects": len(build.rendered), "properties": len(properties)}, dict(counts)
