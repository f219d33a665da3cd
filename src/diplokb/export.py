"""Deterministic writers: N-Triples, Turtle, TriG, JSON-LD, VoID/DCAT (files.py writes them).

The writers are ours, not rdflib's: they sort subjects, predicates and objects, so the same
KB always gives byte-identical files (and they are much faster than rdflib's serializers).
"""
from __future__ import annotations

import enum
import json
from collections import defaultdict

from .rdf import DKB, ID, PREFIXES, RDF_TYPE, XSD, IRI, Literal, curie, escape, nt, sort_key


class ExportFormat(enum.Enum):
    """A serialization: (file extension, media type)."""

    TURTLE = ("ttl", "text/turtle")
    NTRIPLES = ("nt", "application/n-triples")
    JSONLD = ("jsonld", "application/ld+json")
    TRIG = ("trig", "application/trig")

    @property
    def extension(self) -> str:
        return self.value[0]

    @property
    def media_type(self) -> str:
        return self.value[1]


# ---- N-Triples / Turtle / TriG ----------------------------------------------------------

def to_ntriples(triples) -> str:
    return "".join(sorted(f"<{s}> <{p}> {nt(o)} .\n" for s, p, o in triples))


_TERMS: dict = {}  # term -> its Turtle spelling; terms recur (entities, vocabularies)


def _term(t) -> str:
    found = _TERMS.get(t)
    if found is None:
        found = _spell(t)
        if len(_TERMS) < 1 << 20:  # bounded: a long-lived process builds many KBs
            _TERMS[t] = found
    return found


def _spell(t) -> str:
    if isinstance(t, str):
        return curie(t) or f"<{t}>"
    value, datatype, lang = t
    if lang:
        return f'"{escape(value)}"@{lang}'
    if datatype is None:
        return f'"{escape(value)}"'
    if datatype == XSD + "integer" and value.lstrip("-").isdigit():
        return value
    return f'"{escape(value)}"^^{curie(datatype) or f"<{datatype}>"}'


def _prefix_block(prefixes: dict) -> str:
    return "".join(f"@prefix {p}: <{ns}> .\n" for p, ns in prefixes.items())


def by_subject(triples) -> dict:
    """The grouped form of triples: subject -> predicate -> set of objects. A build groups each
    subject's triples once (incremental.Build.grouped); the writers and the SHACL engine read
    that form, so nothing groups them again."""
    out: dict = defaultdict(lambda: defaultdict(set))
    for s, p, o in triples:
        out[s][p].add(o)
    return out


def triples_of(graph: dict):
    """The triples of a graph in the grouped form (by_subject)."""
    for s, preds in graph.items():
        for p, objs in preds.items():
            for o in objs:
                yield s, p, o


def _type_first(p) -> tuple:
    return (p != RDF_TYPE, p)


def ordered(preds: dict) -> list:
    """(predicate, sorted objects), rdf:type first: the order of every writer."""
    return [(p, sorted(objs, key=sort_key) if len(objs) > 1 else list(objs))
            for p, objs in sorted(preds.items(), key=lambda item: _type_first(item[0]))]


def turtle_block(s, preds: dict, in_order: list | None = None) -> str:
    """One subject's Turtle block, e.g. 'id:x a dkb:Event ;\n    rdfs:label "X" .\n'.
    `in_order`: ordered(preds), where the caller has it already."""
    term = _term
    lines = [f"{'a' if p == RDF_TYPE else term(p)} "
             + (term(objs[0]) if len(objs) == 1 else ", ".join([term(o) for o in objs]))
             for p, objs in (in_order or ordered(preds))]
    return f"{_term(s)} " + " ;\n    ".join(lines) + " .\n"


def turtle_document(blocks: list, prefixes: dict = PREFIXES) -> str:
    """A Turtle file from its subjects' blocks (turtle_block), given in subject order."""
    return _prefix_block(prefixes) + "\n" + "\n".join(blocks)


def to_turtle(triples, prefixes: dict = PREFIXES) -> str:
    return turtle_document([turtle_block(s, preds) for s, preds in sorted(by_subject(triples).items())], prefixes)


def trig_document(graphs: dict, prefixes: dict = PREFIXES) -> str:
    """A TriG file from graph -> subject -> Turtle block of the subject's triples in it."""
    parts = [_prefix_block(prefixes)]
    for g in sorted(graphs):
        blocks = graphs[g]
        # each block indented by four spaces, a blank line (not indented) between two blocks
        body = "\n\n    ".join([blocks[s][:-1].replace("\n", "\n    ") for s in sorted(blocks)])
        parts.append(f"\n{_term(IRI(g))} {{\n    " + body + "\n}\n")
    return "".join(parts)


