"""The home page: what the KB holds, where to start reading, the questions and downloads."""
from __future__ import annotations

from .html import editor_form, esc, fmt_when, link, page
from .questions import questions_list
from .timeline import ordered, timeline_svg

HOME_TIMELINE_ROWS = 80  # a larger KB's timeline is only linked from the home page


def home_page(ctx, params: dict | None = None) -> str:
    counts: dict[str, int] = {}
    for s in ctx.types:
        c = ctx.main_class(s)
        if c and c.startswith("https://w3id.org/diplokb/ontology#"):
            counts[c] = counts.get(c, 0) + 1
    figures = "".join(f"<li>{esc(ctx.class_label(c).capitalize())}: <b>{n}</b></li>"
                      for c, n in sorted(counts.items(), key=lambda x: -x[1]))
    sources = []
    for sol in ctx.q("SELECT ?s ?t ?d ?a ?b ?pub WHERE { ?s a dkb:SourceDocument OPTIONAL { ?s dcterms:title ?t } "
                     "OPTIONAL { ?s dkb:date ?d } OPTIONAL { ?s dkb:startDate ?a } OPTIONAL { ?s dkb:endDate ?b } "
                     "OPTIONAL { ?s dcterms:publisher ?pub } } ORDER BY ?s"):
        v = lambda n: sol[n].value if sol[n] is not None else None  # noqa: E731
        title = link(ctx, v("s"), v("t")) if v("t") else link(ctx, v("s"), "Untitled") + " <span class=muted>(no title printed)</span>"
        sources.append(f"<li>{title} <span class=muted>· {fmt_when(v('d'), v('a'), v('b'))}"
                       f"{' · ' + esc(ctx.label(v('pub'))) if v('pub') else ''}</span></li>")
    downloads = "".join(f"<li><a href='/exports/{esc(n)}'>{esc(n)}</a></li>" for n in ctx.downloads)
    search = ("<p><a href='/search/'>Find a name</a></p>" if ctx.static else
              "<form method=get action='/search' role=search><label>Find a person, organization, place or thing "
              "<input type=search name=q placeholder='e.g. Prak Sokhonn'></label> <button type=submit>Search</button></form>")
    browse = ("<ul><li><a href='/id/'>Index of every entity by class</a></li>"
              "<li><a href='/timeline'>Timeline of events</a></li><li><a href='/network'>Who met whom</a></li>"
              "<li><a href='/differences'>Where the sources differ</a></li>"
              "<li><a href='/vocab/'>Vocabularies</a> (kinds of events and statements, CAMEO codes)</li>"
              "<li><a href='/ontology'>The ontology</a> (classes, properties, domains and ranges)</li>"
              + ("" if ctx.static else "<li><a href='/sparql'>SPARQL query editor</a></li>") + "</ul>")
    body = ("<p>A hand-curated, citable knowledge graph of diplomatic relations: every fact traces to a verbatim "
            "quote in an archived source document, and each source can be read with its quotes highlighted.</p>"
            f"{search}<h2>Sources</h2><ul>{''.join(sources)}</ul><h2>Browse</h2>{browse}"
            f"<h2>Timeline</h2>{timeline_svg(ctx) if len(ordered(ctx)[0]) <= HOME_TIMELINE_ROWS else ''}"
            "<p><a href='/timeline'>The timeline with its table and undated events</a></p>"
            f"<h2>Questions</h2>{questions_list(ctx)}{'' if ctx.static else editor_form(DEFAULT_QUERY)}<h2>In the KB</h2><ul class=cols>{figures}</ul>"
            f"<h2>Downloads</h2><ul>{downloads}</ul>")
    return page(ctx, "diplokb", body)


DEFAULT_QUERY = """SELECT ?person ?name WHERE {
  ?person a dkb:Person ; rdfs:label ?name .
} ORDER BY ?name"""
