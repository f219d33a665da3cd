"""Coverage: how much of each source's text is backed by at least one quote."""
from __future__ import annotations

import re
from dataclasses import dataclass

from .compile import CompiledKB, normalize_ws
from .rdf import DKB, GRAPH

_SENTENCE_END = re.compile(r"(?<=[.!?;:”\"])\s+|\n\s*\n|\n(?=[-(])")


@dataclass(frozen=True)
class SourceCoverage:
    source: str
    triples: int
    records: int
    sentences: int
    covered: int

    @property
    def share(self) -> float:
        return self.covered / self.sentences if self.sentences else 1.0


def sentences(text: str) -> list[str]:
    """The source's sentences (and headings), whitespace-normalised, in order."""
    parts = [normalize_ws(p) for p in _SENTENCE_END.split(text)]
    return [p for p in parts if len(p) > 3]


def coverage(compiled: CompiledKB) -> list[SourceCoverage]:
    """Per source: a sentence is covered when quotes span at least half of its characters."""
    quotes: dict = {}
    triples: dict = {}
    records: dict = {}
    for q in compiled.quads:
        src = q.g.removeprefix(GRAPH)
        triples[src] = triples.get(src, 0) + 1
        if q.p == DKB + "quote":
            quotes.setdefault(src, set()).add(normalize_ws(q.o.value))
        if q.p == "http://www.w3.org/1999/02/22-rdf-syntax-ns#type" and q.o.removeprefix(DKB) in (
                "Event", "Statement", "PostAttestation", "Figure"):
            records[src] = records.get(src, 0) + 1
    rows = []
    for source in compiled.sources:
        text = normalize_ws(source.text)
        mask = bytearray(len(text))
        # Quotes in differences live in the entities graph; count every quote of this source.
        for q in _quotes_of(compiled, source.id):
            start = text.find(q)
            while start != -1:
                mask[start:start + len(q)] = b"\x01" * len(q)
                start = text.find(q, start + 1)
        sents = sentences(source.text)
        covered = 0
        pos = 0
        for s in sents:
            i = text.find(s, pos)
            if i == -1:
                continue
            pos = i + len(s)
            if sum(mask[i:i + len(s)]) * 2 >= len(s):
                covered += 1
        rows.append(SourceCoverage(source.id, triples.get(source.id, 0), records.get(source.id, 0),
                                   len(sents), covered))
    return rows


def _quotes_of(compiled: CompiledKB, source_id: str) -> set[str]:
    evidence_of = {}
    for q in compiled.quads:
        if q.p == DKB + "source":
            evidence_of.setdefault(q.s, set()).add(q.o.removeprefix("https://w3id.org/diplokb/id/"))
    return {normalize_ws(q.o.value) for q in compiled.quads
            if q.p == DKB + "quote" and source_id in evidence_of.get(q.s, ())}
