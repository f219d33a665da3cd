"""Vocabularies (SKOS schemes and their concepts) and the ontology, with domains and ranges."""
from __future__ import annotations

from .html import DKB, esc, link, local, page, path_of, short, table


def vocab_index(ctx, params: dict | None = None) -> str:
    rows = []
    for sol in ctx.q("SELECT ?s (COUNT(?c) AS ?n) WHERE { ?s a skos:ConceptScheme . OPTIONAL { ?c skos:inScheme ?s } } "
                     "GROUP BY ?s ORDER BY ?s"):
        rows.append([link(ctx, sol["s"].value), esc(sol["n"].value)])
    return page(ctx, "Vocabularies", "<p>The controlled kinds used in the KB (SKOS concept schemes); kinds of events "
                "and statements carry their CAMEO code where one fits.</p>" + table(["scheme", "concepts"], rows))


def scheme_page(ctx, iri: str) -> str:
    uses = {s["c"].value: int(s["n"].value) for s in ctx.q(
        f"SELECT ?c (COUNT(?x) AS ?n) WHERE {{ ?c skos:inScheme <{iri}> . ?x ?p ?c . FILTER (?p NOT IN (skos:inScheme, skos:topConceptOf, skos:broader)) }} GROUP BY ?c")}
    rows = []
    for sol in ctx.q(f"SELECT ?c ?d ?code WHERE {{ ?c skos:inScheme <{iri}> OPTIONAL {{ ?c skos:definition ?d }} "
                     "OPTIONAL { ?c dkb:cameoCode ?code } } ORDER BY ?c"):
        c = sol["c"].value
        rows.append((ctx.label(c).casefold(), [link(ctx, c), esc(sol["d"].value) if sol["d"] else "",
                                               esc(sol["code"].value) if sol["code"] else "", str(uses.get(c, 0))]))
    desc = next((s["d"].value for s in ctx.q(f"SELECT ?d WHERE {{ <{iri}> dcterms:description ?d }}")), "")
    body = (f"<p>{esc(desc)}</p><p class=muted><a href='{esc(path_of(iri))}?format=ttl'>Turtle</a></p>"
            + table(["concept", "definition", "CAMEO code", "used by"], [r for _, r in sorted(rows)]))
    return page(ctx, ctx.label(iri), body)


def ontology_page(ctx, params: dict | None = None) -> str:
    classes = list(ctx.q("SELECT ?c ?l ?d WHERE { ?c a owl:Class ; rdfs:label ?l . OPTIONAL { ?c rdfs:comment ?d } "
                         f"FILTER STRSTARTS(STR(?c), '{DKB}') }} ORDER BY ?c"))
    supers: dict[str, list[str]] = {}
    for sol in ctx.q("SELECT ?c ?p WHERE { ?c rdfs:subClassOf ?p FILTER isIRI(?p) } ORDER BY ?p"):
        supers.setdefault(sol["c"].value, []).append(sol["p"].value)
    props = list(ctx.q("SELECT ?p ?k ?l ?d (GROUP_CONCAT(DISTINCT STR(?dom); separator=' ') AS ?doms) "
                       "(GROUP_CONCAT(DISTINCT STR(?rng); separator=' ') AS ?rngs) WHERE { "
                       "VALUES ?k { owl:ObjectProperty owl:DatatypeProperty } ?p a ?k ; rdfs:label ?l . "
                       "OPTIONAL { ?p rdfs:comment ?d } OPTIONAL { ?p rdfs:domain ?dom FILTER isIRI(?dom) } "
                       "OPTIONAL { ?p rdfs:range ?rng FILTER isIRI(?rng) } "
                       f"FILTER STRSTARTS(STR(?p), '{DKB}') }} GROUP BY ?p ?k ?l ?d ORDER BY ?p"))
    split = lambda term: term.value.split() if term is not None else []  # noqa: E731
    by_domain: dict[str, list[str]] = {}
    for sol in props:
        for d in split(sol["doms"]):
            by_domain.setdefault(d, []).append(sol["p"].value)

    def term(iri: str) -> str:
        if iri.startswith(DKB):
            return f"<a href='#{esc(local(iri))}'>{esc(short(iri))}</a>"
        return esc(short(iri))

    out = ["<p>The diplokb ontology (OWL): its classes, and each property with its domain (what it describes) and "
           "range (what its values are). <a href='/ontology?format=ttl'>Turtle</a> · "
           "<a href='/ontology?format=jsonld'>JSON-LD</a> · <a href='/vocab/'>vocabularies</a></p>",
           "<h2>Classes</h2>"]
    rows = []
    for sol in classes:
        c = sol["c"].value
        rows.append([f"<span id='{esc(local(c))}'>{esc(short(c))}</span><br>{esc(sol['l'].value)}",
                     esc(sol["d"].value) if sol["d"] else "", ", ".join(term(p) for p in supers.get(c, [])),
                     ", ".join(term(p) for p in by_domain.get(c, []))])
    out.append(table(["class", "meaning", "subclass of", "properties it has"], rows))
    rows = []
    for sol in props:
        p = sol["p"].value
        rows.append([f"<span id='{esc(local(p))}'>{esc(short(p))}</span><br>{esc(sol['l'].value)}",
                     "link" if sol["k"].value.endswith("ObjectProperty") else "value",
                     ", ".join(term(d) for d in split(sol["doms"])) or "<span class=muted>any</span>",
                     ", ".join(term(r) for r in split(sol["rngs"])) or "<span class=muted>any</span>",
                     esc(sol["d"].value) if sol["d"] else ""])
    out.append("<h2>Properties</h2>" + table(["property", "kind", "domain", "range", "meaning"], rows))
    return page(ctx, "The diplokb ontology", "".join(out))
