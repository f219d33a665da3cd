"""The source reader: a source's archived text laid out as the document, every quoted span
highlighted and linked to the facts it supports, each fact linking back (`#q-...`)."""
from __future__ import annotations

import bisect
import re

from ..stats import is_heading
from .html import DCT, DKB, SKOS, anchor, esc, fact_anchor, fmt_when, link, page

_BLANK = re.compile(r"\n[ \t\r\f\v]*\n\s*")
_MARKUP = re.compile(r"\*\*|__|^#{1,6}(?= )|&nbsp;|</?[a-z]+>", re.M)


def source_page(ctx, iri: str) -> str:
    meta: dict[str, list] = {}
    for sol in ctx.q(f"SELECT ?p ?o WHERE {{ <{iri}> ?p ?o }} ORDER BY ?p ?o"):
        meta.setdefault(sol["p"].value, []).append(sol["o"])
    one = lambda p: meta[p][0].value if p in meta else None  # noqa: E731
    title = one(DCT + "title")
    unknown = []
    rows = [("Title", f"“{esc(title)}” <span class=muted>(as printed)</span>" if title
             else "<i>untitled</i> <span class=muted>(no title is printed in the document)</span>")]
    if not title:
        unknown.append("its title: none is printed")
    if DCT + "publisher" in meta:
        rows.append(("Publisher", ", ".join(link(ctx, o.value) for o in meta[DCT + "publisher"])))
    else:
        unknown.append("who published it" + (f": {one(DKB + 'publisherNote')}" if one(DKB + "publisherNote") else ""))
    when = fmt_when(one(DKB + "date"), one(DKB + "startDate"), one(DKB + "endDate"))
    rows.append(("Date", when + (f"<br><span class=muted>{esc(one(DKB + 'dateNote'))}</span>" if one(DKB + "dateNote") else "")))
    if DKB + "date" not in meta:
        unknown.append("its exact date" + (": it is known only as a range" if DKB + "startDate" in meta else ""))
    for p, name in ((DKB + "dateline", "Dateline"), (DKB + "place", "Place"), (DKB + "sourceKind", "Kind"),
                    (DCT + "language", "Language"), (SKOS + "editorialNote", "Curator's note")):
        if p in meta:
            rows.append((name, ", ".join(link(ctx, o.value) if type(o).__name__ == "NamedNode" else esc(o.value)
                                         for o in meta[p])))
    if DKB + "place" not in meta:
        unknown.append("where it was issued")
    text, problem = ctx.text_of(iri)
    rows.append(("Archived text", f"{esc(one(DKB + 'archivedText') or '')} <span class=muted>SHA-256 "
                 f"{esc(one(DKB + 'sha256') or 'not recorded')}{' · verified' if text is not None else ''}</span>"))
    body = ["<dl class=meta>" + "".join(f"<dt>{esc(k)}</dt><dd>{v}</dd>" for k, v in rows) + "</dl>"]
    if unknown:
        body.append("<h2>What the KB does not know</h2><ul>" + "".join(f"<li>{esc(u)}</li>" for u in unknown) + "</ul>")
    evidence = _evidence(ctx, iri)
    if text is None:
        body.append(f"<h2>Text</h2><p class=error>{esc(problem)}</p>")
        spans = {}
    else:
        spans, share, article = ctx._cached(("source", iri), lambda: _laid_out(text, evidence))
        body.append(f"<h2>Text</h2><p class=muted>{len(spans)} quoted spans, covering {share:.0%} of the text. "
                    "Each highlight links to the facts it supports.</p>")
        body.append(article)
    body.append(_facts(ctx, evidence, spans))
    return page(ctx, title or ctx.label(iri), "".join(body),
                heading=esc(title) if title else f"<i>Untitled</i> <span class=muted>{esc(one(DKB + 'archivedText') or '')}</span>")


def _evidence(ctx, iri: str) -> dict[str, tuple[str, list[str]]]:
    """evidence node -> (quote, facts citing it)."""
    out: dict[str, tuple[str, list[str]]] = {}
    for sol in ctx.q(f"SELECT ?e ?quote ?f WHERE {{ ?e dkb:source <{iri}> ; dkb:quote ?quote . "
                     "OPTIONAL { ?f dkb:evidence ?e } } ORDER BY ?e ?f"):
        e = sol["e"].value
        out.setdefault(e, (sol["quote"].value, []))
        if sol["f"] is not None:
            out[e][1].append(sol["f"].value)
    return out


_WORD = re.compile(r"\S+")


def locate(text: str, quotes: dict[str, str]) -> dict[str, tuple[int, int]]:
    """evidence -> (start, end) offsets of its quote's first occurrence in the text, the
    quote and the text compared with whitespace runs as one space (as the compiler does)."""
    words = [(m.start(), m.end()) for m in _WORD.finditer(text)]
    norm_starts, pos = [], 0  # where each word starts in the normalised text
    for a, z in words:
        norm_starts.append(pos)
        pos += z - a + 1
    norm = " ".join(text[a:z] for a, z in words)

    def original(k: int) -> int:  # offset in the text of the normalised text's k-th character
        w = bisect.bisect_right(norm_starts, k) - 1
        return words[w][0] + (k - norm_starts[w])

    out = {}
    for ev, quote in quotes.items():
        q = " ".join(quote.split())
        k = norm.find(q) if q else -1
        if k >= 0:
            out[ev] = (original(k), original(k + len(q) - 1) + 1)
    return out


