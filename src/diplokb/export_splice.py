"""The KB exports after an edit, spliced: a plan of byte ranges of the exports on disk (the
unchanged subjects) and new byte strings (the edited subjects' texts at their sort position),
which files.write_atomically copies in the kernel (os.copy_file_range). No old byte enters
Python.

Each of N-Triples, Turtle, JSON-LD is `head + sep.join(items) + tail`, an item per subject (in
N-Triples order, `s + ">"`, for diplokb.nt; in subject order for the others). TriG is its
prefixes, then a section per graph in graph order, `"\\n<g> {\\n    " + sep.join(items) +
"\\n}\\n"`: here one sequence of items keyed (graph, subject), whose separator is `sep` inside a
graph and the section's end and the next one's head between two graphs (`Style`).

The layout of an export (what the cache keeps of it, state_meta.py) is in blocks of about
BLOCK items: a top level, a tuple of (first key, last key, byte offset of the first item, byte
size from the first item's start to the last one's end, item count, chunk name), kept in the
cache's index, and per block a content-addressed chunk (its keys, its items' byte lengths),
read only for the blocks an edit touches (`splice`) and written only when a block changed.
The first pass (`blocks_of`) lays a whole export out after a full assembly.
"""
from __future__ import annotations

from array import array
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache

from . import export

NT, TTL, JSONLD, TRIG = "diplokb.nt", "diplokb.ttl", "diplokb.jsonld", "diplokb.trig"
KB_EXPORTS = (NT, TTL, JSONLD, TRIG)
SEP = {NT: b"", TTL: b"\n", JSONLD: b",\n  ", TRIG: b"\n\n    "}
TRIG_TAIL = b"\n}\n"
BLOCK = 1024  # items per block when an export is laid out whole or a block is split
MAX_BLOCK = 2 * BLOCK  # a block grown past this many items is split


class Spliced(Exception):
    """An export that cannot be spliced (it is assembled whole instead)."""


class BlockDamaged(Spliced):
    """A layout block that failed its digest or shape check (a notice, then assembled whole)."""


def nt_key(s: str) -> str:
    return s + ">"


@lru_cache(maxsize=8192)
def trig_head(g: str) -> bytes:
    return ("\n" + export._term(export.check_term(g, "graph")) + " {\n    ").encode()


def trig_item(block: str) -> str:
    return block[:-1].replace("\n", "\n    ")


@dataclass(frozen=True)
class Style:
    """How one export's items are put together: `lead(first key)`, then the items with
    `gap(a, b)` between items a and b, then `end`."""

    head: bytes
    tail: bytes
    sep: bytes
    nt: bool = False  # keys sort as N-Triples lines: s + ">"
    trig: bool = False  # keys are (graph, subject), a section per graph

    def sortkey(self, k):
        return k + ">" if self.nt else k

    def lead(self, first) -> bytes:
        return self.head + trig_head(first[0]) if self.trig else self.head

    def gap(self, a, b) -> bytes:
        if not self.trig or a[0] == b[0]:
            return self.sep
        return TRIG_TAIL + trig_head(b[0])

    @property
    def end(self) -> bytes:
        return TRIG_TAIL + self.tail if self.trig else self.tail


def styles(jsonld) -> dict:
    """name -> Style of the four KB exports."""
    prefixes = export._prefix_block(export.PREFIXES).encode()
    j = jsonld.document(["\0"]).encode().split(b"\0")
    return {NT: Style(b"", b"", SEP[NT], nt=True), TTL: Style(prefixes + b"\n", b"", SEP[TTL]),
            JSONLD: Style(j[0], j[1], SEP[JSONLD]), TRIG: Style(prefixes, b"", SEP[TRIG], trig=True)}


def _lengths(texts) -> array:
    return array("q", [len(t.encode()) if not t.isascii() else len(t) for t in texts])


