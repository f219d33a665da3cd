"""Coverage: how much of each source's text is backed by at least one quote."""
from __future__ import annotations

import re
from dataclasses import dataclass

from .compile import normalize_ws
from .compiled import CompiledKB
from .rdf import DKB, GRAPH, ID

# A sentence ends at . ! or ? (with any closing quote or markup) before a capital, a digit, an
# opening bracket or quote; at a colon that ends a line; and before a line opening a list item.
# Semicolons and closing quotes inside a sentence do not end it, nor does an abbreviation.
_SENTENCE_END = re.compile(r"[.!?][”\"*]*(?=\s+[A-Z0-9(“\"*\-])|:(?=[ \t]*\n)|(?=\n[-(])")
_ABBREVIATIONS = ("H.E.", "Mr.", "Mrs.", "Dr.", "No.", "St.")
_HEADING_WORDS = 30  # a paragraph without a full stop but longer than this is prose (a lead-in ending ':')
_BLANK_LINE = re.compile(r"\n\s*\n")


@dataclass(frozen=True)
class SourceCoverage:
    """`sentences` counts sentences that can state a fact; headings, titles and datelines
    (lines without a full stop) are counted apart, as `headings`: the source's metadata
    records them."""

    source: str
    triples: int
    records: int
    sentences: int
    covered: int
    headings: int = 0

    @property
    def share(self) -> float:
        return self.covered / self.sentences if self.sentences else 1.0


def sentences(text: str) -> list[tuple[str, bool]]:
    """The source's sentences, whitespace-normalised, in order, each with whether it is a
    heading (a title, heading or dateline paragraph without a full stop, or a lone label
    such as 'Conclusion:')."""
    # Blank lines end paragraphs, except page breaks inside a sentence: a long paragraph cut
    # after a word, a comma, a semicolon or inside italics continues in the next one.
    paragraphs: list[str] = []
    carry = ""
    for para in _BLANK_LINE.split(text):
        para = f"{carry} {para}" if carry else para
        carry = ""
        tail = para.rstrip()[-1:]
        italic_open = tail == "*" and not para.rstrip().endswith("**")  # '... in the*' / '*South China Sea'
        if len(para.strip()) > 80 and (tail.isalnum() or tail in ",;" or italic_open):
            carry = para
            continue
        paragraphs.append(para)
    if carry:
        paragraphs.append(carry)
    out = []
    for para in paragraphs:
        if not para.strip():
            continue
        if is_heading(para):
            out.append((normalize_ws(para), True))
            continue
        for part in _split(para):
            part = normalize_ws(part)
            if len(part) > 3:
                out.append((part, part.endswith(":") and len(part.split()) <= 2))
    return out


def _split(para: str) -> list[str]:
    parts, start = [], 0
    for m in _SENTENCE_END.finditer(para):
        if para[:m.end()].endswith(_ABBREVIATIONS):
            continue
        parts.append(para[start:m.end()])
        start = m.end()
    parts.append(para[start:])
    return parts


def is_heading(sentence: str) -> bool:
    """A title, heading or dateline: a short paragraph without sentence-ending punctuation
    once quotes and markup go."""
    core = sentence.strip().strip("*“”\"'() ").rstrip()
    if len(core.split()) > _HEADING_WORDS:
        return False
    return not core.endswith((".", "!", "?", " END"))  # press releases close with END


def covered_mask(text: str, quotes) -> bytearray:
    """A byte per character of `text` (whitespace-normalised): 1 where some quote covers it."""
    mask = bytearray(len(text))
    for q in quotes:
        start = text.find(q)
        while start != -1:
            mask[start:start + len(q)] = b"\x01" * len(q)
            start = text.find(q, start + 1)
    return mask


def coverage(compiled: CompiledKB) -> list[SourceCoverage]:
    """Per source: a sentence is covered when quotes span at least half of its characters."""
    triples: dict = {}
    records: dict = {}
    source_of: dict = {}  # evidence node -> source id
    quote_of: dict = {}  # evidence node -> quote
    for q in compiled.quads:
        src = q.g.removeprefix(GRAPH)
        triples[src] = triples.get(src, 0) + 1
        if q.p == DKB + "source":
            source_of[q.s] = q.o.removeprefix(ID)
        elif q.p == DKB + "quote":
            quote_of[q.s] = normalize_ws(q.o[0])  # a literal: (value, datatype, lang)
        if q.p == "http://www.w3.org/1999/02/22-rdf-syntax-ns#type" and q.o.removeprefix(DKB) in (
                "Event", "Statement", "PostAttestation", "Figure"):
            records[src] = records.get(src, 0) + 1
    # Quotes of differences live in the entities graph: count every quote by its source.
    quotes: dict = {}
    for ev, quote in quote_of.items():
        quotes.setdefault(source_of.get(ev), set()).add(quote)
    rows = []
    for source in compiled.sources:
        text = normalize_ws(source.text)
        mask = covered_mask(text, quotes.get(source.id, ()))
        covered = headings = facts = 0
        pos = 0
        for s, heading in sentences(source.text):
            i = text.find(s, pos)
            pos = i + len(s)
            if heading:
                headings += 1
                continue
            facts += 1
            if sum(mask[i:i + len(s)]) * 2 >= len(s):
                covered += 1
        rows.append(SourceCoverage(source.id, triples.get(source.id, 0), records.get(source.id, 0),
                                   facts, covered, headings))
    return rows

