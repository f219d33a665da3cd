"""What the YAML means, as frozen data classes.

Each field's `metadata["yaml"]` says how the loader reads it, so this file is also the
reference of the YAML format (see docs/yaml-format.md for prose and an example):

    str        a string (plain scalars are never turned into numbers or booleans)
    text       a string or a list of strings (quotes)
    strs       a list of strings
    slug       an id: lower-case letters, digits and hyphens
    date       a date at the precision written: 2024, 2024-12, 2024-12-02, or a range a/b
    integer    a whole number written as digits
    decimal    a number written as digits, read exactly
    lang       a BCP 47 language tag (en, km, zh-Hans)
    ref:K      the id of a record of kind K (several kinds separated by '|')
    refs:K     a list of such ids
    vocab:S    the id of a concept of the SKOS scheme S (ontology/vocabularies.ttl)
    vocabs:S   a list of such ids
    items:C    a list of mappings read as records of class C
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .errors import SourceLocation

NO_LOC = SourceLocation("<unknown>")


def spec(kind: str, *, required: bool = False, default=None, doc: str = ""):
    """A field read from YAML: `kind` as in the module docstring."""
    meta = {"yaml": kind, "required": required, "doc": doc}
    if kind.startswith(("refs:", "vocabs:", "strs", "items:", "text")):
        return field(default=(), metadata=meta)
    return field(default=default, metadata=meta)


def _loc():
    return field(default=NO_LOC, compare=False, repr=False)


@dataclass(frozen=True)
class Ref:
    """A reference by id, with where it was written, resolved by the compiler."""

    id: str
    loc: SourceLocation = _loc()


@dataclass(frozen=True, order=True)
class Date:
    """A calendar date at the precision the source gives: 'year', 'month' or 'day'."""

    text: str

    @property
    def precision(self) -> str:
        return {4: "year", 7: "month", 10: "day"}[len(self.text)]


@dataclass(frozen=True)
class Period:
    """A single date (`end` is None) or an inclusive range of dates."""

    start: Date
    end: Date | None = None

    def __str__(self) -> str:
        return self.start.text if self.end is None else f"{self.start.text}/{self.end.text}"

    @property
    def latest(self) -> Date:
        return self.end or self.start


from .lexical import SLUG_RE  # noqa: E402,F401 (ids: lower-case letters, digits, single hyphens)


# --- shared entities (kb/entities/*.yaml) ------------------------------------------------

@dataclass(frozen=True)
class Person:
    id: str = spec("slug", required=True)
    name: str = spec("str", required=True, doc="preferred name, without honorifics")
    variants: tuple = spec("strs", doc="other spellings of the name used by sources")
    honorifics: tuple = spec("strs", doc="honorifics and styles, kept apart from the name")
    family_name: str | None = spec("str")
    given_name: str | None = spec("str")
    nationality: Ref | None = spec("ref:place")
    note: str | None = spec("str")
    inferred: tuple = spec("strs", doc="fields whose value the curator inferred; needs a note")
    loc: SourceLocation = _loc()


@dataclass(frozen=True)
class Organization:
    id: str = spec("slug", required=True)
    name: str = spec("str", required=True)
    variants: tuple = spec("strs")
    abbreviations: tuple = spec("strs")
    kind: Ref = spec("vocab:organization-kind", required=True)
    part_of: Ref | None = spec("ref:organization")
    country: Ref | None = spec("ref:place")
    note: str | None = spec("str")
    inferred: tuple = spec("strs", doc="fields whose value the curator inferred; needs a note")
    loc: SourceLocation = _loc()


@dataclass(frozen=True)
class Place:
    id: str = spec("slug", required=True)
    name: str = spec("str", required=True)
    variants: tuple = spec("strs")
    kind: Ref = spec("vocab:place-kind", required=True)
    located_in: Ref | None = spec("ref:place")
    note: str | None = spec("str")
    loc: SourceLocation = _loc()


@dataclass(frozen=True)
class Post:
    id: str = spec("slug", required=True)
    name: str = spec("str", required=True)
    variants: tuple = spec("strs", doc="other names sources give the same post")
    organization: Ref = spec("ref:organization", required=True)
    note: str | None = spec("str")
    inferred: tuple = spec("strs", doc="fields whose value the curator inferred; needs a note")
    loc: SourceLocation = _loc()


@dataclass(frozen=True)
class Thing:
    """An agreement, partnership framework, mechanism, initiative, project, themed year..."""

    id: str = spec("slug", required=True)
    name: str = spec("str", required=True)
    variants: tuple = spec("strs")
    abbreviations: tuple = spec("strs")
    kind: Ref = spec("vocab:thing-kind", required=True)
    year: Date | None = spec("date", doc="the year a themed year or anniversary falls in")
    ordinal: str | None = spec("integer", doc="65 for a 65th anniversary, 7 for a 7th meeting")
    parties: tuple = spec("refs:place|organization", doc="countries or bodies it binds or joins")
    part_of: Ref | None = spec("ref:thing")
    located_in: Ref | None = spec("ref:place")
    note: str | None = spec("str")
    areas: tuple = spec("vocabs:cooperation-area", doc="areas of cooperation the text lists")
    inferred: tuple = spec("strs", doc="fields whose value the curator inferred; needs a note")
    loc: SourceLocation = _loc()


@dataclass(frozen=True)
class Side:
    """A party speaking collectively: 'the Chinese side', 'both sides'."""

    id: str = spec("slug", required=True)
    name: str = spec("str", required=True)
    variants: tuple = spec("strs")
    countries: tuple = spec("refs:place", required=True)
    loc: SourceLocation = _loc()


# --- evidence and per-source records (kb/sources/*.yaml) ----------------------------------

@dataclass(frozen=True)
class Quote:
    """A verbatim quote from a source's archived text."""

    source: str
    text: str
    loc: SourceLocation = _loc()