def _span(style: Style, keys, lengths) -> int:
    """Bytes from the first item's start to the last one's end."""
    if not style.trig:
        return sum(lengths) + (len(keys) - 1) * len(style.sep)
    seplen, n, prev = len(style.sep), sum(lengths), keys[0]
    for k in keys[1:]:
        n += seplen if k[0] == prev[0] else len(style.gap(prev, k))
        prev = k
    return n


def _chunk(keys: tuple, lengths: array) -> tuple[str, bytes]:
    from .cache import chunk_bytes

    return chunk_bytes((keys, lengths.tobytes()))


def blocks_of(style: Style, keys, lengths: array) -> tuple[tuple, dict]:
    """(top level, name -> chunk bytes) of an export with these items (keys in order)."""
    top, chunks, n = [], {}, len(keys)
    pos = len(style.lead(keys[0])) if n else 0
    for i in range(0, n, BLOCK):
        ks, ls = tuple(keys[i:i + BLOCK]), lengths[i:i + BLOCK]
        name, data = _chunk(ks, ls)
        chunks[name] = data
        size = _span(style, ks, ls)
        top.append((ks[0], ks[-1], pos, size, len(ks), name))
        pos += size
        if i + BLOCK < n:
            pos += len(style.gap(ks[-1], keys[i + BLOCK]))
    return tuple(top), chunks


def layout_of(build, style_of: dict) -> tuple[dict, dict]:
    """(name -> top level, chunks) of the KB exports, from every subject's rendered text (after
    a full assembly)."""
    from .rebuild import trig_graphs

    r = build.rendered
    subjects = sorted(r)
    nt_order = sorted(subjects, key=nt_key)
    seqs = {NT: (nt_order, _lengths([r[s][0] for s in nt_order])),
            TTL: (subjects, _lengths([r[s][1] for s in subjects])),
            JSONLD: (subjects, _lengths([r[s][2] for s in subjects]))}
    keys, texts = [], []
    for g, blocks in sorted(trig_graphs(build).items()):
        for s in sorted(blocks):
            keys.append((g, s))
            texts.append(trig_item(blocks[s]))
    seqs[TRIG] = (keys, _lengths(texts))
    layout, chunks = {}, {}
    for name, (ks, ls) in seqs.items():
        layout[name], found = blocks_of(style_of[name], ks, ls)
        chunks.update(found)
    return layout, chunks


def fits(style: Style, top: tuple, size: int) -> bool:
    """Whether a top level adds up to a file of `size` bytes (first and last block)."""
    return bool(top) and top[0][2] == len(style.lead(top[0][0])) \
        and top[-1][2] + top[-1][3] + len(style.end) == size


class _Plan:
    """Pieces of a new file: (offset, length) ranges of the old one, adjacent ones merged, and
    byte strings."""

    def __init__(self):
        self.pieces: list = []
        self.size = 0

    def old(self, off: int, n: int) -> None:
        if n:
            last = self.pieces[-1] if self.pieces else None
            if type(last) is tuple and last[0] + last[1] == off:
                self.pieces[-1] = (last[0], last[1] + n)
            else:
                self.pieces.append((off, n))
            self.size += n

    def new(self, data: bytes) -> None:
        if data:
            self.pieces.append(data)
            self.size += len(data)


def _items(style: Style, block: tuple, keys: tuple, lengths: array, first_idx: int) -> list:
    """A read block's items: (key, old offset, length, old index, None)."""
    first, last, off, size, count, _ = block
    if len(keys) != count or not keys or keys[0] != first or keys[-1] != last or len(lengths) != count:
        raise Spliced("a layout block is not the one its top level names")
    items, pos, prev = [], off, None
    for j, (k, n) in enumerate(zip(keys, lengths)):
        if prev is not None:
            pos += len(style.gap(prev, k))
        items.append((k, pos, n, first_idx + j, None))
        pos += n
        prev = k
    if pos != off + size:
        raise Spliced("a layout block does not add up to its size")
    return items


