"""A source reviewed sentence by sentence: which structured facts cite each sentence, and
whether any of them carries the sentence's content beyond the quote.

A fact *cites* a sentence when one of its evidence quotes covers at least half of the
sentence or half of the quote. A cited sentence is *structured* when a citing fact has at
least one structured value *grounded* in it: an entity (speaker, addressee, participant,
host, place, holder, post, named thing, area of cooperation...) whose name, one of its name
variants, or the text's own wording (`speaker_as_named`, `as_named`) occurs in the sentence
(or named in the previous sentence when this one refers to it by a pronoun),
a date written in the sentence, or a figure's number. A cited sentence with no such value
is *text only*: a quote covers it, but no field of the KB says what it says.

The same reading gives the fidelity checks (`findings`): a statement whose speaker is named
neither in its quote's sentence nor in the preceding one, and a post attestation dated after
an event that the same sentence reports.
"""
from __future__ import annotations

import html
import re
from collections import defaultdict
from dataclasses import dataclass

from .compile import normalize_ws
from .compiled import CompiledKB
from .rdf import DKB, ID, RDF_TYPE, VOCAB
from .stats import sentences as split_sentences

RDFS = "http://www.w3.org/2000/01/rdf-schema#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
ORG = "http://www.w3.org/ns/org#"

FACT_CLASSES = ("Event", "Statement", "PostAttestation", "Figure", "Claim")
# Properties whose values are entities that a sentence can name.
ENTITY_PROPS = {
    "speaker": DKB + "speaker", "addressee": DKB + "addressee", "concerns": DKB + "concerns",
    "participant": DKB + "participant", "host": DKB + "host", "invited by": DKB + "invitedBy",
    "place": DKB + "place", "venue": DKB + "venue", "holder": DKB + "holder", "post": DKB + "post",
    "about": DKB + "about", "area": DKB + "cooperationArea",
}
DATE_PROPS = {"date": DKB + "date", "start": DKB + "startDate", "end": DKB + "endDate",
              "not before": DKB + "notBefore", "not after": DKB + "notAfter"}
MONTHS = ("January February March April May June July August September October November "
          "December").split()
PRONOUNS = re.compile(r"(?<![\w-])(he|she|his|her|they|their|them)(?![\w-])", re.I)
OWN_VOICE = "the document's own voice"
HONORIFIC = re.compile(r"(?<![\w-])(his|her) (excellency|majesty)", re.I)


@dataclass(frozen=True)
class Value:
    """One structured value of a fact: the field, its display, and whether the sentence
    states it."""

    field: str
    display: str
    grounded: bool


@dataclass(frozen=True)
class FactView:
    iri: str
    cls: str
    kind: str
    values: tuple  # Value, in field order
    inferred: tuple  # names of fields the curator inferred (dkb:inferred)
    note: str | None

    @property
    def grounded(self) -> bool:
        return any(v.grounded for v in self.values)


@dataclass(frozen=True)
class SentenceView:
    number: int
    text: str
    heading: bool
    facts: tuple  # FactView

    @property
    def cited(self) -> bool:
        return bool(self.facts)

    @property
    def structured(self) -> bool:
        return any(f.grounded for f in self.facts)


@dataclass(frozen=True)
class SourceReview:
    source: str
    title: str
    sentences: tuple  # SentenceView

    @property
    def counted(self) -> list:
        return [s for s in self.sentences if not s.heading]

    @property
    def structured(self) -> int:
        return sum(1 for s in self.counted if s.structured)


@dataclass(frozen=True)
class Finding:
    """A fidelity check that needs a curator's judgement (reported as a warning)."""

    subject: str
    check: str
    message: str


# --- reading the compiled KB ------------------------------------------------------------

class _Graph:
    def __init__(self, compiled: CompiledKB):
        self.props: dict = defaultdict(lambda: defaultdict(list))
        for s, p, o in sorted(compiled.triples, key=lambda t: (t[0], t[1], str(t[2]))):
            self.props[s][p].append(o)
        self.compiled = compiled

    def one(self, s, p):
        vals = self.props.get(s, {}).get(p, [])
        return vals[0] if vals else None

    def lits(self, s, p) -> list[str]:
        return [o[0] for o in self.props.get(s, {}).get(p, []) if not isinstance(o, str)]

    def iris(self, s, p) -> list[str]:
        return [o for o in self.props.get(s, {}).get(p, []) if isinstance(o, str)]

    def types(self, s) -> set:
        return {o.removeprefix(DKB) for o in self.iris(s, RDF_TYPE)}

    def names(self, s) -> list[str]:
        out = []
        for p in (RDFS + "label", SKOS + "prefLabel", SKOS + "altLabel", DKB + "abbreviation"):
            out += self.lits(s, p)
        if "Side" in self.types(s):  # a side speaks for its country: 'China', 'Cambodia'
            for c in self.iris(s, DKB + "sideOf"):
                out += self.names(c)
        return list(dict.fromkeys(out))

    def label(self, s) -> str:
        return (self.lits(s, RDFS + "label") or self.lits(s, SKOS + "prefLabel") or [_local(s)])[0]


