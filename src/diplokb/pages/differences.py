"""Where sources differ: each claim with its source, wording and quote, side by side."""
from __future__ import annotations

from .facts import quotes_for, quotes_html
from .html import esc, link, page


def differences_page(ctx, params: dict | None = None) -> str:
    diffs: dict[str, dict] = {}
    for sol in ctx.q("SELECT ?d ?desc ?aspect ?about ?c ?says ?src WHERE { ?d a dkb:Difference . "
                     "OPTIONAL { ?d dcterms:description ?desc } OPTIONAL { ?d dkb:aspect ?aspect } "
                     "OPTIONAL { ?d dkb:concerns ?about } OPTIONAL { ?d dkb:claim ?c . "
                     "OPTIONAL { ?c dkb:says ?says } OPTIONAL { ?c dkb:source ?src } } } ORDER BY ?d ?src ?c"):
        d = diffs.setdefault(sol["d"].value, {"desc": sol["desc"] and sol["desc"].value, "aspect": sol["aspect"] and sol["aspect"].value,
                                              "about": set(), "claims": {}})
        if sol["about"]:
            d["about"].add(sol["about"].value)
        if sol["c"]:
            d["claims"].setdefault(sol["c"].value, (sol["says"] and sol["says"].value, sol["src"] and sol["src"].value))
    quotes = quotes_for(ctx, {c for d in diffs.values() for c in d["claims"]})
    out = [f"<p>{len(diffs)} point(s) on which the sources do not say the same thing. Both versions stay in the KB, "
           "each with its source and quote.</p>"]
    for iri, d in sorted(diffs.items(), key=lambda x: sorted(ctx.label(a) for a in x[1]["about"]) or [x[0]]):
        about = ", ".join(link(ctx, a) for a in sorted(d["about"], key=ctx.label))
        aspect = f" <span class=tag>{esc(ctx.label(d['aspect']))}</span>" if d["aspect"] else ""
        cards = []
        for c, (says, src) in sorted(d["claims"].items(), key=lambda x: (x[1][1] or "", x[0])):
            cards.append(f"<section aria-label='Claim of {esc(ctx.label(src) if src else 'a source')}'>"
                         f"<p><b>{link(ctx, src) if src else 'source not recorded'}</b></p>"
                         f"<p>Says: <b>{esc(says) if says else '<i>wording not recorded</i>'}</b></p>"
                         f"{quotes_html(ctx, quotes.get(c, []))}</section>")
        out.append(f"<h2 id='{esc(iri.rsplit('/', 1)[-1])}'>{about or link(ctx, iri)}{aspect}</h2>"
                   f"<p>{esc(d['desc'] or '')} <a href='{esc('/' + iri.split('/diplokb/', 1)[1])}' class=muted>(record)</a></p>"
                   f"<div class=claims>{''.join(cards)}</div>")
    return page(ctx, "Where the sources differ", "".join(out))

