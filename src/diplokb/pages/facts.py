"""Bulk look-ups shared by the pages: quotes of facts, events with their dates, meetings."""
from __future__ import annotations

from dataclasses import dataclass

from .html import esc, fmt_when, link, quote_href, sort_date


def values(iris) -> str:
    return " ".join(f"<{i}>" for i in sorted(set(iris)))


@dataclass(frozen=True)
class Quote:
    evidence: str
    text: str
    source: str


def quotes_for(ctx, subjects) -> dict[str, list[Quote]]:
    """subject -> its quotes (evidence node, quote, source), sorted by source then quote."""
    subjects = list(subjects)
    out: dict[str, list[Quote]] = {}
    if not subjects:
        return out
    for sol in ctx.q(f"SELECT ?s ?e ?quote ?src WHERE {{ VALUES ?s {{ {values(subjects)} }} "
                     "?s dkb:evidence ?e . ?e dkb:quote ?quote ; dkb:source ?src }"):
        out.setdefault(sol["s"].value, []).append(
            Quote(sol["e"].value, " ".join(sol["quote"].value.split()), sol["src"].value))
    for v in out.values():
        v.sort(key=lambda q: (q.source, q.text))
    return out


def quotes_html(ctx, quotes: list[Quote]) -> str:
    return "".join(f"<blockquote>“{esc(q.text)}” <span class=muted>— {link(ctx, q.source)} · "
                   f"<a href='{esc(quote_href(q.evidence, q.source))}'>in the text</a></span></blockquote>"
                   for q in quotes)


@dataclass(frozen=True)
class EventInfo:
    iri: str
    date: str | None
    start: str | None
    end: str | None
    status: str | None
    kind: str | None
    place: str | None
    parent: str | None
    not_before: str | None = None  # bounds the text gives an event it does not date
    not_after: str | None = None

    @property
    def key(self) -> tuple:
        return (sort_date(self.date, self.start or self.not_before), self.iri)

    @property
    def bounded(self) -> bool:
        """No date of its own, but the text bounds it (e.g. 'during the visit')."""
        return not (self.date or self.start or self.end) and bool(self.not_before and self.not_after)

    @property
    def announced(self) -> bool:
        return self.status is not None and not self.status.endswith("/took-place")

    def when(self) -> str:
        if self.bounded:
            return (f"<span class=muted>not dated; between</span> {fmt_when(self.not_before)} "
                    f"<span class=muted>and</span> {fmt_when(self.not_after)}")
        return fmt_when(self.date, self.start, self.end)


def events_info(ctx, events=None) -> dict[str, EventInfo]:
    """Dates, status, kind, place and parent of the given events (every event when None)."""
    if events is not None and not events:
        return {}
    restrict = f"VALUES ?e {{ {values(events)} }}" if events is not None else ""
    out = {}
    for sol in ctx.q(f"SELECT ?e (SAMPLE(?d) AS ?d1) (SAMPLE(?s) AS ?s1) (SAMPLE(?x) AS ?x1) (SAMPLE(?st) AS ?st1) "
                     f"(SAMPLE(?k) AS ?k1) (SAMPLE(?pl) AS ?pl1) (SAMPLE(?par) AS ?par1) (SAMPLE(?nb) AS ?nb1) (SAMPLE(?na) AS ?na1) "
                     f"WHERE {{ {restrict} ?e a dkb:Event . "
                     "OPTIONAL { ?e dkb:notBefore ?nb } OPTIONAL { ?e dkb:notAfter ?na } "
                     "OPTIONAL { ?e dkb:date ?d } OPTIONAL { ?e dkb:startDate ?s } OPTIONAL { ?e dkb:endDate ?x } "
                     "OPTIONAL { ?e dkb:status ?st } OPTIONAL { ?e dkb:eventKind ?k } OPTIONAL { ?e dkb:place ?pl } "
                     "OPTIONAL { ?e dkb:subEventOf ?par } } GROUP BY ?e"):
        v = lambda n: sol[n].value if sol[n] is not None else None  # noqa: E731
        out[sol["e"].value] = EventInfo(sol["e"].value, v("d1"), v("s1"), v("x1"), v("st1"), v("k1"), v("pl1"), v("par1"),
                                       v("nb1"), v("na1"))
    return out


def status_tag(ctx, info: EventInfo) -> str:
    if info.status is None:
        return ""
    cls = " announced" if info.announced else ""
    return f"<span class='tag{cls}'>{esc(ctx.label(info.status))}</span>"


@dataclass(frozen=True)
class Meeting:
    event: str
    people: tuple[str, ...]
    year: str | None


def meetings(ctx) -> list[Meeting]:
    """Events in which two or more people took part (as participants, hosts or via a
    participation), other than those that only group sub-events (a visit's meetings are its
    sub-events, the visit itself is not a meeting)."""
    def make():
        people: dict[str, set] = {}
        for sol in ctx.q("SELECT DISTINCT ?e ?a WHERE { ?e a dkb:Event . "
                         "{ ?e dkb:participant|dkb:host ?a } UNION { ?e dkb:participation/dkb:agent ?a } "
                         "?a a dkb:Person . FILTER NOT EXISTS { ?sub dkb:subEventOf ?e } }"):
            people.setdefault(sol["e"].value, set()).add(sol["a"].value)
        out = []
        for e, ps in sorted(people.items()):
            if len(ps) > 1:
                out.append(Meeting(e, tuple(sorted(ps)), year_of(ctx, e)))
        return out
    return ctx._cached("meetings", make)


def all_events(ctx) -> dict[str, EventInfo]:
    return ctx._cached("events", lambda: events_info(ctx))


def _dated_parent(ctx, i: EventInfo) -> EventInfo | None:
    """The nearest enclosing event with a date, for an event with none of its own."""
    seen = set()
    events = all_events(ctx)
    while i is not None and not (i.date or i.start or i.end):
        if i.iri in seen or i.parent is None:
            return None
        seen.add(i.iri)
        i = events.get(i.parent)
    return i


def when_html(ctx, e: str) -> str:
    i = all_events(ctx).get(e)
    if i is None:
        return ""
    if i.date or i.start or i.end or i.bounded:
        return i.when()
    p = _dated_parent(ctx, i)
    if p is None:
        return "<span class=muted>date not given</span>"
    return f"<span class=muted>no date of its own; during</span> {p.when()}"


def when_key(ctx, e: str) -> tuple:
    i = all_events(ctx).get(e)
    if i is None:
        return ("9999", e)
    p = _dated_parent(ctx, i)
    return (sort_date(p.date, p.start) if p else "9999", e)


def year_of(ctx, e: str) -> str | None:
    i = all_events(ctx).get(e)
    p = _dated_parent(ctx, i) if i else None
    d = p and (p.date or p.start or p.end)
    return d[:4] if d else None
