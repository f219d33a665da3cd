"""Typed records -> RDF quads, after resolving every reference.

Two phases, as in followthemoney: first index every record by id (reporting duplicates), then
emit triples while resolving references, so all dangling references and all quotes that are
not in their source are reported in one run. Every IRI is derived from content (ids, or a
hash of the record), so the same KB always gives the same graph, and no blank node is made.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

from . import model as m
from .errors import Problem, did_you_mean
from .lexical import shown
from .quotes import mismatch_hint
from .index import record_id, short_hash
from .rdf import DKB, GRAPH, ID, RDF_TYPE, VOCAB, XSD, Quad, date_literal

RDFS = "http://www.w3.org/2000/01/rdf-schema#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
SCHEMA = "https://schema.org/"
ORG = "http://www.w3.org/ns/org#"
DCT = "http://purl.org/dc/terms/"

ENTITIES_GRAPH = GRAPH + "entities"

CLASS_OF = {
    m.Person: "Person", m.Organization: "Organization", m.Place: "Place", m.Post: "Post",
    m.Side: "Side", m.Source: "SourceDocument", m.Event: "Event", m.Statement: "Statement",
    m.PostAttestation: "PostAttestation", m.Figure: "Figure", m.Difference: "Difference",
}
# Thing kinds -> the ontology class of such things (vocabularies.ttl keeps the same list).
THING_CLASS = {
    "agreement": "Agreement", "action-plan": "Agreement", "declaration": "Agreement",
    "code-of-conduct": "Agreement", "trade-agreement": "Agreement",
    "partnership-framework": "PartnershipFramework", "mechanism": "Mechanism",
    "initiative": "Initiative", "project": "Project", "economic-zone": "Project",
    "programme": "Initiative", "themed-year": "ThemedYear", "anniversary": "Anniversary",
    "event-series": "EventSeries", "vision": "Initiative", "document-set": "Agreement", "policy": "Initiative",
}


# Terms are emitted in their plain form (rdf.py): an IRI as a str, a literal as a tuple
# (value, datatype, lang), which the build keeps and its cache writes as they are. An IRI
# that recurs is made once (cached below), so equal terms are mostly one object, which
# marshal writes once.
_shared = lru_cache(maxsize=1 << 20)  # bounded: a long-lived process compiles many KBs


@_shared
def _shared_iri(text: str) -> str:
    return text


_predicate = _class = _shared_iri


def normalize_ws(text: str) -> str:
    return " ".join(text.split())


@_shared
def iri(slug: str) -> str:
    return ID + slug


@_shared
def concept(scheme: str, slug: str) -> str:
    return f"{VOCAB}{scheme}/{slug}"


@_shared
def _kinds(kinds: str) -> frozenset:
    """'person|organization' -> the kinds a reference may name."""
    return frozenset(kinds.split("|"))


@_shared
def _date(text: str) -> tuple:
    return tuple(date_literal(text))


@dataclass(frozen=True)
class UnitOutput:
    """One YAML file compiled: its triples, where its subjects were written, what it looked up.

    `contrib`: subject -> graph -> its (predicate, object) pairs there, each once, in the order
    they were emitted (the form the build keeps of a file: incremental.py), made as the triples
    are emitted rather than regrouped from a list of quads afterwards."""

    contrib: dict
    locations: dict
    lookups: dict  # id -> the index entry it was compiled against (None: absent)
    problems: tuple

    @property
    def quads(self) -> tuple:
        """The file's quads, subject by subject."""
        return tuple(Quad(s, p, o, g) for s, gs in self.contrib.items() for g, pairs in gs.items() for p, o in pairs)


