"""Phase 1 of compiling (compile.py): every record's id, and the index of the ids of every
file, against which each file's references are resolved. A file's `defines` are also what
the build cache keeps of it for the other files (incremental.py).
"""
from __future__ import annotations

import hashlib

from . import model as m
from .errors import Problem


def short_hash(*parts: str, n: int = 10) -> str:
    return hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()[:n]


def record_id(rec) -> str:
    """The record's id, or one derived from its source and content."""
    if getattr(rec, "id", None):
        return rec.id
    if isinstance(rec, m.Statement):
        tag, parts = "statement", (rec.speaker.id, rec.kind.id)
    elif isinstance(rec, m.PostAttestation):
        tag, parts = "post", (rec.person.id, rec.post.id, rec.as_named)
    elif isinstance(rec, m.Figure):
        tag, parts = "figure", (rec.about.id, rec.measure.id, rec.value)
    else:
        return ""
    quotes = tuple(q.text for q in rec.quote)
    return f"{rec.source}-{tag}-{short_hash(*parts, *quotes, n=8)}"


def index_entry(rec) -> tuple:
    """What other files may learn about a record: (kind, display name, detail). The detail
    of a source is its text's digest and its date, which quotes and attestations depend on."""
    detail = ""
    if isinstance(rec, m.Source):
        period = rec.date
        detail = hashlib.sha256(rec.text.encode("utf-8")).hexdigest() + "|" + (
            "" if period is None else f"{period.start.text}/{period.end.text if period.end else ''}")
    name = getattr(rec, "name", None) or getattr(rec, "title", None) or record_id(rec)
    return (m.REF_KIND[type(rec)], name, detail)


def defines(records) -> list:
    """(id, entry, location) of every record of one file that others can refer to."""
    out = []
    for rec in records:
        rid = record_id(rec)
        if rid:
            out.append((rid, index_entry(rec), rec.loc))
    return out


def build_index(units) -> tuple[dict, list]:
    """id -> entry over every file's `defines` (in file order), and the duplicate-id problems."""
    index: dict = {}
    first: dict = {}
    problems = []
    for unit_defines in units:
        for rid, entry, loc in unit_defines:
            if rid in index:
                problems.append(Problem(loc, f"duplicate id '{rid}' (first defined at {first[rid]})"))
                continue
            index[rid] = entry
            first[rid] = loc
    return index, problems
