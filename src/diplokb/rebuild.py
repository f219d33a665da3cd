"""The exports of a build with the cache (pipeline.Project.build): spliced where the exports on
disk are what the last build wrote (export_splice.py), else assembled whole; and what the next
build records of them."""
from __future__ import annotations

import os
import zlib
from collections import defaultdict

from . import export_splice as sp
from . import state_meta

ONE_SEQUENCE = ((sp.NT, 0), (sp.TTL, 1), (sp.JSONLD, 2))


def texts(build, state, out_dir, may_splice: bool) -> tuple[dict, dict, dict, dict]:
    """(name -> bytes of the four KB exports, name -> layout, name -> bytes on disk where they
    were read, (figures, counts) for void.ttl and the summary)."""
    recorded = state.meta["exports"] if state.meta and state.complete else None
    if may_splice and recorded:
        try:
            files, layout, olds = _spliced(build, recorded, out_dir)
            figures = state_meta.updated(state.meta["figures"],
                                         [r for r in build.old_rows.values() if r is not None],
                                         [build.rendered[s] for s in build.touched if s in build.rendered])
            return files, layout, olds, state_meta.report(figures, len(build.owners))
        except sp.Spliced:
            pass
    whole = build.files_text()
    files = {n: t.encode("utf-8") for n, t in whole.items()}
    return files, sp.layout_of(build), {}, build.figures()


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
