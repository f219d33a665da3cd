"""Round trips through diplokb's writers: write terms in each format, read the text back with
independent parsers (rdflib, pyoxigraph and, for JSON-LD, pyld), and compare the graphs read
with the graph meant, up to blank node names (pyoxigraph's canonical form of a dataset)."""
from __future__ import annotations

import json

import pyoxigraph as ox
import rdflib

from diplokb import export
from diplokb.rdf import BNODE

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
GRAPH = "https://example.org/the-graph"  # the triple writers' graphs go into TriG under this name
OBJECT_PROPERTIES = {"host", "party", "label"}  # 'label' (rdfs:label in the context) redefined


# ---- terms: diplokb's plain form <-> pyoxigraph and rdflib --------------------------------

def from_ox(t):
    if isinstance(t, ox.NamedNode):
        return t.value
    if isinstance(t, ox.BlankNode):
        return BNODE + t.value
    if isinstance(t, ox.DefaultGraph):
        return None
    dt = t.datatype.value
    return (t.value, None if dt in (XSD_STRING, RDF_LANGSTRING) else dt, t.language)


def to_ox(t):
    if t is None:
        return ox.DefaultGraph()
    if isinstance(t, str):
        if t.startswith(BNODE):  # any label: the hex of its UTF-8 (only the identity matters)
            return ox.BlankNode("b" + t[len(BNODE):].encode("utf-8").hex())
        return ox.NamedNode(t)
    value, datatype, lang = t
    if lang:
        return ox.Literal(value, language=lang.lower())  # language tags are case-insensitive
    return ox.Literal(value, datatype=ox.NamedNode(datatype) if datatype else None)


def from_rdflib(t):
    if isinstance(t, rdflib.BNode):
        return BNODE + str(t)
    if isinstance(t, rdflib.URIRef):
        return str(t)
    if isinstance(t, rdflib.Literal):
        dt = str(t.datatype) if t.datatype is not None else None
        return (str(t), None if dt in (XSD_STRING, RDF_LANGSTRING) else dt, t.language)
    raise TypeError(t)


def rdflib_normal(t):
    """The term as rdflib reads it: rdflib rewrites the lexical form of well-formed literals to
    the canonical one ('05' and '+5'^^xsd:integer are both read as '5'), so what rdflib reads
    back is compared with this. (pyoxigraph and pyld keep every lexical form: they check that.)"""
    if isinstance(t, tuple):
        value, datatype, lang = t
        return from_rdflib(rdflib.Literal(value, lang=lang, datatype=None if lang else datatype))
    return t


def canonical(quads) -> set:
    """The canonical form of a dataset of plain-form quads (s, p, o, g)."""
    ds = ox.Dataset([ox.Quad(to_ox(s), to_ox(p), to_ox(o), to_ox(g)) for s, p, o, g in quads])
    ds.canonicalize(ox.CanonicalizationAlgorithm.UNSTABLE)
    return {str(q) for q in ds}


# ---- reading back ---------------------------------------------------------------------------

_OX_FORMATS = {"nt": ox.RdfFormat.N_TRIPLES, "ttl": ox.RdfFormat.TURTLE, "trig": ox.RdfFormat.TRIG,
               "jsonld": ox.RdfFormat.JSON_LD, "nq": ox.RdfFormat.N_QUADS}
_RDFLIB_FORMATS = {"nt": "nt", "ttl": "turtle", "trig": "trig", "jsonld": "json-ld", "nq": "nquads"}


def read_ox(fmt: str, text: str, base: str | None = None) -> list:
    return [tuple(from_ox(x) for x in (q.subject, q.predicate, q.object, q.graph_name))
            for q in ox.parse(text, format=_OX_FORMATS[fmt], base_iri=base)]


def read_rdflib(fmt: str, text: str, base: str | None = None) -> list:
    ds = rdflib.Dataset()
    ds.parse(data=text, format=_RDFLIB_FORMATS[fmt], publicID=base)
    out = []
    for s, p, o, g in ds.quads((None, None, None, None)):
        name = None if g is None or g == rdflib.graph.DATASET_DEFAULT_GRAPH_ID else from_rdflib(g)
        out.append((from_rdflib(s), from_rdflib(p), from_rdflib(o), name))
    return out


def _pyld_term(t):
    if t["type"] == "blank node":
        return BNODE + t["value"][2:]
    if t["type"] == "IRI":
        return t["value"]
    dt = t.get("datatype")
    return (t["value"], None if dt in (None, XSD_STRING, RDF_LANGSTRING) else dt, t.get("language"))