def _coverage(text: str, spans) -> float:
    """The share of the text's non-space characters inside a quote."""
    merged: list[list[int]] = []
    for a, z in sorted(spans.values()):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], z)
        else:
            merged.append([a, z])
    visible = len(text) - sum(1 for _ in re.finditer(r"\s", text))
    covered = sum(z - a - sum(1 for _ in re.finditer(r"\s", text[a:z])) for a, z in merged)
    return covered / visible if visible else 0.0


def _plain(segment: str) -> str:
    """Escaped text; markup remnants (**, #, tags) kept visible but set apart; line breaks kept."""
    out, last = [], 0
    for m in _MARKUP.finditer(segment):
        out.append(esc(segment[last:m.start()]))
        out.append(f"<span class=markup>{esc(m.group())}</span>")
        last = m.end()
    out.append(esc(segment[last:]))
    return re.sub(r"[ \t]*\n", "<br>", "".join(out))


def _laid_out(text: str, evidence) -> tuple[dict, float, str]:
    """(quote spans, share of the text covered, the text as HTML): made once per source."""
    spans = locate(text, {e: q for e, (q, _) in evidence.items()})
    article = ("<article class=doc aria-label='Archived text'>" + render_text(text, spans, numbers(evidence, spans))
               + "</article>")
    return spans, _coverage(text, spans), article


def numbers(evidence, spans) -> dict[str, int]:
    """evidence -> its number: quotes in the order they start in the text (unlocated last)."""
    order = sorted(evidence, key=lambda e: (spans.get(e, (10**12,))[0], -spans.get(e, (0, 0))[1], e))
    return {e: k for k, e in enumerate(order, 1)}


def render_text(text: str, spans: dict[str, tuple[int, int]], number: dict[str, int]) -> str:
    """The text in blocks (headings, paragraphs). Each quote starts with its number, a link
    to the facts it supports (and the `#q-` anchor facts link to); highlighted text links to
    the facts of the shortest quote covering it."""
    blocks = []
    last = 0
    for m in _BLANK.finditer(text):
        blocks.append((last, m.start()))
        last = m.end()
    blocks.append((last, len(text)))
    starts: dict[int, list[str]] = {}
    for ev, (s, _) in spans.items():
        starts.setdefault(s, []).append(ev)
    cuts = sorted({c for s, e in spans.values() for c in (s, e)})
    out = []
    for b0, b1 in blocks:
        raw = text[b0:b1]
        b0 += len(raw) - len(raw.lstrip())
        b1 -= len(raw) - len(raw.rstrip())
        if b1 <= b0:
            continue
        points = sorted({b0, b1, *(c for c in cuts if b0 < c < b1), *(s for s in starts if b0 <= s < b1)})
        parts = []
        for a, z in zip(points, points[1:]):
            ids = "".join(f"<a class=qn id='{esc(anchor(ev))}' href='#{esc(fact_anchor(ev))}' "
                          f"aria-label='quote {number[ev]}: the facts it supports'>{number[ev]}</a>"
                          for ev in sorted(starts.get(a, ()), key=lambda e: number[e]))
            cover = sorted((e - s, ev) for ev, (s, e) in spans.items() if s <= a and z <= e)
            seg = _plain(text[a:z])
            if cover:
                cls = "q q2" if len(cover) > 1 else "q"
                parts.append(f"{ids}<a class='{cls}' href='#{esc(fact_anchor(cover[0][1]))}'><mark>{seg}</mark></a>")
            else:
                parts.append(ids + seg)
        inner = "".join(parts)
        block = text[b0:b1]
        tag = "h3" if len(block) < 200 and is_heading(block) else "p"
        out.append(f"<{tag}>{inner}</{tag}>")
    return "".join(out)


def _facts(ctx, evidence, spans) -> str:
    if not evidence:
        return "<h2>Facts from this source</h2><p>No fact cites this source.</p>"
    claims = {s["c"].value: s["d"].value for s in ctx.q(
        "SELECT ?c ?d WHERE { ?d dkb:claim ?c }")} if any(ctx.is_a(f, "Claim") for _, fs in evidence.values() for f in fs) else {}
    number = numbers(evidence, spans)
    order = sorted(evidence, key=lambda e: number[e])
    items = []
    for ev in order:
        quote, facts = evidence[ev]
        where = (f"<a href='#{esc(anchor(ev))}'>“{esc(' '.join(quote.split()))}”</a>" if ev in spans
                 else f"“{esc(' '.join(quote.split()))}” <span class=warn>(not located in the text)</span>")
        lis = []
        for f in facts:
            cls = ctx.main_class(f)
            kind = f" <span class=kind>{esc(ctx.class_label(cls))}</span>" if cls else ""
            if f in claims:
                lis.append(f"<li>{link(ctx, claims[f], 'Claim in: ' + ctx.label(claims[f]))}{kind}</li>")
            else:
                lis.append(f"<li>{link(ctx, f)}{kind}</li>")
        items.append(f"<li id='{esc(fact_anchor(ev))}'>{where}<ul>{''.join(lis)}</ul></li>")
    return (f"<h2>Facts from this source <span class=muted>({len(evidence)} quotes)</span></h2>"
            f"<ol class=facts>{''.join(items)}</ol>")
