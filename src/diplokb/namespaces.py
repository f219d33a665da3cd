"""The KB's namespaces and prefixes, and `curie`: what `diplokb query` needs of rdf.py.

Kept apart from rdf.py, which imports them from here, because they need no regular
expressions: importing `re` (with enum) costs `diplokb query`'s start-up ~5 ms, and rdf.py
compiles its patterns when imported (docs/cli-startup.md).
"""
from __future__ import annotations

DKB = "https://w3id.org/diplokb/ontology#"
ID = "https://w3id.org/diplokb/id/"
VOCAB = "https://w3id.org/diplokb/vocab/"
GRAPH = ID + "graph/"
XSD = "http://www.w3.org/2001/XMLSchema#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
BNODE = "_:"  # how a blank node's plain form starts

# Prefixes used by every export, in this order.
PREFIXES = {
    "dkb": DKB,
    "id": ID,
    "vocab": VOCAB,
    "dcterms": "http://purl.org/dc/terms/",
    "org": "http://www.w3.org/ns/org#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "prov": "http://www.w3.org/ns/prov#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "schema": "https://schema.org/",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "time": "http://www.w3.org/2006/time#",
    "xsd": XSD,
}

# PN_LOCAL as the exports write it: [A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_-])?
_LOCAL_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")


def curie(iri: str) -> str | None:
    """'dkb:Event' for a DKB IRI, or None when no prefix gives a valid local name. (rdf.curie
    is this, cached, for the exports, which ask for the same IRIs many times; a table of
    results asks for a few, and `functools` would cost `diplokb query` more.)"""
    for prefix, ns in PREFIXES.items():
        if iri.startswith(ns):
            local = iri[len(ns):]
            if local and local[0] not in ".-" and local[-1] != "." and _LOCAL_CHARS.issuperset(local):
                return f"{prefix}:{local}"
    return None