def _pyld_quads(dataset: dict) -> list:
    return [(_pyld_term(q["subject"]), _pyld_term(q["predicate"]), _pyld_term(q["object"]),
             None if g == "@default" else (BNODE + g[2:] if g.startswith("_:") else g))
            for g, triples in dataset.items() for q in triples]


def read_pyld(fmt: str, text: str, base: str | None = None) -> list:
    from pyld import jsonld

    return _pyld_quads(jsonld.to_rdf(json.loads(text)))


READERS = {"rdflib": read_rdflib, "pyoxigraph": read_ox}


def pyld_normal(quads) -> list:
    """The quads as pyld reads them: pyld rewrites the lexical form of xsd:double strings
    ('1E0' is read as '1.0E0'), so what it reads back is compared with the quads taken through
    pyld's own RDF -> JSON-LD -> RDF (which involves no diplokb writer)."""
    from pyld import jsonld

    def term(t):
        if isinstance(t, str):
            return ({"type": "blank node", "value": t} if t.startswith(BNODE) else {"type": "IRI", "value": t})
        value, datatype, lang = t
        if lang:
            return {"type": "literal", "value": value, "datatype": RDF_LANGSTRING, "language": lang}
        return {"type": "literal", "value": value, "datatype": datatype or XSD_STRING}

    dataset: dict = {}
    for s, p, o, g in quads:
        dataset.setdefault("@default" if g is None else g, []).append(
            {"subject": term(s), "predicate": term(p), "object": term(o)})
    return _pyld_quads(jsonld.to_rdf(jsonld.from_rdf(dataset)))


# ---- writing --------------------------------------------------------------------------------

def write(fmt: str, triples) -> str:
    """One of the writers on triples (TriG: all in the graph GRAPH)."""
    if fmt == "nt":
        return export.to_ntriples(triples)
    if fmt == "ttl":
        return export.to_turtle(triples)
    if fmt == "trig":
        return export.to_trig([(s, p, o, GRAPH) for s, p, o in triples])
    return export.to_jsonld(triples, OBJECT_PROPERTIES)


TRIPLE_FORMATS = ("nt", "ttl", "trig", "jsonld")


def round_trip_problems(triples, expected: dict | None = None) -> list[str]:
    """What is wrong with the triples written in each format and read by each parser: [] when
    every parser reads back the graph meant. `expected`: reader name -> canonical graph (by
    default the triples' own)."""
    triples = list(triples)
    if expected is None:
        mine = [(s, p, o, None) for s, p, o in triples]
        expected = {"pyoxigraph": canonical(mine), "pyld": canonical(pyld_normal(mine)),
                    "rdflib": canonical([(s, p, rdflib_normal(o), None) for s, p, o in triples])}
    problems = []
    for fmt in TRIPLE_FORMATS:
        text = write(fmt, triples)
        readers = dict(READERS, pyld=read_pyld) if fmt == "jsonld" else READERS
        for name, read in readers.items():
            try:
                quads = read(fmt, text)
            except Exception as exc:  # noqa: BLE001 (reported as a problem, with the text)
                problems.append(f"{fmt} read by {name}: {type(exc).__name__}: {exc}\n{text}")
                continue
            if fmt == "trig":
                stray = [q for q in quads if q[3] != GRAPH]
                quads = [q for q in quads if q[3] == GRAPH]
                if stray:
                    problems.append(f"trig read by {name}: triples outside the graph: {stray[:3]}")
            got = canonical([(s, p, o, None) for s, p, o, _ in quads])
            want = expected[name]
            if got != want:
                problems.append(f"{fmt} read by {name}: missing {sorted(want - got)[:3]}, "
                                f"extra {sorted(got - want)[:3]}\n{text}")
    return problems


def dataset_problems(quads, expected: dict) -> list[str]:
    """What is wrong with quads (g None: the default graph) written as TriG and read back by
    each parser, against `expected`: reader name -> canonical dataset."""
    text = export.to_trig(quads)
    problems = []
    for name, read in READERS.items():
        try:
            got = canonical(read("trig", text))
        except Exception as exc:  # noqa: BLE001 (reported as a problem, with the text)
            problems.append(f"trig read by {name}: {type(exc).__name__}: {exc}\n{text}")
            continue
        if got != expected[name]:
            problems.append(f"trig read by {name}: missing {sorted(expected[name] - got)[:3]}, "
                            f"extra {sorted(got - expected[name])[:3]}\n{text}")
    return problems
