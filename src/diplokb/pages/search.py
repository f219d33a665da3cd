"""Search by any name variant (accent- and case-insensitive, with "did you mean"), and the
index of every entity by class."""
from __future__ import annotations

import difflib

from ..show import LABELS, fold
from .html import SCHEMA, esc, link, page

NAME_PROPS = (*LABELS, SCHEMA + "givenName", SCHEMA + "familyName")


def names(ctx) -> list[tuple[str, str, str]]:
    """(folded name, name, entity) for every name of every entity, sorted."""
    def make():
        vals = " ".join(f"<{p}>" for p in NAME_PROPS)
        out = set()
        for sol in ctx.q(f"SELECT ?s ?l WHERE {{ VALUES ?p {{ {vals} }} ?s ?p ?l }}"):
            s = sol["s"].value
            if ctx.is_entity(s) or "http://www.w3.org/2004/02/skos/core#Concept" in ctx.types.get(s, ()):
                out.add((fold(sol["l"].value), sol["l"].value, s))
        return sorted(out)
    return ctx._cached("names", make)


def search(ctx, q: str) -> tuple[list[tuple[str, list[str]]], list[str]]:
    """([(entity, names that matched)], did-you-mean suggestions). Exact name matches come
    first, then names that contain the query, then ids."""
    want = fold(q)
    if not want:
        return [], []
    exact: dict[str, list[str]] = {}
    partial: dict[str, list[str]] = {}
    for folded, name, s in names(ctx):
        if folded == want:
            exact.setdefault(s, []).append(name)
        elif want in folded:
            partial.setdefault(s, []).append(name)
    slug = q.strip().lower()
    for s in ctx.types:
        if s.endswith("/" + slug) and ctx.is_entity(s) and s not in exact:
            exact.setdefault(s, []).append(slug)
    hits = sorted(exact.items(), key=lambda x: _rank(ctx, x[0])) + sorted(
        ((s, n) for s, n in partial.items() if s not in exact), key=lambda x: _rank(ctx, x[0]))
    suggestions: list[str] = []
    if not hits:
        pool, words = _near(ctx, want)
        close = difflib.get_close_matches(want, pool, n=5, cutoff=0.6)
        close += [w for w in difflib.get_close_matches(want, words, n=5, cutoff=0.75) if w not in close]
        shown = {f: n for f, n, _ in reversed(names(ctx))}
        suggestions = [shown.get(c, c) for c in close][:6]
    return hits, suggestions


_ORDER = ("Person", "Organization", "Country", "Place", "Side", "Post", "NamedThing", "Event", "SourceDocument")


def _rank(ctx, s: str) -> tuple:
    """People first, then organizations, places, posts, things, events, sources; then by name."""
    rank = next((k for k, c in enumerate(_ORDER) if ctx.instance_of(s, c)), len(_ORDER))
    return (rank, ctx.label(s).casefold(), s)


def _grams(text: str) -> set[str]:
    padded = f"  {text} "
    return {padded[i:i + 3] for i in range(len(padded) - 2)}


def _near(ctx, want: str, keep: int = 300) -> tuple[list[str], list[str]]:
    """The names and the words of names that share the most three-letter pieces with `want`
    (so that "did you mean" compares a few hundred candidates, not every name)."""
    def make():
        index: dict[str, set[str]] = {}
        for f in {f for f, _, _ in names(ctx)} | {w for f, _, _ in names(ctx) for w in f.split()}:
            for g in _grams(f):
                index.setdefault(g, set()).add(f)
        return index
    index = ctx._cached("grams", make)
    score: dict[str, int] = {}
    for g in _grams(want):
        for f in index.get(g, ()):
            score[f] = score.get(f, 0) + 1
    best = sorted(score, key=lambda f: (-score[f], f))[:keep]
    return [f for f in best if " " in f or f in ctx._cached("folded", lambda: {f for f, _, _ in names(ctx)})], \
        [f for f in best if " " not in f]