def to_trig(quads, prefixes: dict = PREFIXES) -> str:
    graphs: dict = defaultdict(list)
    for q in quads:
        graphs[q.g].append((q.s, q.p, q.o))
    return trig_document({g: {s: turtle_block(s, preds) for s, preds in by_subject(triples).items()}
                          for g, triples in graphs.items()}, prefixes)


# ---- JSON-LD ----------------------------------------------------------------------------

# Terms taken from other vocabularies: short name -> (IRI, is it an IRI-valued property).
_OTHER_TERMS = {
    "label": ("http://www.w3.org/2000/01/rdf-schema#label", False),
    "prefLabel": ("http://www.w3.org/2004/02/skos/core#prefLabel", False),
    "altLabel": ("http://www.w3.org/2004/02/skos/core#altLabel", False),
    "editorialNote": ("http://www.w3.org/2004/02/skos/core#editorialNote", False),
    "honorificPrefix": ("https://schema.org/honorificPrefix", False),
    "familyName": ("https://schema.org/familyName", False),
    "givenName": ("https://schema.org/givenName", False),
    "postIn": ("http://www.w3.org/ns/org#postIn", True),
    "subOrganizationOf": ("http://www.w3.org/ns/org#subOrganizationOf", True),
    "title": ("http://purl.org/dc/terms/title", False),
    "publisher": ("http://purl.org/dc/terms/publisher", True),
    "language": ("http://purl.org/dc/terms/language", False),
    "description": ("http://purl.org/dc/terms/description", False),
}
# dkb datatype properties whose values always have one datatype.
_COERCED = {"value": XSD + "decimal", "ordinal": XSD + "integer", "year": XSD + "gYear"}


def jsonld_context(object_properties: set[str]) -> dict:
    """The shipped context: dkb terms by local name, ids relative to the id namespace."""
    ctx: dict = {"@vocab": DKB, "@base": ID}
    ctx.update({p: ns for p, ns in PREFIXES.items() if p not in ("id",)})
    for term, (iri, is_ref) in sorted(_OTHER_TERMS.items()):
        ctx[term] = {"@id": iri, "@type": "@id"} if is_ref else iri
    for local in sorted(object_properties):
        ctx[local] = {"@id": DKB + local, "@type": "@id"}
    for local, dt in sorted(_COERCED.items()):
        ctx[local] = {"@id": DKB + local, "@type": dt}
    return ctx


def _compact_iri(iri: str) -> str:
    found = _COMPACT.get(iri)
    if found is None:
        found = _compact(iri)
        if len(_COMPACT) < 1 << 20:
            _COMPACT[iri] = found
    return found


_COMPACT: dict = {}


def _compact(iri: str) -> str:
    if iri.startswith(ID) and ":" not in iri[len(ID):]:
        return iri[len(ID):]
    for prefix, ns in PREFIXES.items():
        if prefix != "id" and iri.startswith(ns) and len(iri) > len(ns):
            return f"{prefix}:{iri[len(ns):]}"
    return iri


class JsonLdNodes:
    """Writes subjects as JSON-LD node objects under the shipped context."""

    def __init__(self, object_properties: set[str]):
        self.context = jsonld_context(object_properties)
        self.reverse = {iri: term for term, (iri, _) in _OTHER_TERMS.items()}
        self._keys: dict = {}  # predicate -> (its key as JSON, the datatype or @id its values are coerced to)

    def _key(self, p: str) -> tuple:
        found = self._keys.get(p)
        if found is None:
            key = p[len(DKB):] if p.startswith(DKB) else self.reverse.get(p, p)
            entry = self.context.get(key)
            found = self._keys[p] = (_encode_string(key), entry.get("@type") if isinstance(entry, dict) else None)
        return found

    def node_text(self, s, preds: dict, in_order: list | None = None) -> str:
        """The node as it is indented inside the document's "@graph" list: the text
        json.dumps(..., indent=1) gives there, written directly (`_json`)."""
        enc = _encode_string
        lines = ['{\n   "@id": ' + enc(_compact_iri(s))]
        for p, values in in_order or ordered(preds):
            one = len(values) == 1
            if p == RDF_TYPE:
                key = '"@type"'
                texts = [enc(v[len(DKB):] if v.startswith(DKB) else _compact_iri(v)) for v in values]
            else:
                key, coerced = self._keys.get(p) or self._key(p)
                indent = "   " if one else "    "  # a value's own lines are indented as deep as it is
                texts = []
                for v in values:
                    if type(v) is str:
                        if coerced == "@id":
                            texts.append(enc(_compact_iri(v)))
                            continue
                    elif v[1] == coerced and not v[2]:  # a literal of the type its key implies
                        texts.append(enc(v[0]))
                        continue
                    j = _jsonld_value(v, coerced)
                    texts.append(enc(j) if type(j) is str else _json(j, indent))
            lines.append(f"   {key}: {texts[0]}" if one else f"   {key}: [\n    " + ",\n    ".join(texts) + "\n   ]")
        return ",\n".join(lines) + "\n  }"

    def document(self, node_texts: list) -> str:
        """The whole file from the node texts of every subject, given in subject order (the
        same bytes as json.dumps of the document with indent=1)."""
        ctx = json.dumps(self.context, ensure_ascii=False, indent=1).replace("\n", "\n ")
        graph = "[\n  " + ",\n  ".join(node_texts) + "\n ]" if node_texts else "[]"
        return '{\n "@context": ' + ctx + ',\n "@graph": ' + graph + "\n}\n"