@dataclass(frozen=True)
class Source:
    id: str = spec("slug", required=True)
    title: str | None = spec("str", doc="as printed; omit when the document has none")
    kind: Ref = spec("vocab:source-kind", required=True)
    publisher: Ref | None = spec("ref:organization")
    publisher_note: str | None = spec("str")
    place: Ref | None = spec("ref:place", doc="the dateline's place")
    date: Period | None = spec("date", doc="the dateline's date, or the range it must lie in")
    dateline: str | None = spec("str", doc="the dateline as printed")
    date_note: str | None = spec("str")
    language: str = spec("lang", default="en")
    text_file: str = spec("str", required=True, doc="archived text, beside the YAML")
    sha256: str | None = spec("str", doc="the archived text's SHA-256 (hex); when given, the build "
                                         "checks the text is still byte for byte the one archived")
    note: str | None = spec("str")
    loc: SourceLocation = _loc()
    text: str = field(default="", compare=False, repr=False)
    yaml_file: str = field(default="", compare=False, repr=False)


@dataclass(frozen=True)
class Participation:
    who: Ref = spec("ref:person|organization|place|side", required=True)
    side: Ref | None = spec("ref:place", doc="the country whose side they are on")
    role: str | None = spec("str")
    loc: SourceLocation = _loc()


@dataclass(frozen=True)
class Event:
    id: str = spec("slug", required=True)
    kind: Ref = spec("vocab:event-kind", required=True)
    title: str = spec("str", required=True)
    date: Period | None = spec("date")
    within: Period | None = spec("date", doc="bounds the text gives when it gives no date: during the visit...")
    status: Ref = spec("vocab:event-status", required=True)
    place: Ref | None = spec("ref:place")
    venue: Ref | None = spec("ref:organization|place", doc="building or body where it took place")
    part_of: Ref | None = spec("ref:event")
    invited_by: tuple = spec("refs:person|organization|place|side")
    hosts: tuple = spec("refs:person|organization|place|side")
    participants: tuple = spec("items:Participation")
    about: tuple = spec("refs:thing|event|organization|place|person")
    note: str | None = spec("str")
    areas: tuple = spec("vocabs:cooperation-area", doc="areas of cooperation the text lists")
    inferred: tuple = spec("strs", doc="fields whose value the curator inferred; needs a note")
    quote: tuple = spec("text", required=True)
    loc: SourceLocation = _loc()
    source: str = ""


@dataclass(frozen=True)
class Statement:
    id: str | None = spec("slug", doc="optional; derived from the content when absent")
    speaker: Ref = spec("ref:person|organization|place|side|source", required=True,
                        doc="who said it; a source id when the document speaks in its own voice")
    speaker_as_named: str | None = spec("str", doc="the text's own wording for the speaker: 'China', 'He'")
    kind: Ref = spec("vocab:statement-kind", required=True)
    topics: tuple = spec("vocabs:topic")
    target: tuple = spec("refs:person|organization|place|side|thing", doc="to or about whom")
    about: tuple = spec("refs:thing|event|organization|place|person|post")
    at: Ref | None = spec("ref:event", doc="the event where it was said")
    date: Period | None = spec("date")
    section: str | None = spec("str", doc="paragraph of the source, e.g. 4(d)")
    summary: str | None = spec("str", doc="what was said, in the curator's words")
    note: str | None = spec("str")
    areas: tuple = spec("vocabs:cooperation-area", doc="areas of cooperation the text lists")
    inferred: tuple = spec("strs", doc="fields whose value the curator inferred; needs a note")
    quote: tuple = spec("text", required=True)
    loc: SourceLocation = _loc()
    source: str = ""