def _local(iri: str) -> str:
    return iri.removeprefix(ID).removeprefix(VOCAB)


def _names_in(names, sentence: str) -> bool:
    low = sentence.casefold()
    for n in names:
        n = normalize_ws(n).casefold()
        if len(n) >= 2 and re.search(r"(?<![\w-])" + re.escape(n), low):
            return True
    return False


def _date_in(text: str, sentence: str) -> bool:
    parts = text.split("-")
    if parts[0] not in sentence:
        if len(parts) < 2:
            return False
        month = MONTHS[int(parts[1]) - 1]
        if month not in sentence:
            return False
        if len(parts) == 3 and not re.search(rf"(?<!\d){int(parts[2])}(?!\d)", sentence):
            return False
    return True


def _spans(text: str, raw: str):
    """(start, end, sentence, heading) of each sentence in the normalised text."""
    pos = 0
    for s, heading in split_sentences(raw):
        i = text.find(s, pos)
        if i < 0:
            continue
        pos = i + len(s)
        yield i, i + len(s), s, heading


def _occurrences(text: str, quote: str):
    start = text.find(quote)
    while start != -1:
        yield start, start + len(quote)
        start = text.find(quote, start + 1)


# --- the review -------------------------------------------------------------------------

def _facts_by_source(g: _Graph) -> dict:
    """source id -> [(fact iri, quote)] for every fact with evidence from that source."""
    out: dict = defaultdict(list)
    for s, props in g.props.items():
        if not g.types(s) & set(FACT_CLASSES):
            continue
        for ev in props.get(DKB + "evidence", []):
            src = g.one(ev, DKB + "source")
            quote = g.one(ev, DKB + "quote")
            if src and quote:
                out[_local(src)].append((s, normalize_ws(quote[0])))
    return out


def _view(g: _Graph, fact: str, sentence: str, previous: str, kinds: dict) -> FactView:
    cls = next(c for c in FACT_CLASSES if c in g.types(fact))
    kind_iri = g.one(fact, DKB + "statementKind") or g.one(fact, DKB + "eventKind") or g.one(fact, DKB + "measure")
    kind = kinds.get(kind_iri, _local(kind_iri).split("/")[-1]) if kind_iri else cls
    values = []
    subjects = [fact]
    if cls == "Claim":  # a claim names what its difference is about
        subjects += [d for d, props in g.props.items() if fact in props.get(DKB + "claim", [])]
    for field, p in ENTITY_PROPS.items():
        for s in subjects:
            for o in g.iris(s, p):
                names = g.names(o) if not o.startswith(VOCAB) else [kinds.get(o, _local(o).split("/")[-1])]
                if "Event" in g.types(o):  # events have titles, not names: the text names their kind
                    names += [kinds[k] for k in g.iris(o, DKB + "eventKind") if k in kinds]
                if field == "speaker":
                    names += g.lits(fact, DKB + "speakerAsNamed")
                    if "SourceDocument" in g.types(o):
                        values.append(Value(field, OWN_VOICE, False))
                        continue
                if field == "post":
                    names += g.lits(fact, DKB + "asNamed")
                ok = _names_in(names, sentence)
                if not ok:  # referred to by a pronoun, named in the previous sentence
                    ok = _pronoun(sentence) and _names_in(names, previous)
                values.append(Value(field, g.label(o) if not o.startswith(VOCAB) else names[0], ok))
    for field, p in DATE_PROPS.items():
        for d in g.lits(fact, p):
            values.append(Value(field, d, _date_in(d, sentence)))
    for v in g.lits(fact, DKB + "value"):
        values.append(Value("value", v, _names_in([v], sentence)))
    inferred = tuple(g.lits(fact, DKB + "inferred"))
    notes = g.lits(fact, SKOS + "editorialNote")
    return FactView(fact, cls, kind, tuple(values), inferred, notes[0] if notes else None)