_encode_string = json.encoder.encode_basestring  # the C function json.dumps uses


def _json(value, indent: str) -> str:
    """json.dumps(value, ensure_ascii=False, indent=1) of a node, each line after the first
    starting with `indent`. (With `indent`, json.dumps falls back to its pure-Python encoder,
    which took a third of the time of a build.)"""
    if isinstance(value, str):
        return _encode_string(value)
    inner = indent + " "
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{\n" + ",\n".join(f"{inner}{_encode_string(k)}: {_json(v, inner)}"
                                   for k, v in value.items()) + "\n" + indent + "}"
    if not value:
        return "[]"
    return "[\n" + ",\n".join(inner + _json(v, inner) for v in value) + "\n" + indent + "]"


def to_jsonld(triples, object_properties: set[str]) -> str:
    writer = JsonLdNodes(object_properties)
    return writer.document([writer.node_text(s, preds) for s, preds in sorted(by_subject(triples).items())])


def _jsonld_value(v, coerced):
    if isinstance(v, str):
        return _compact_iri(v) if coerced == "@id" else {"@id": _compact_iri(v)}
    value, datatype, lang = v
    if lang:
        return {"@value": value, "@language": lang}
    if datatype == coerced or (datatype is None and coerced is None):
        return value
    if datatype is None:
        return {"@value": value, "@type": XSD + "string"}
    return {"@value": value, "@type": _compact_iri(datatype)}


# ---- VoID / DCAT description ------------------------------------------------------------

def void_description(figures: dict, counts: dict, source_ids, files: dict) -> str:
    """A VoID/DCAT description of the dataset and its downloads, with counts. `figures`:
    'triples', 'subjects' and 'properties' (numbers of distinct ones)."""
    void = "http://rdfs.org/ns/void#"
    dcat = "http://www.w3.org/ns/dcat#"
    dct = "http://purl.org/dc/terms/"
    ds = IRI(ID + "dataset")
    t = []
    add = lambda s, p, o: t.append((IRI(s), IRI(p), o))  # noqa: E731
    add(ds, RDF_TYPE, IRI(void + "Dataset"))
    add(ds, RDF_TYPE, IRI(dcat + "Dataset"))
    add(ds, dct + "title", Literal("diplokb: Cambodia-China diplomatic relations", None, "en"))
    add(ds, dct + "license", IRI("https://creativecommons.org/licenses/by/4.0/"))
    add(ds, void + "vocabulary", IRI(DKB))
    add(ds, void + "uriSpace", Literal(ID))
    add(ds, void + "triples", Literal(str(figures["triples"]), XSD + "integer"))
    add(ds, void + "entities", Literal(str(figures["subjects"]), XSD + "integer"))
    add(ds, void + "distinctSubjects", Literal(str(figures["subjects"]), XSD + "integer"))
    add(ds, void + "properties", Literal(str(figures["properties"]), XSD + "integer"))
    for cls, n in sorted(counts.items()):
        part = IRI(f"{ID}dataset/class/{cls}")
        add(ds, void + "classPartition", part)
        add(part, void + "class", IRI(DKB + cls))
        add(part, void + "entities", Literal(str(n), XSD + "integer"))
    for sid in sorted(source_ids):
        add(ds, dct + "source", IRI(ID + sid))
    for name, (media, size) in sorted(files.items()):
        dist = IRI(f"{ID}dataset/download/{name}")
        add(ds, dcat + "distribution", dist)
        add(dist, RDF_TYPE, IRI(dcat + "Distribution"))
        add(dist, dcat + "downloadURL", IRI(f"https://w3id.org/diplokb/exports/{name}"))
        add(dist, dcat + "mediaType", Literal(media))
        add(dist, dcat + "byteSize", Literal(str(size), XSD + "integer"))
    prefixes = dict(PREFIXES, void=void, dcat=dcat)
    return to_turtle(t, prefixes)
