"""The KB exports after an edit, spliced: the bytes of the unchanged subjects are copied from
the exports on disk, the edited subjects' new text is put at its sort position.

Each of N-Triples, Turtle, JSON-LD is `head + sep.join(items) + tail`, an item per subject (in
N-Triples order, `s + ">"`, for diplokb.nt; in subject order for the others); TriG is its
prefixes, then a section per graph in graph order, each `head + sep.join(items) + tail` with an
item per subject in it. The cache keeps, per export, a layout: the file's stat (size, mtime_ns,
inode) and CRC-32 as the last build wrote it, and each item's key and byte length (`Layout`).

An export is spliced only when the file on disk is exactly what the last build wrote (stat,
CRC-32 of its bytes, and head, items and tail adding up to its size); otherwise (an export
edited, removed or written by another build, or no layout) it is assembled whole from every
subject's text (rebuild.files_text). Either way the bytes are those of a clean build.
"""
from __future__ import annotations

import os
import zlib
from array import array
from bisect import bisect_left

from . import export

NT, TTL, JSONLD, TRIG = "diplokb.nt", "diplokb.ttl", "diplokb.jsonld", "diplokb.trig"
SEP = {NT: b"", TTL: b"\n", JSONLD: b",\n  ", TRIG: b"\n\n    "}
TRIG_TAIL = b"\n}\n"


def nt_key(s: str) -> str:
    return s + ">"


def _same(s: str) -> str:
    return s


def heads(jsonld) -> dict:
    """name -> (head, tail) bytes of the three one-sequence exports."""
    prefixes = export._prefix_block(export.PREFIXES).encode()
    j = jsonld.document(["\0"]).encode().split(b"\0")
    return {NT: (b"", b""), TTL: (prefixes + b"\n", b""), JSONLD: (j[0], j[1]), TRIG: (prefixes, b"")}


def trig_head(g: str) -> bytes:
    return ("\n" + export._term(export.check_term(g, "graph")) + " {\n    ").encode()


def trig_item(block: str) -> str:
    return block[:-1].replace("\n", "\n    ")


def _lengths(texts) -> bytes:
    return array("q", [len(t.encode()) if not t.isascii() else len(t) for t in texts]).tobytes()


def layout_of(build) -> dict:
    """The layout of each KB export from every subject's rendered text (after a full assembly)."""
    r = build.rendered
    subjects = tuple(sorted(r))
    nt_order = tuple(sorted(subjects, key=nt_key))
    out = {NT: [nt_order, _lengths([r[s][0] for s in nt_order])],
           TTL: [subjects, _lengths([r[s][1] for s in subjects])],
           JSONLD: [subjects, _lengths([r[s][2] for s in subjects])]}
    from .rebuild import trig_graphs

    graphs = trig_graphs(build)
    out[TRIG] = [tuple((g, tuple(sorted(blocks)), _lengths([trig_item(blocks[s]) for s in sorted(blocks)]))
                       for g, blocks in sorted(graphs.items()))]
    return out


def _size(head: bytes, tail: bytes, sep: int, lengths: array) -> int:
    return len(head) + sum(lengths) + max(len(lengths) - 1, 0) * sep + len(tail)


def read_checked(path, recorded) -> bytes | None:
    """The bytes of an export if it is as the last build recorded (`recorded`: stat, crc)."""
    if recorded is None:
        return None
    try:
        st = os.stat(path)
        if (st.st_size, st.st_mtime_ns, st.st_ino) != recorded[0]:
            return None
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    if len(data) != recorded[0][0] or zlib.crc32(data) != recorded[1]:
        return None
    return data


