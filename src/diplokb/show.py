"""`diplokb show`: find an entity by any name and describe it with its sources."""
from __future__ import annotations

import unicodedata

from .lexical import SLUG_RE
from .rdf import ID, curie

LABELS = ("http://www.w3.org/2000/01/rdf-schema#label", "http://www.w3.org/2004/02/skos/core#altLabel",
          "http://www.w3.org/2004/02/skos/core#prefLabel", "https://w3id.org/diplokb/ontology#abbreviation")


def fold(text: str) -> str:
    """Case-, accent- and spacing-insensitive form of a name."""
    decomposed = unicodedata.normalize("NFKD", text)
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).casefold().split())


def find_entities(store, name: str) -> list[str]:
    """IRIs whose id or any label equals `name` (folded); else those whose label contains it."""
    values = " ".join(f"<{p}>" for p in LABELS)
    rows = store.query(f"SELECT ?s ?l WHERE {{ VALUES ?p {{ {values} }} ?s ?p ?l . "
                       "FILTER NOT EXISTS { ?s a <https://w3id.org/diplokb/ontology#Evidence> } }")
    want = fold(name)
    exact, partial = set(), set()
    for sol in rows:
        s, label = sol["s"].value, fold(sol["l"].value)
        if label == want:
            exact.add(s)
        elif want and want in label:
            partial.add(s)
    slug = name.strip()
    if SLUG_RE.fullmatch(slug) and bool(store.query(f"ASK {{ <{ID}{slug}> ?p ?o }}")):
        exact.add(ID + slug)
    return sorted(exact or partial)


def label_of(store, iri: str) -> str:
    """The entity's label (its shortest prefixed name when it has none)."""
    for sol in store.query(f"SELECT ?l WHERE {{ <{iri}> rdfs:label|skos:prefLabel ?l }} ORDER BY ?l LIMIT 1"):
        return sol["l"].value
    return curie(iri) or iri


def _term(store, term) -> str:
    import pyoxigraph as ox

    if isinstance(term, ox.NamedNode):
        label = label_of(store, term.value)
        short = curie(term.value) or term.value
        return short if label == short else f"{label} [{short}]"
    return term.value


def describe(store, iri: str) -> str:
    out = [f"{label_of(store, iri)}  <{iri}>"]
    for sol in store.query(f"SELECT ?p ?o WHERE {{ <{iri}> ?p ?o }} ORDER BY ?p ?o"):
        p = curie(sol["p"].value) or sol["p"].value
        if p == "dkb:evidence":
            continue
        out.append(f"  {p}: {_term(store, sol['o'])}")
    out += _evidence(store, iri, "  ")
    incoming = list(store.query(
        f"SELECT DISTINCT ?s ?p WHERE {{ ?s ?p <{iri}> FILTER(?p != <https://w3id.org/diplokb/ontology#agent>) }} "
        "ORDER BY ?s ?p"))
    if incoming:
        out.append("  referenced by:")
    for sol in incoming:
        s = sol["s"].value
        out.append(f"    {_term(store, sol['s'])} --{curie(sol['p'].value) or sol['p'].value}-->")
        out += _evidence(store, s, "      ")
    return "\n".join(out) + "\n"


def _evidence(store, iri: str, indent: str) -> list[str]:
    lines = []
    q = (f"SELECT ?quote ?src WHERE {{ <{iri}> <https://w3id.org/diplokb/ontology#evidence> ?e . "
         "?e <https://w3id.org/diplokb/ontology#quote> ?quote ; <https://w3id.org/diplokb/ontology#source> ?src } "
         "ORDER BY ?src ?quote")
    for sol in store.query(q):
        quote = " ".join(sol["quote"].value.split())
        lines.append(f'{indent}“{quote}” — {curie(sol["src"].value) or sol["src"].value}')
    return lines
