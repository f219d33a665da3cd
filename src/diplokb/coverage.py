"""`diplokb coverage`: the sentences of each source that no quote covers yet, with their line
numbers in the archived text. A sentence counts as covered as in `diplokb stats`
(stats.coverage): when quotes span at least half of its characters. Headings, titles and
datelines are left out (the source's metadata records them)."""
from __future__ import annotations

from dataclasses import dataclass

from .compile import normalize_ws
from .compiled import CompiledKB
from .quotes import original_position
from .errors import DiplokbError, did_you_mean
from .rdf import DKB, ID
from .stats import covered_mask, sentences


@dataclass(frozen=True)
class Uncovered:
    source: str
    text_file: str
    line: int
    column: int
    sentence: str


@dataclass(frozen=True)
class SourceGaps:
    source: str
    text_file: str
    sentences: int  # sentences that can state a fact
    uncovered: tuple  # Uncovered, in text order


def quotes_by_source(compiled: CompiledKB) -> dict:
    """source id -> the set of its quotes (whitespace-normalised), whoever cites them."""
    source_of, quote_of = {}, {}
    for q in compiled.quads:
        if q.p == DKB + "source" and q.s.startswith(ID + "evidence/"):
            source_of[q.s] = q.o.removeprefix(ID)
        elif q.p == DKB + "quote":
            quote_of[q.s] = normalize_ws(q.o[0])
    out: dict = {}
    for ev, quote in quote_of.items():
        out.setdefault(source_of.get(ev), set()).add(quote)
    return out


def gaps(compiled: CompiledKB, source: str | None = None) -> list[SourceGaps]:
    """Per source (or for `source` only: an id, or the name of its YAML or text file)."""
    chosen = list(compiled.sources)
    if source is not None:
        chosen = [s for s in chosen if source in (s.id, s.text_file, s.yaml_file)
                  or s.yaml_file.endswith("/" + source)]
        if not chosen:
            hint = did_you_mean(source, [s.id for s in compiled.sources])
            raise DiplokbError(f"no source '{source}'" + (f"; {hint}" if hint else "")
                               + f" (sources: {', '.join(s.id for s in compiled.sources)})")
    quotes = quotes_by_source(compiled)
    out = []
    for src in chosen:
        text = normalize_ws(src.text)
        mask = covered_mask(text, quotes.get(src.id, ()))
        pos, facts, missing = 0, 0, []
        for sentence, heading in sentences(src.text):
            i = text.find(sentence, pos)
            pos = i + len(sentence)
            if heading:
                continue
            facts += 1
            if sum(mask[i:i + len(sentence)]) * 2 < len(sentence):
                line, col = original_position(src.text, i)
                missing.append(Uncovered(src.id, src.text_file, line, col, sentence))
        out.append(SourceGaps(src.id, src.text_file, facts, tuple(missing)))
    return out