@dataclass(frozen=True)
class PostAttestation:
    id: str | None = spec("slug")
    person: Ref = spec("ref:person", required=True)
    post: Ref = spec("ref:post", required=True)
    as_named: str = spec("str", required=True, doc="the post's name as this source writes it")
    date: Period | None = spec("date", doc="when the source says it was held; default: its date")
    start: Date | None = spec("date")
    end: Date | None = spec("date")
    at: Ref | None = spec("ref:event", doc="the event during which the text names the post")
    note: str | None = spec("str")
    inferred: tuple = spec("strs", doc="fields whose value the curator inferred; needs a note")
    quote: tuple = spec("text", required=True)
    loc: SourceLocation = _loc()
    source: str = ""


@dataclass(frozen=True)
class Figure:
    id: str | None = spec("slug")
    about: Ref = spec("ref:event|thing|place|organization", required=True)
    measure: Ref = spec("vocab:measure", required=True)
    value: str = spec("decimal", required=True)
    unit: str | None = spec("str")
    qualifier: Ref | None = spec("vocab:qualifier", doc="more-than, about, at-least...")
    quote: tuple = spec("text", required=True)
    loc: SourceLocation = _loc()
    source: str = ""


@dataclass(frozen=True)
class Report:
    """Evidence from this source for a record defined in another source's file."""

    of: Ref = spec("ref:event|statement|attestation|figure", required=True)
    quote: tuple = spec("text", required=True)
    loc: SourceLocation = _loc()
    source: str = ""


@dataclass(frozen=True)
class Claim:
    source: Ref = spec("ref:source", required=True)
    says: str = spec("str", required=True, doc="what this source says, in brief")
    quote: tuple = spec("text", required=True)
    loc: SourceLocation = _loc()


@dataclass(frozen=True)
class Difference:
    """Where sources differ about one thing: each claim keeps its source and quote."""

    id: str = spec("slug", required=True)
    about: tuple = spec("refs:person|organization|post|thing|event|place", required=True)
    aspect: Ref = spec("vocab:difference-aspect", required=True)
    description: str = spec("str", required=True)
    claims: tuple = spec("items:Claim", required=True)
    loc: SourceLocation = _loc()


@dataclass(frozen=True)
class Unchecked:
    """What is left of a record that had problems (or whose source had): its references,
    (Ref, kinds) pairs, and its quotes, so that they are checked in the same run; it compiles
    to nothing. `text` is the archived text to check the quotes against when the source
    record itself failed (else the source's own text is used)."""

    refs: tuple
    quotes: tuple = ()
    loc: SourceLocation = _loc()
    source: str = ""
    text: str = field(default="", repr=False)
    text_file: str = ""


# Top-level sections of each kind of file, and the class each item is read as.
ENTITY_SECTIONS = {
    "people": Person,
    "organizations": Organization,
    "places": Place,
    "posts": Post,
    "things": Thing,
    "sides": Side,
    "differences": Difference,
}
SOURCE_SECTIONS = {
    "events": Event,
    "statements": Statement,
    "posts": PostAttestation,
    "figures": Figure,
    "reports": Report,
}
ITEM_CLASSES = {"Participation": Participation, "Claim": Claim}

# The kind name each class answers to in `ref:` fields.
REF_KIND = {
    Person: "person",
    Organization: "organization",
    Place: "place",
    Post: "post",
    Thing: "thing",
    Side: "side",
    Source: "source",
    Event: "event",
    Statement: "statement",
    PostAttestation: "attestation",
    Figure: "figure",
    Difference: "difference",
}


@dataclass(frozen=True)
class KB:
    """Everything read from a KB directory, before references are resolved."""

    root: str
    sources: tuple = ()
    records: tuple = ()  # every other record, in file order
    vocabularies: dict = field(default_factory=dict, compare=False)  # scheme -> {id: label}
    problems: tuple = ()  # problems found while loading
    broken_ids: frozenset = frozenset()  # ids of records left out because of problems