class _Compiler:
    """Compiles the records of one file against the index of every file's ids."""

    def __init__(self, records, index: dict, source_of, vocabularies: dict, broken_ids=frozenset()):
        self.records = records
        self.index = index
        self.source_of = source_of  # id -> model.Source (with its text) or None
        self.vocabularies = vocabularies
        self.broken_ids = broken_ids
        self.problems: list[Problem] = []
        self.contrib: dict = {}  # subject -> graph -> {(predicate, object): None} (UnitOutput)
        self.locations: dict = {}
        self.lookups: dict = {}
        self.norm_texts: dict = {}
        self.graph = ENTITIES_GRAPH
        # ids that files which could not be read seem to define -> that file (loader.load_file)
        self.failed = {rid: e[1] for e in broken_ids if isinstance(e, tuple) for rid in e[2]}
        self.unchecked: dict = {}  # failed file -> the references into it that could not be checked

    def lookup(self, rid: str):
        entry = self.index.get(rid)
        self.lookups[rid] = entry
        return entry

    def source(self, sid: str):
        self.lookup(sid)
        return self.source_of(sid)

    # -- helpers -------------------------------------------------------------------------
    def add(self, s: str, p: str, o) -> None:
        graphs = self.contrib.get(s)
        if graphs is None:
            graphs = self.contrib[s] = {}
        pairs = graphs.get(self.graph)
        if pairs is None:
            pairs = graphs[self.graph] = {}
        pairs[(_predicate(p), o)] = None

    def lit(self, s: str, p: str, value, datatype: str | None = None) -> None:
        if value is not None and value != "":
            self.add(s, p, (str(value), datatype, None))

    def ref(self, r: m.Ref | None, kinds: str) -> str | None:
        """The IRI of a referenced record, or None after recording a problem."""
        if r is None:
            return None
        allowed = _kinds(kinds)
        found = self.lookup(r.id)
        if found is None and r.id in self.broken_ids:
            return None  # already reported where it is defined
        if found is None and r.id in self.failed:  # one note per file (run), not one per reference
            self.unchecked.setdefault(self.failed[r.id], []).append(r)
            return None
        if found is None:
            candidates = [i for i, entry in self.index.items() if entry[0] in allowed]
            candidates += [b for b in self.broken_ids if isinstance(b, str)] + list(self.failed)
            self.problems.append(Problem(r.loc, f"unknown {' or '.join(sorted(allowed))} {shown(r.id, 200)}",
                                         hint=did_you_mean(r.id, candidates)))
            return None
        kind = found[0]
        if kind not in allowed:
            self.problems.append(Problem(
                r.loc, f"'{r.id}' is a {kind}, but a {' or '.join(sorted(allowed))} is expected here"))
            return None
        return iri(r.id)

    def refs(self, s: str, p: str, refs, kinds: str) -> None:
        for r in refs:
            target = self.ref(r, kinds)
            if target is not None:
                self.add(s, p, target)

    def name_of(self, r: m.Ref | None) -> str:
        """The display name of a referenced record (its id when it has none)."""
        found = self.lookup(r.id) if r is not None else None
        if found is None:
            return r.id if r is not None else "?"
        return found[1]

    def period(self, s: str, period: m.Period | None) -> None:
        if period is None:
            return
        if period.end is None:
            self.add(s, DKB + "date", _date(period.start.text))
        else:
            self.add(s, DKB + "startDate", _date(period.start.text))
            self.add(s, DKB + "endDate", _date(period.end.text))

    def names(self, s: str, rec) -> None:
        self.lit(s, RDFS + "label", rec.name)
        self.lit(s, SKOS + "prefLabel", rec.name)
        for v in rec.variants:
            self.lit(s, SKOS + "altLabel", v)
        for a in getattr(rec, "abbreviations", ()):
            self.lit(s, DKB + "abbreviation", a)
        self.lit(s, SKOS + "editorialNote", getattr(rec, "note", None))

    def typed(self, s: str, rec, cls: str | None = None) -> None:
        self.locations[s] = rec.loc
        self.add(s, RDF_TYPE, _class(DKB + (cls or CLASS_OF[type(rec)])))

    def evidence(self, s: str | None, quotes, source_id: str) -> None:
        """Links `s` to one Evidence node per quote, checking each quote against the text
        (with `s` None, only checks them)."""
        source = self.source(source_id)
        if source is None:  # its source file had problems, already reported
            return
        if source_id not in self.norm_texts:
            self.norm_texts[source_id] = normalize_ws(source.text)
        text = self.norm_texts[source_id]
        for q in quotes:
            quote = normalize_ws(q.text)
            if quote not in text:
                self.problems.append(Problem(
                    q.loc, f"quote does not occur in the text of source '{source_id}' "
                           f"({source.text_file})", hint=mismatch_hint(quote, text, source.text, source.text_file)))
                continue
            if s is None:
                continue
            ev = f"{ID}evidence/{source_id}-{short_hash(quote)}"
            self.add(s, DKB + "evidence", ev)
            if ev not in self.locations:  # described in its source's graph, whoever cites it
                self.locations[ev] = q.loc
                graph, self.graph = self.graph, _shared_iri(GRAPH + source_id)
                self.add(ev, RDF_TYPE, _class(DKB + "Evidence"))
                self.add(ev, DKB + "source", iri(source_id))
                self.lit(ev, DKB + "quote", q.text)
                self.graph = graph

    # -- phase 2: one method per record class ----------------------------------------------
    def emit_person(self, r: m.Person, s: str) -> None:
        self.names(s, r)
        for h in r.honorifics:
            self.lit(s, SCHEMA + "honorificPrefix", h)
        self.lit(s, SCHEMA + "familyName", r.family_name)
        self.lit(s, SCHEMA + "givenName", r.given_name)
        if (c := self.ref(r.nationality, "place")) is not None:
            self.add(s, DKB + "nationality", c)

    def emit_organization(self, r: m.Organization, s: str) -> None:
        self.names(s, r)
        self.add(s, DKB + "organizationKind", concept("organization-kind", r.kind.id))
        if (p := self.ref(r.part_of, "organization")) is not None:
            self.add(s, ORG + "subOrganizationOf", p)
        if (c := self.ref(r.country, "place")) is not None:
            self.add(s, DKB + "country", c)

    def emit_place(self, r: m.Place, s: str) -> None:
        self.names(s, r)
        if r.kind.id == "country":
            self.add(s, RDF_TYPE, _class(DKB + "Country"))
        self.add(s, DKB + "placeKind", concept("place-kind", r.kind.id))
        if (p := self.ref(r.located_in, "place")) is not None:
            self.add(s, DKB + "locatedIn", p)

    def emit_post(self, r: m.Post, s: str) -> None:
        self.names(s, r)
        if (o := self.ref(r.organization, "organization")) is not None:
            self.add(s, ORG + "postIn", o)

    def emit_thing(self, r: m.Thing, s: str) -> None:
        self.names(s, r)
        self.add(s, DKB + "thingKind", concept("thing-kind", r.kind.id))
        if r.year is not None:
            self.add(s, DKB + "year", _date(r.year.text))
        self.lit(s, DKB + "ordinal", r.ordinal, XSD + "integer")
        self.refs(s, DKB + "party", r.parties, "place|organization")
        if (p := self.ref(r.part_of, "thing")) is not None:
            self.add(s, DKB + "partOf", p)
        if (p := self.ref(r.located_in, "place")) is not None:
            self.add(s, DKB + "locatedIn", p)

    def emit_side(self, r: m.Side, s: str) -> None:
        self.names(s, r)
        self.refs(s, DKB + "sideOf", r.countries, "place")

    def emit_source(self, r: m.Source, s: str) -> None:
        self.lit(s, DCT + "title", r.title)
        self.lit(s, RDFS + "label", r.title or f"{r.text_file} (untitled)")
        self.add(s, DKB + "sourceKind", concept("source-kind", r.kind.id))
        if (p := self.ref(r.publisher, "organization")) is not None:
            self.add(s, DCT + "publisher", p)
        self.lit(s, DKB + "publisherNote", r.publisher_note)
        if (p := self.ref(r.place, "place")) is not None:
            self.add(s, DKB + "place", p)
        self.period(s, r.date)
        self.lit(s, DKB + "dateline", r.dateline)
        self.lit(s, DKB + "dateNote", r.date_note)
        self.lit(s, DCT + "language", r.language)
        self.lit(s, DKB + "archivedText", r.text_file)
        self.lit(s, DKB + "sha256", hashlib.sha256(r.text.encode("utf-8")).hexdigest())
        self.lit(s, SKOS + "editorialNote", r.note)

    def emit_event(self, r: m.Event, s: str) -> None:
        self.lit(s, RDFS + "label", r.title)
        self.add(s, DKB + "eventKind", concept("event-kind", r.kind.id))
        self.add(s, DKB + "status", concept("event-status", r.status.id))
        self.period(s, r.date)
        if (p := self.ref(r.place, "place")) is not None:
            self.add(s, DKB + "place", p)
        if (p := self.ref(r.venue, "organization|place")) is not None:
            self.add(s, DKB + "venue", p)
        if (p := self.ref(r.part_of, "event")) is not None:
            self.add(s, DKB + "subEventOf", p)
        agents = "person|organization|place|side"
        self.refs(s, DKB + "invitedBy", r.invited_by, agents)
        self.refs(s, DKB + "host", r.hosts, agents)
        self.refs(s, DKB + "concerns", r.about, "thing|event|organization|place|person")
        self.lit(s, SKOS + "editorialNote", r.note)
        for part in r.participants:
            who = self.ref(part.who, agents)
            side = self.ref(part.side, "place")
            if who is None:
                continue
            node = f"{ID}participation/{r.id}--{part.who.id}"
            self.add(s, DKB + "participant", who)
            self.add(s, DKB + "participation", node)
            self.typed(node, part, "Participation")
            self.add(node, DKB + "agent", who)
            if side is not None:
                self.add(node, DKB + "onSideOf", side)
            self.lit(node, DKB + "role", part.role)
        self.evidence(s, r.quote, r.source)

    def emit_statement(self, r: m.Statement, s: str) -> None:
        if (sp := self.ref(r.speaker, "person|organization|place|side|source")) is not None:
            self.add(s, DKB + "speaker", sp)
        self.add(s, DKB + "statementKind", concept("statement-kind", r.kind.id))
        for t in r.topics:
            self.add(s, DKB + "topic", concept("topic", t.id))
        self.refs(s, DKB + "addressee", r.target, "person|organization|place|side|thing")
        self.refs(s, DKB + "concerns", r.about, "thing|event|organization|place|person|post")
        if (e := self.ref(r.at, "event")) is not None:
            self.add(s, DKB + "madeAt", e)
        self.period(s, r.date)
        kind = self.vocabularies.get("statement-kind", {}).get(r.kind.id, r.kind.id)
        self.lit(s, RDFS + "label", f"{self.name_of(r.speaker)} {kind}: " + (r.summary or r.quote[0].text)[:120])
        self.lit(s, DKB + "section", r.section)
        self.lit(s, DKB + "summary", r.summary)
        self.lit(s, SKOS + "editorialNote", r.note)
        self.evidence(s, r.quote, r.source)

    def emit_attestation(self, r: m.PostAttestation, s: str) -> None:
        if (p := self.ref(r.person, "person")) is not None:
            self.add(s, DKB + "holder", p)
        if (p := self.ref(r.post, "post")) is not None:
            self.add(s, DKB + "post", p)
        self.lit(s, DKB + "asNamed", r.as_named)
        self.lit(s, RDFS + "label", f"{self.name_of(r.person)}: {r.as_named} ({r.source})")
        date = r.date or self.source(r.source).date
        if date is None:
            self.problems.append(Problem(r.loc, "post attestation needs a 'date': its source has none"))
        self.period(s, date)
        if r.start is not None:
            self.add(s, DKB + "heldFrom", _date(r.start.text))
        if r.end is not None:
            self.add(s, DKB + "heldUntil", _date(r.end.text))
        self.lit(s, SKOS + "editorialNote", r.note)
        self.evidence(s, r.quote, r.source)

    def emit_figure(self, r: m.Figure, s: str) -> None:
        self.lit(s, RDFS + "label", f"{r.measure.id} of {self.name_of(r.about)}: {r.value}"
                 + (f" {r.unit}" if r.unit else ""))
        if (a := self.ref(r.about, "event|thing|place|organization")) is not None:
            self.add(s, DKB + "about", a)
        self.add(s, DKB + "measure", concept("measure", r.measure.id))
        self.lit(s, DKB + "value", r.value, XSD + "decimal")
        self.lit(s, DKB + "unit", r.unit)
        if r.qualifier is not None:
            self.add(s, DKB + "qualifier", concept("qualifier", r.qualifier.id))
        self.evidence(s, r.quote, r.source)

    def emit_difference(self, r: m.Difference, s: str) -> None:
        self.lit(s, RDFS + "label", f"difference: {r.id}")
        self.refs(s, DKB + "concerns", r.about, "person|organization|post|thing|event|place")
        self.add(s, DKB + "aspect", concept("difference-aspect", r.aspect.id))
        self.lit(s, DCT + "description", r.description)
        for claim in r.claims:
            src = self.ref(claim.source, "source")
            if src is None:
                continue
            node = f"{ID}claim/{r.id}--{claim.source.id}-{short_hash(claim.says, n=6)}"
            self.add(s, DKB + "claim", node)
            self.typed(node, claim, "Claim")
            self.add(node, DKB + "source", src)
            self.lit(node, DKB + "says", claim.says)
            self.evidence(node, claim.quote, claim.source.id)

    def emit_report(self, r: m.Report) -> None:
        target = self.ref(r.of, "event|statement|attestation|figure")
        if target is not None:
            self.evidence(target, r.quote, r.source)

    def emit_fidelity(self, r, s: str) -> None:
        """Fields of several record classes: the text's wording for a speaker, the bounds of
        an undated event, the event an attestation is named in, areas of cooperation, and
        which values the curator inferred (each needs a note saying how)."""
        if getattr(r, "speaker_as_named", None):
            self.lit(s, DKB + "speakerAsNamed", r.speaker_as_named)
        if getattr(r, "within", None) is not None:
            if r.within.end is None:
                self.problems.append(Problem(r.loc, "'within' needs a range start/end: the bounds the text gives"))
            else:
                self.add(s, DKB + "notBefore", _date(r.within.start.text))
                self.add(s, DKB + "notAfter", _date(r.within.end.text))
        if isinstance(r, m.PostAttestation) and (e := self.ref(r.at, "event")) is not None:
            self.add(s, DKB + "attestedAt", e)
        for a in getattr(r, "areas", ()):
            self.add(s, DKB + "cooperationArea", concept("cooperation-area", a.id))
        inferred = getattr(r, "inferred", ())
        if inferred and not r.note:
            self.problems.append(Problem(r.loc, "'inferred' needs a 'note' saying what the curator inferred, and from what"))
        for name in inferred:
            if getattr(r, name, None) in (None, (), ""):
                fields = [f for f in type(r).__dataclass_fields__ if getattr(r, f, None) not in (None, (), "")]
                self.problems.append(Problem(r.loc, f"'inferred' names '{name}', which this record does not set",
                                             hint=did_you_mean(name, fields)))
                continue
            self.lit(s, DKB + "inferred", name)

    EMIT = {
        m.Person: emit_person, m.Organization: emit_organization, m.Place: emit_place,
        m.Post: emit_post, m.Thing: emit_thing, m.Side: emit_side, m.Source: emit_source,
        m.Event: emit_event, m.Statement: emit_statement, m.PostAttestation: emit_attestation,
        m.Figure: emit_figure, m.Difference: emit_difference,
    }

    def run(self) -> UnitOutput:
        for rec in self.records:
            self.graph = _shared_iri(GRAPH + (rec.id if isinstance(rec, m.Source) else getattr(rec, "source", "")
                                              or "entities"))
            if isinstance(rec, m.Report):
                self.emit_report(rec)
                continue
            if isinstance(rec, m.Unchecked):  # a record with problems: its references still
                for r, kinds in rec.refs:
                    self.ref(r, kinds)
                if rec.text:  # its source record failed: its archived text all the same
                    text = normalize_ws(rec.text)
                    for q in rec.quotes:
                        if normalize_ws(q.text) not in text:
                            self.problems.append(Problem(
                                q.loc, f"quote does not occur in the text of source '{rec.source}' ({rec.text_file})",
                                hint=mismatch_hint(normalize_ws(q.text), text, rec.text, rec.text_file)))
                    continue
                for sid in dict.fromkeys(q.source for q in rec.quotes if q.source):
                    self.evidence(None, [q for q in rec.quotes if q.source == sid], sid)
                continue
            s = iri(record_id(rec))
            if isinstance(rec, m.Thing):
                self.typed(s, rec, THING_CLASS.get(rec.kind.id, "NamedThing"))
            else:
                self.typed(s, rec)
            self.EMIT[type(rec)](self, rec, s)
            self.emit_fidelity(rec, s)
        for failed, refs in sorted(self.unchecked.items()):
            refs = sorted(refs, key=lambda r: r.loc)
            ids = list(dict.fromkeys(r.id for r in refs))
            what = (f"'{ids[0]}'" if len(refs) == 1 else f"{len(refs)} references (to "
                    + ", ".join(f"'{i}'" for i in ids[:5]) + (", …" if len(ids) > 5 else "") + ")")
            at = list(dict.fromkeys(r.loc.line for r in refs))
            lines = "" if len(at) == 1 else f" (lines {', '.join(map(str, at[:8]))}" + ("…" if len(at) > 8 else "") + ")"
            self.problems.append(Problem(refs[0].loc, f"{what} could not be checked because {failed} failed to load"
                                         + lines, severity="note"))
        contrib = {s: {g: tuple(pairs) for g, pairs in graphs.items()} for s, graphs in self.contrib.items()}
        return UnitOutput(contrib=contrib, locations=self.locations,
                          lookups=self.lookups, problems=tuple(self.problems))


def compile_unit(records, index: dict, source_of, vocabularies: dict, broken_ids=frozenset()) -> UnitOutput:
    """Quads of one file's records; references resolve against `index` (see build_index)."""
    return _Compiler(records, index, source_of, vocabularies, broken_ids).run()