def splice_seq(old: memoryview, pos: int, order, lengths: array, sep: bytes, changes: dict, key):
    """(pieces to join with `sep`, new order, new lengths) of one sequence of items starting at
    byte `pos` of `old`, with `changes` (key -> new text bytes, or None: removed) applied."""
    seplen = len(sep)
    events = []
    for k, text in changes.items():
        kk = key(k)
        i = bisect_left(order, kk, key=key)
        events.append((i, kk, k, i < len(order) and order[i] == k, text))
    events.sort(key=lambda e: (e[0], e[1]))
    pieces, new_order, new_lengths = [], [], array("q")
    i, n = 0, len(order)

    def copy(upto):
        nonlocal pos, i
        seg = sum(lengths[i:upto]) + (upto - i) * seplen
        pieces.append(old[pos:pos + seg - seplen])
        new_order.extend(order[i:upto])
        new_lengths.extend(lengths[i:upto])
        pos += seg
        i = upto

    for idx, _, k, exists, text in events:
        if idx > i:
            copy(idx)
        if exists:
            pos += lengths[i] + seplen
            i += 1
        if text is not None:
            pieces.append(text)
            new_order.append(k)
            new_lengths.append(len(text))
    if i < n:
        copy(n)
    return pieces, new_order, new_lengths


class Spliced(Exception):
    """An export that cannot be spliced (it is assembled whole instead)."""


def splice_one(name: str, old: bytes, lay: list, head: bytes, tail: bytes, changes: dict):
    """(new bytes, new layout entry) of N-Triples, Turtle or JSON-LD."""
    order, raw = lay
    lengths = array("q")
    lengths.frombytes(raw)
    sep = SEP[name]
    if len(order) != len(lengths) or not order or _size(head, tail, len(sep), lengths) != len(old) \
            or not old.startswith(head) or not old.endswith(tail):
        raise Spliced(name)
    key = nt_key if name == NT else _same
    view = memoryview(old)
    pieces, new_order, new_lengths = splice_seq(view, len(head), order, lengths, sep, changes, key)
    if not new_order:
        raise Spliced(name)  # an empty export is written differently: assembled whole
    data = head + sep.join(pieces) + tail
    return data, [tuple(new_order), new_lengths.tobytes()]


def splice_trig(old: bytes, lay: list, head: bytes, changes: dict):
    """(new bytes, new layout entry) of TriG; `changes`: graph -> {subject: item bytes or None}."""
    (sections,) = lay
    view = memoryview(old)
    sep, seplen = SEP[TRIG], len(SEP[TRIG])
    if not old.startswith(head) or not sections:
        raise Spliced(TRIG)
    pos, parsed = len(head), []
    for g, order, raw in sections:
        lengths = array("q")
        lengths.frombytes(raw)
        gh = trig_head(g)
        size = _size(gh, TRIG_TAIL, seplen, lengths)
        if len(order) != len(lengths) or not order or bytes(view[pos:pos + len(gh)]) != gh \
                or bytes(view[pos + size - len(TRIG_TAIL):pos + size]) != TRIG_TAIL:
            raise Spliced(TRIG)
        parsed.append((g, order, lengths, pos, size, gh))
        pos += size
    if pos != len(old):
        raise Spliced(TRIG)
    by_graph = {p[0]: p for p in parsed}
    pieces, new_sections = [head], []
    run_start = None  # start of a run of unchanged sections, copied as one range
    for g in sorted(set(by_graph) | set(changes)):
        p = by_graph.get(g)
        if p is not None and g not in changes:
            if run_start is None:
                run_start = p[3]
            pieces_end = p[3] + p[4]
            new_sections.append((g, p[1], p[2].tobytes()))
            continue
        if run_start is not None:
            pieces.append(view[run_start:pieces_end])
            run_start = None
        if p is None:  # a new graph: each of its subjects is in `changes`
            order, lengths = (), array("q")
            gh, start = trig_head(g), 0
        else:
            _, order, lengths, start, _, gh = p
            start += len(gh)
        items, new_order, new_lengths = splice_seq(view, start, order, lengths, sep, changes[g], _same)
        if new_order:
            pieces += [gh, sep.join(items), TRIG_TAIL]
            new_sections.append((g, tuple(new_order), new_lengths.tobytes()))
    if run_start is not None:
        pieces.append(view[run_start:pieces_end])
    if not new_sections:
        raise Spliced(TRIG)
    return b"".join(pieces), [tuple(new_sections)]
