"""RDF terms, and their N-Triples / Turtle spelling.

A term has a plain form: an IRI is a str, a literal a tuple (value, datatype, lang). The
compiler emits that form, the build and its cache keep it, the exporters and the SHACL engine
read it (a str is an IRI, anything else a literal). `IRI` and `Literal` are the same values
with names, for code that builds a few terms by hand; they equal and hash like their plain
form, so the two mix in sets and dicts, and every function here takes either. (Plain str keys
also make the build's many dict lookups faster than a str subclass would.) rdflib and
pyoxigraph are only used where their work is needed (SHACL validation, SPARQL), never to hold
the KB itself.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

DKB = "https://w3id.org/diplokb/ontology#"
ID = "https://w3id.org/diplokb/id/"
VOCAB = "https://w3id.org/diplokb/vocab/"
GRAPH = ID + "graph/"
XSD = "http://www.w3.org/2001/XMLSchema#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"

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


class IRI(str):
    """An IRI; a str so that it sorts and hashes as fast as one."""

    __slots__ = ()


class Literal(NamedTuple):
    value: str
    datatype: str | None = None  # None: xsd:string
    lang: str | None = None


class Quad(NamedTuple):
    s: IRI
    p: IRI
    o: IRI | Literal
    g: IRI


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}
_NEEDS = re.compile(r'[\\"\x00-\x1f\x7f]').search  # a character that escape() changes


def escape(text: str) -> str:
    """N-Triples / Turtle string escaping (canonical: UTF-8 kept, controls as \\uXXXX)."""
    if not _NEEDS(text):
        return text
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ch == "\x7f":
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return "".join(out)


def nt(term) -> str:
    """The N-Triples spelling of a term (either form)."""
    if isinstance(term, str):
        return f"<{term}>"
    value, datatype, lang = term
    if lang:
        return f'"{escape(value)}"@{lang}'
    if datatype:
        return f'"{escape(value)}"^^<{datatype}>'
    return f'"{escape(value)}"'


def sort_key(term) -> tuple:
    """Total order over terms: IRIs first, then literals by value, datatype, language."""
    if isinstance(term, str):
        return (0, term, "", "")
    value, datatype, lang = term
    return (1, value, datatype or "", lang or "")


def date_literal(text: str) -> Literal:
    """'2024' -> xsd:gYear, '2024-12' -> xsd:gYearMonth, '2024-12-02' -> xsd:date."""
    datatype = {4: "gYear", 7: "gYearMonth", 10: "date"}[len(text)]
    return Literal(text, XSD + datatype)


_PN_LOCAL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_-])?")


@lru_cache(maxsize=1 << 20)
def curie(iri: str) -> str | None:
    """'dkb:Event' for a DKB IRI, or None when no prefix gives a valid local name.
    (Cached: exports ask for the same IRIs many times.)"""
    for prefix, ns in PREFIXES.items():
        if iri.startswith(ns):
            local = iri[len(ns):]
            if _PN_LOCAL.fullmatch(local):
                return f"{prefix}:{local}"
    return None