def _pronoun(sentence: str) -> bool:
    return bool(PRONOUNS.search(HONORIFIC.sub("", sentence)))


def review(compiled: CompiledKB, source_id: str, kinds: dict | None = None) -> SourceReview:
    """The source's sentences, each with the facts that cite it. `kinds` maps concept IRIs
    to labels (see `concept_labels`); without it, ids are shown."""
    g = _Graph(compiled)
    return _review(g, source_id, kinds or {}, _facts_by_source(g))


def _review(g: _Graph, source_id: str, kinds: dict, facts: dict) -> SourceReview:
    source = next((s for s in g.compiled.sources if s.id == source_id), None)
    if source is None:
        known = ", ".join(s.id for s in g.compiled.sources)
        raise KeyError(f"no source '{source_id}' (the sources are: {known})")
    text = normalize_ws(source.text)
    cites = facts.get(source_id, [])
    views = []
    previous = ""
    for n, (a, b, sentence, heading) in enumerate(_spans(text, source.text), start=1):
        citing = []
        for fact, quote in cites:
            for qa, qb in _occurrences(text, quote):
                overlap = min(b, qb) - max(a, qa)
                if overlap > 0 and overlap * 2 >= min(b - a, qb - qa):
                    citing.append(fact)
                    break
        citing = list(dict.fromkeys(citing))
        views.append(SentenceView(n, sentence, heading,
                                  tuple(_view(g, f, sentence, previous, kinds) for f in citing)))
        previous = sentence
    return SourceReview(source_id, source.title or f"{source.text_file} (untitled)", tuple(views))


def reviews(compiled: CompiledKB, kinds: dict | None = None) -> list[SourceReview]:
    g = _Graph(compiled)
    facts = _facts_by_source(g)
    return [_review(g, s.id, kinds or {}, facts) for s in g.compiled.sources]


def concept_labels(vocabularies: dict) -> dict:
    """concept IRI -> label, from the loader's {scheme: {id: label}}."""
    return {f"{VOCAB}{scheme}/{cid}": label
            for scheme, concepts in vocabularies.items() for cid, label in concepts.items()}


# --- fidelity checks ----------------------------------------------------------------------

def findings(compiled: CompiledKB, kinds: dict | None = None) -> list[Finding]:
    """Warnings that need a curator's judgement:

    - attribution: a statement whose speaker (its name, a variant, the text's own wording,
      or a pronoun) is in neither its quote's sentence nor the preceding one, unless the
      statement's note explains the attribution (a statement in the document's own voice is
      never flagged);
    - attestation-date: a post attestation dated after the end of an event that a quote of
      the same sentence supports (the text names the post during that event)."""
    g = _Graph(compiled)
    facts = _facts_by_source(g)
    out = []
    for rv in (_review(g, s.id, kinds or {}, facts) for s in g.compiled.sources):
        prev = {s.number: (rv.sentences[i - 1].text if i else "") for i, s in enumerate(rv.sentences)}
        for sv in rv.sentences:
            for f in sv.facts:
                if f.cls == "Statement" and f.note is None:
                    sp = next((v for v in f.values if v.field == "speaker"), None)
                    if sp is None or sp.display == OWN_VOICE or sp.grounded:
                        continue
                    names = g.names(g.one(f.iri, DKB + "speaker")) + g.lits(f.iri, DKB + "speakerAsNamed")
                    if _names_in(names, prev[sv.number]) or _pronoun(sv.text):
                        continue
                    out.append(Finding(f.iri, "attribution",
                                       f"{rv.source} sentence {sv.number}: the speaker '{sp.display}' is named "
                                       f"neither in the sentence nor in the one before: \"{sv.text[:80]}…\""))
                if f.cls == "PostAttestation":
                    when = g.lits(f.iri, DKB + "date") + g.lits(f.iri, DKB + "startDate")
                    for other in sv.facts:
                        if other.cls != "Event" or not when:
                            continue
                        end = (g.lits(other.iri, DKB + "endDate") or g.lits(other.iri, DKB + "date")
                               or g.lits(other.iri, DKB + "notAfter"))
                        if end and when[0] > end[0] and not when[0].startswith(end[0]):
                            out.append(Finding(f.iri, "attestation-date",
                                               f"{rv.source} sentence {sv.number}: post attested for {when[0]}, "
                                               f"after the end ({end[0]}) of the event the sentence reports, "
                                               f"{_local(other.iri)}; date it by that event"))
                            break
    return sorted(set(out), key=lambda x: (x.check, x.subject, x.message))