def search_page(ctx, params: dict) -> str:
    q = params.get("q", [""])[0]
    form = "" if ctx.static else ("<form method=get action='/search' role=search><label>Name <input type=search name=q "
            f"value='{esc(q)}'></label> <button type=submit>Search</button></form>")
    if not q.strip():
        if ctx.static:
            return page(ctx, "Names", "<p>Every name variant of every entity, with or without honorifics, "
                        "by first letter (accents ignored).</p>" + _letters(ctx))
        return page(ctx, "Search", form + "<p>Type any name variant: with or without accents, honorifics "
                    "or capitals (“prak sokhonn”, “Samdech Techo”, “CPP”).</p>" + _letters(ctx))
    hits, suggestions = search(ctx, q)
    if hits:
        items = "".join(f"<li>{link(ctx, s)} <span class=kind>{esc(ctx.class_label(ctx.main_class(s) or ''))}</span>"
                        + (f" <span class=muted>matched: {esc('; '.join(sorted(set(n))))}</span>" if n != [ctx.label(s)] else "")
                        + "</li>" for s, n in hits)
        body = f"<p>{len(hits)} match(es) for “{esc(q)}”.</p><ul>{items}</ul>"
    else:
        body = f"<p>No name matches “{esc(q)}”.</p>"
        if suggestions:
            body += "<p>Did you mean: " + ", ".join(
                f"<a href='/search?q={esc(_quote(s))}'>{esc(s)}</a>" for s in suggestions) + "?</p>"
    return page(ctx, f"Search: {q}", form + body)


def _quote(text: str) -> str:
    import urllib.parse
    return urllib.parse.quote(text)


def letter_of(folded: str) -> str:
    c = folded[:1]
    return c if c.isalpha() and c.isascii() else "other"


def _letters(ctx) -> str:
    letters = sorted({letter_of(f) for f, _, _ in names(ctx)})
    return ("<h2>Names by first letter</h2><p>" + " ".join(
        f"<a href='/search/{esc(c)}'>{esc(c.upper() if c != 'other' else 'other')}</a>" for c in letters) + "</p>")


def letter_page(ctx, letter: str) -> str:
    """Every name starting with a letter (the static site's search, no script needed)."""
    rows = [(n, s) for f, n, s in names(ctx) if letter_of(f) == letter]
    items = "".join(f"<li>{link(ctx, s, n)}" + (f" <span class=muted>→ {esc(ctx.label(s))}</span>" if n != ctx.label(s) else "")
                    + "</li>" for n, s in rows)
    return page(ctx, f"Names: {letter.upper()}", _letters(ctx) + f"<ul class=cols>{items}</ul>")


def index_page(ctx, params: dict | None = None) -> str:
    """Every entity, by class; facts (statements, attestations, figures) are counted."""
    groups: dict[str, list[str]] = {}
    facts: dict[str, int] = {}
    for s in ctx.types:
        cls = ctx.main_class(s)
        if cls is None or not s.startswith("https://w3id.org/diplokb/id/"):
            continue
        if ctx.is_entity(s):
            groups.setdefault(cls, []).append(s)
        else:
            facts[cls] = facts.get(cls, 0) + 1
    toc = " · ".join(f"<a href='#{esc(c.rsplit('#', 1)[-1])}'>{esc(ctx.class_label(c))}</a> ({len(v)})"
                     for c, v in sorted(groups.items(), key=lambda x: ctx.class_label(x[0])))
    out = [f"<p>{toc}</p>"]
    for c, members in sorted(groups.items(), key=lambda x: ctx.class_label(x[0])):
        items = "".join(f"<li>{link(ctx, s)}</li>" for s in sorted(members, key=lambda s: ctx.label(s).casefold()))
        out.append(f"<h2 id='{esc(c.rsplit('#', 1)[-1])}'>{esc(ctx.class_label(c))} <span class=muted>({len(members)})</span></h2>"
                   f"<ul class=cols>{items}</ul>")
    if facts:
        out.append("<h2>Facts</h2><p class=muted>Shown on the pages of the entities and sources they concern.</p><ul>"
                   + "".join(f"<li>{esc(ctx.class_label(c))}: {n}</li>" for c, n in sorted(facts.items())) + "</ul>")
    return page(ctx, "Index of entities", "".join(out))