def _merged(style: Style, items: list, changes: list) -> list:
    """`items` with `changes` ((sort key, key, new bytes or None: removed), sorted) applied."""
    sk, out, i, n = style.sortkey, [], 0, len(items)
    for ck, k, text in changes:
        while i < n and sk(items[i][0]) < ck:
            out.append(items[i])
            i += 1
        if i < n and items[i][0] == k:
            i += 1  # replaced or removed
        if text is not None:
            out.append((k, None, len(text), None, text))
    out.extend(items[i:])
    return out


def splice(style: Style, top: tuple, changes: dict, read) -> tuple[list, int, tuple, dict]:
    """(pieces, size, new top level, new chunks) of an export whose layout is `top`, with
    `changes` (key -> new item bytes, or None: removed) applied; `read(name)` gives a block's
    (keys, lengths). Only the blocks holding a changed key are read."""
    sk = style.sortkey
    firsts = [sk(b[0]) for b in top]
    per: dict = {}
    for k, text in changes.items():
        c = sk(k)
        per.setdefault(max(bisect_right(firsts, c) - 1, 0), []).append((c, k, text))
    groups, chunks, idx = [], {}, 0  # a group: (block entry or None, its units)
    for i, block in enumerate(top):
        first, last, off, size, count, name = block
        if i not in per:  # one unit: (first key, last key, old offset, length, old first/last index, None)
            groups.append((block, [(first, last, off, size, idx, idx + count - 1, None)]))
            idx += count
            continue
        keys, lengths = read(name)
        merged = _merged(style, _items(style, block, keys, lengths, idx), sorted(per[i], key=lambda c: c[0]))
        idx += count
        step = BLOCK if len(merged) > MAX_BLOCK else MAX_BLOCK
        for j in range(0, len(merged), step):
            part = merged[j:j + step]
            ks, ls = tuple(p[0] for p in part), array("q", [p[2] for p in part])
            name, data = _chunk(ks, ls)
            chunks[name] = data
            groups.append(((ks[0], ks[-1], None, None, len(ks), name),
                           [(k, k, o, n, x, x, text) for k, o, n, x, text in part]))
    if not groups:
        raise Spliced("empty")  # an empty export is written differently: assembled whole
    plan, new_top = _Plan(), []
    prev = None  # (last key, old end offset, old index) of the unit before, offset None if new
    for (first, last, _, _, count, name), units in groups:
        start = None
        for f, l, o, n, i0, i1, text in units:
            if prev is None:
                plan.new(style.lead(f))
            else:
                g = style.gap(prev[0], f)
                if o is not None and prev[1] is not None and i0 == prev[2] + 1:
                    if prev[1] + len(g) != o:
                        raise Spliced("the layout does not add up")
                    plan.old(prev[1], len(g))
                else:
                    plan.new(g)
            if start is None:
                start = plan.size
            if o is None:
                plan.new(text)
            else:
                plan.old(o, n)
            prev = (l, None if o is None else o + n, i1)
        new_top.append((first, last, start, plan.size - start, count, name))
    plan.new(style.end)
    return plan.pieces, plan.size, tuple(new_top), chunks


def is_block(v) -> bool:
    """The shape of a layout block's chunk: (keys, lengths as array('q') bytes)."""
    return (type(v) is tuple and len(v) == 2 and type(v[0]) is tuple and type(v[1]) is bytes
            and len(v[1]) == 8 * len(v[0]) and len(v[0]) > 0)


def read_block(chunks, name: str, trig: bool):
    """(keys, lengths) of a block from the cache's chunks (cache.Chunks), digest- and
    shape-checked; raises BlockDamaged when it fails."""
    from .cache import _BAD

    found = chunks.read(name, is_block)
    if found is _BAD or not all(map(_is_key_trig if trig else _is_str, found[0])):
        raise BlockDamaged(name)
    lengths = array("q")
    lengths.frombytes(found[1])
    return found[0], lengths


def _is_str(k) -> bool:
    return type(k) is str


def _is_key_trig(k) -> bool:
    return type(k) is tuple and len(k) == 2 and type(k[0]) is str and type(k[1]) is str