# --- rendering ------------------------------------------------------------------------------

def _fact_line(f: FactView) -> str:
    vals = "; ".join(f"{v.field}: {v.display}" + ("" if v.grounded or v.display == OWN_VOICE
                                                  else " (not in this sentence)") for v in f.values)
    extra = f" — inferred: {', '.join(f.inferred)}" if f.inferred else ""
    return f"{f.cls} `{_local(f.iri)}` ({f.kind}){': ' + vals if vals else ''}{extra}"


def _status(s: SentenceView) -> str:
    if s.heading:
        return "heading"
    if not s.cited:
        return "NOT COVERED"
    return "structured" if s.structured else "text only"


def to_markdown(rv: SourceReview) -> str:
    counted = rv.counted
    lines = [f"# Review of {rv.source}: {rv.title}", "",
             f"{len(counted)} sentences; {sum(s.cited for s in counted)} covered by a quote; "
             f"{rv.structured} with a structured fact beyond the quote "
             f"({rv.structured / len(counted) if counted else 1:.0%}).", ""]
    for s in rv.sentences:
        lines.append(f"## {s.number}. [{_status(s)}]")
        lines.append("")
        lines.append(f"> {s.text}")
        lines.append("")
        for f in s.facts:
            lines.append(f"- {_fact_line(f)}")
        if s.facts:
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def to_html(rv: SourceReview) -> str:
    e = html.escape
    counted = rv.counted
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           f"<title>Review of {e(rv.source)}</title>",
           "<style>body{font-family:sans-serif;max-width:60em;margin:auto}"
           ".text-only{background:#fff3cd}.not-covered{background:#f8d7da}.heading{color:#666}"
           "blockquote{margin:0 0 .3em 0;padding:.3em .6em;border-left:3px solid #999}"
           ".ungrounded{color:#888}</style></head><body>",
           f"<h1>Review of {e(rv.source)}: {e(rv.title)}</h1>",
           f"<p>{len(counted)} sentences; {sum(s.cited for s in counted)} covered by a quote; "
           f"{rv.structured} with a structured fact beyond the quote.</p>", "<ol>"]
    for s in rv.sentences:
        status = _status(s)
        out.append(f'<li class="{status.lower().replace(" ", "-")}"><p><strong>[{e(status)}]</strong></p>'
                   f"<blockquote>{e(s.text)}</blockquote>")
        if s.facts:
            out.append("<ul>")
            for f in s.facts:
                vals = "; ".join(
                    (f"{e(v.field)}: {e(v.display)}" if v.grounded or v.display == OWN_VOICE else
                     f'<span class="ungrounded">{e(v.field)}: {e(v.display)} (not in this sentence)</span>')
                    for v in f.values)
                inferred = f" — <em>inferred: {e(', '.join(f.inferred))}</em>" if f.inferred else ""
                out.append(f"<li>{e(f.cls)} <code>{e(_local(f.iri))}</code> ({e(f.kind)})"
                           f"{': ' + vals if vals else ''}{inferred}</li>")
            out.append("</ul>")
        out.append("</li>")
    out += ["</ol>", "</body></html>"]
    return "\n".join(out) + "\n"


# --- entry points for the command line ------------------------------------------------------

def vocabulary_labels(project) -> dict:
    """Concept IRI -> label, from the project's ontology/vocabularies.ttl."""
    from .vocabularies import load_vocabularies

    return concept_labels(load_vocabularies(project.root / "ontology" / "vocabularies.ttl"))


def structured_coverage(compiled: CompiledKB, kinds: dict | None = None) -> tuple[dict, list]:
    """({source id: (sentences with a structured fact, sentences counted)}, findings)."""
    per = {rv.source: (rv.structured, len(rv.counted)) for rv in reviews(compiled, kinds)}
    return per, findings(compiled, kinds)


def write_review(compiled: CompiledKB, source_id: str, kinds: dict, folder) -> tuple[list, SourceReview, list]:
    """Writes SOURCE-review.md and SOURCE-review.html into `folder`; returns the paths, the
    review and the findings about that source. KeyError names the known sources."""
    from pathlib import Path

    rv = review(compiled, source_id, kinds)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for ext, text in (("md", to_markdown(rv)), ("html", to_html(rv))):
        path = folder / f"{source_id}-review.{ext}"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    ids = {f.iri for s in rv.sentences for f in s.facts}
    return paths, rv, [f for f in findings(compiled, kinds) if f.subject in ids]
