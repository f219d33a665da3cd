"""The exports of a build with the cache (pipeline.Project.build): spliced where the exports on
disk are what the last build wrote (export_splice.py), else assembled whole; and what the next
build records of them."""
from __future__ import annotations

import hashlib
import os
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from . import export, export_splice as sp
from . import files as _files
from . import state_meta
from .rdf import DKB

ONE_SEQUENCE = ((sp.NT, 0), (sp.TTL, 1), (sp.JSONLD, 2))


@dataclass(frozen=True)
class Unchanged:
    """A KB export found as the last build wrote it (`stat`), which this build does not change."""

    path: Path
    stat: tuple
    size: int


@dataclass(frozen=True)
class Assembled:
    """The four KB exports of a build: name -> bytes (assembled whole), files.Splice or
    Unchanged; their layout to record (None: none, e.g. --no-cache) and the layout chunks to
    save; (figures, counts) for void.ttl; a notice for the build (a damaged layout block)."""

    files: dict
    layout: dict | None
    chunks: dict
    figures: tuple
    notice: str | None = None


def texts(build, state, out_dir, may_splice: bool, whole: bool = False) -> Assembled:
    """The KB exports: spliced from those on disk where they are what the last build recorded
    (and `may_splice`, not `whole`), else assembled whole."""
    recorded = recorded_exports(state)
    notice = None
    if may_splice and recorded and not whole:
        try:
            files, layout, chunks = _spliced(build, state, recorded, Path(out_dir))
            found = state_meta.updated(state.meta["figures"],
                                         [r for r in build.old_rows.values() if r is not None],
                                         [build.rendered[s] for s in build.touched if s in build.rendered])
            return Assembled(files, layout, chunks, state_meta.report(found, len(build.owners)))
        except sp.BlockDamaged as exc:
            notice = (f"the build cache is damaged (the exports' layout block {exc} failed its digest or "
                      "shape check); the exports are assembled whole")
        except sp.Spliced:
            pass
    whole_text = files_text(build)
    files = {n: t.encode("utf-8") for n, t in whole_text.items()}
    # the layout only where the next build may splice from these files (not --no-cache, --check)
    layout, chunks = sp.layout_of(build, sp.styles(build.jsonld)) if may_splice else (None, {})
    return Assembled(files, layout, chunks, figures(build), notice)


def recorded_exports(state) -> dict | None:
    """What the last build recorded of the exports it wrote (name -> (files.stat_key, digest
    of a small file's bytes or None, layout top level of a KB export or None)), if a splice
    may start from it."""
    return state.meta["exports"] if state.meta and state.complete else None


def _stat(path) -> tuple | None:
    try:
        return _files.stat_key(os.stat(path))
    except OSError:
        return None


def _spliced(build, state, recorded: dict, out_dir: Path) -> tuple[dict, dict, dict]:
    style_of = sp.styles(build.jsonld)
    for name in sp.KB_EXPORTS:  # each as the last build wrote it, by its stat (not read)
        rec = recorded.get(name)
        if rec is None or rec[2] is None or _stat(out_dir / name) != rec[0] \
                or not sp.fits(style_of[name], rec[2], rec[0][0]):
            raise sp.Spliced(name)
    files, layout, chunks = {}, {}, {}
    for name, changes in _changes(build).items():
        rec = recorded[name]
        if not changes:
            files[name], layout[name] = Unchanged(out_dir / name, rec[0], rec[0][0]), rec[2]
            continue
        trig = name == sp.TRIG
        pieces, size, layout[name], found = sp.splice(style_of[name], rec[2], changes,
                                                      lambda n: sp.read_block(state.chunks, n, trig))
        files[name] = _files.Splice(out_dir / name, rec[0], tuple(pieces), size)
        chunks.update(found)
    return files, layout, chunks


def _changes(build) -> dict:
    """name -> {key: new item bytes, or None: removed} of the four KB exports. A subject
    rendered to the text it had is left out (its old item is that text)."""
    rendered, touched, old_rows = build.rendered, build.touched, build.old_rows
    out: dict = {name: {} for name in sp.KB_EXPORTS}
    for name, col in ONE_SEQUENCE:
        changes = out[name]
        for s in touched:
            if s not in rendered:
                changes[s] = None
                continue
            text, old = rendered[s][col], old_rows.get(s)
            if old is None or old[col] != text:
                changes[s] = text.encode()
    changes, trig = out[sp.TRIG], build.trig
    for s in touched:
        new = build.graphs_of(s) if s in rendered else {}
        for g in set(build.old_graph_sets.get(s, ())) | set(new):
            changes[(g, s)] = sp.trig_item(trig.get((g, s)) or rendered[s][1]).encode() if g in new else None
    return out


def size_of(data) -> int:
    return data.size if type(data) in (_files.Splice, Unchanged) else len(data)


def recorded(out_dir, files: dict, layout: dict, mtime_ns: int, digests: dict) -> dict | None:
    """What the next build checks of the exports just written (files: name -> bytes, Splice or
    Unchanged; each given `mtime_ns`): their stat, the digest of the small ones (`digests`
    where given, else the SHA-256 of their bytes), the KB exports' layout. None where a KB
    export is not as written (its size, or its mtime: a write after ours); a small file not as
    written is left out (the next build compares its bytes)."""
    out = {}
    for name, data in files.items():
        st = _stat(Path(out_dir) / name)
        kb = name in sp.KB_EXPORTS
        if st is None or st[0] != size_of(data) or st[1] != mtime_ns:
            if kb:
                return None
            continue
        if kb:
            out[name] = (st, None, layout[name])
        elif name in digests or type(data) is bytes:
            out[name] = (st, digests.get(name) or hashlib.sha256(data).hexdigest(), None)
    return out


def found_unchanged(state, out_dir, name: str, digest: str) -> Unchanged | None:
    """A small export on disk that is, by its stat and the digest recorded, the one with that
    digest (not read)."""
    rec = (recorded_exports(state) or {}).get(name)
    path = Path(out_dir) / name
    if rec is None or rec[1] != digest or _stat(path) != rec[0]:
        return None
    return Unchanged(path, rec[0], rec[0][0])


def void_key(figures: dict, counts: dict, source_ids, sizes: dict) -> str:
    """A digest of what void.ttl is made of (export.void_description is a function of these
    alone, and of the code, which the state's key covers): the same key, the same bytes."""
    what = (sorted(figures.items()), sorted(counts.items()), list(source_ids), sorted(sizes.items()))
    return "inputs:" + hashlib.sha256(repr(what).encode()).hexdigest()  # (marshal's bytes depend on sharing)


class ExportFiles(Mapping):
    """name -> bytes of a build's exports (BuildResult.files); those not held in memory (a
    spliced or unchanged KB export: `Unchanged`) are read from disk when asked for, and must
    still have the size this build wrote."""

    def __init__(self, values: dict):
        self._values = values

    def __getitem__(self, name: str) -> bytes:
        value = self._values[name]
        if type(value) is not Unchanged:
            return value
        from .errors import DiplokbError

        data = value.path.read_bytes()
        if len(data) != value.size:
            raise DiplokbError(f"{value.path} changed after the build wrote it: build again")
        return data

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def size(self, name: str) -> int:
        return size_of(self._values[name])


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
