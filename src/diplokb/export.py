"""Deterministic writers: N-Triples, Turtle, TriG, JSON-LD (jsonld.py), VoID/DCAT (files.py writes them).

The writers are ours, not rdflib's: they sort subjects, predicates and objects, so the same
KB always gives byte-identical files (and they are much faster than rdflib's serializers).
"""
from __future__ import annotations

import enum
import re
from collections import defaultdict

from .jsonld import JsonLdNodes, jsonld_context, to_jsonld  # noqa: F401 (the writers' API)
from .rdf import BNODE, DKB, ID, PREFIXES, RDF_TYPE, XSD, IRI, Literal, bnode_label, check_term, curie, escape, nt, sort_key
from .rdf import _ABSOLUTE, _CHECKED, _NOT_IN_IRI


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
#
# Every writer takes any RDF 1.1 term (rdf.py: IRIs, blank nodes "_:label", literals) and checks
# it (rdf.check_term) the first time it spells it; the spelling is cached, as terms recur.

_NT: dict = {"subject": {}, "predicate": {}, "object": {}}  # position -> term -> its N-Triples spelling
_TERMS: dict = {}  # term -> its Turtle spelling
_CANONICAL_INTEGER = re.compile(r"0|-?[1-9][0-9]*").fullmatch  # an xsd:integer written bare


def _nt_term(t, position: str) -> str:
    if type(t) is str and _ABSOLUTE(t) and not _NOT_IN_IRI(t):  # an IRI (check_term, inline)
        found = f"<{t}>"
    else:
        found = nt(check_term(t, position))
    _NT[position][t] = found
    if len(_NT[position]) >= 1 << 20:
        _NT[position].clear()
    return found


def to_ntriples(triples) -> str:
    subjects, predicates, objects = _NT["subject"], _NT["predicate"], _NT["object"]
    return "".join(sorted(f"{subjects.get(s) or _nt_term(s, 'subject')} {predicates.get(p) or _nt_term(p, 'predicate')} "
                          f"{objects.get(o) or _nt_term(o, 'object')} .\n" for s, p, o in triples))


def _term(t) -> str:
    found = _TERMS.get(t)
    if found is None:
        found = _spell(t)
        if len(_TERMS) < 1 << 20:  # bounded: a long-lived process builds many KBs
            _TERMS[t] = found
    return found


def _spell(t) -> str:
    if isinstance(t, str):
        if t.startswith(BNODE):
            return BNODE + bnode_label(check_term(t))
        found = curie(t)  # a prefixed name is an IRI by construction
        if found:
            return found
        if not _ABSOLUTE(t) or _NOT_IN_IRI(t):  # (check_term, inline: the build spells many IRIs)
            check_term(t, "term")
        return f"<{t}>"
    value, datatype, lang = t
    if (datatype, lang) not in _CHECKED or not value.isascii():
        check_term(t)
    if lang:
        return f'"{escape(value)}"@{lang}'
    if datatype is None:
        return f'"{escape(value)}"'
    # a bare integer is read back with itself as the lexical form: only the canonical form is
    # written so ("--5", "+5", "05" or "٣" would be misread or not read at all)
    if datatype == XSD + "integer" and _CANONICAL_INTEGER(value):
        return value
    return f'"{escape(value)}"^^{curie(datatype) or f"<{datatype}>"}'


def _checked(triples) -> list:
    """The triples, each checked for subject, predicate and object positions (the whole-graph
    writers take triples from outside the build: SPARQL results, tests)."""
    out = list(triples)
    for s, p, o in out:
        if type(s) is not str or s.startswith(BNODE):
            check_term(s, "subject")
        if type(p) is not str or p.startswith(BNODE):
            check_term(p, "predicate")
    return out


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


def ordered(preds: dict) -> list:
    """(predicate, sorted objects), rdf:type first: the order of every writer (predicates in
    str order after rdf:type, objects by `sort_key`). Every subject of every export is ordered here, so
    the usual cases skip the sort keys: a predicate list sorted as strs (rdf:type then moved
    to the front), and objects that are all IRIs, or all literals that compare as tuples
    (`_sorted_objects`)."""
    keys = sorted(preds)
    if RDF_TYPE in preds and keys[0] != RDF_TYPE:
        keys.remove(RDF_TYPE)
        keys.insert(0, RDF_TYPE)
    return [(p, list(objs) if len(objs := preds[p]) == 1 else _sorted_objects(objs)) for p in keys]


def _sorted_objects(objs) -> list:
    """sorted(objs, key=sort_key), for two or more objects. IRIs (strs) come first in str
    order; literals, (value, datatype, lang), sort as tuples unless a None meets a str in a
    comparison (equal values, one with a datatype or tag and one without), when the sort key
    decides. A sort that raised nothing made only comparisons whose outcome the key gives too,
    so the order is the same."""
    iris = [o for o in objs if isinstance(o, str)]
    if len(iris) == len(objs):
        iris.sort()
        return iris
    literals = [o for o in objs if not isinstance(o, str)]
    try:
        literals.sort()
    except TypeError:
        literals.sort(key=sort_key)
    iris.sort()
    return iris + literals


def turtle_block(s, preds: dict, in_order: list | None = None) -> str:
    """One subject's Turtle block, e.g. 'id:x a dkb:Event ;\n    rdfs:label "X" .\n'.
    `in_order`: ordered(preds), where the caller has it already."""
    term = _term
    lines = [f"{'a' if p == RDF_TYPE else term(p)} "
             + (term(objs[0]) if len(objs) == 1 else ", ".join([term(o) for o in objs]))
             for p, objs in (in_order or ordered(preds))]
    return f"{_term(s)} " + " ;\n    ".join(lines) + " .\n"


def subject_texts(s: str, in_order: list) -> tuple[str, str, int]:
    """One subject of the build (its terms in the plain form, rdf.py), in one pass over
    `in_order` (ordered()): its N-Triples lines, sorted and joined; its Turtle block (as
    turtle_block gives it); its number of triples. A literal with a language tag or without a
    datatype is spelt alike in both syntaxes, so it is escaped once (and, being mostly unique,
    not kept in the spelling cache); other terms are spelt as the writers above spell them."""
    term, terms, checked = _term, _TERMS, _CHECKED
    head_s = f"<{s}> <"
    lines: list = []
    parts: list = []
    for p, objs in in_order:
        head = f"{head_s}{p}> "
        spelled = []
        for o in objs:
            if type(o) is str:
                lines.append(f"{head}<{o}> .\n")
                spelled.append(terms.get(o) or term(o))
                continue
            value, datatype, lang = o
            if lang or datatype is None:
                if (datatype, lang) not in checked or not value.isascii():
                    check_term(o)
                text = f'"{escape(value)}"@{lang}' if lang else f'"{escape(value)}"'
                lines.append(f"{head}{text} .\n")
                spelled.append(text)
            else:
                lines.append(f"{head}{nt(o)} .\n")
                spelled.append(terms.get(o) or term(o))
        parts.append(f"{'a' if p == RDF_TYPE else terms.get(p) or term(p)} "
                     + (spelled[0] if len(spelled) == 1 else ", ".join(spelled)))
    lines.sort()
    return "".join(lines), f"{terms.get(s) or term(s)} " + " ;\n    ".join(parts) + " .\n", len(lines)


def turtle_document(blocks: list, prefixes: dict = PREFIXES) -> str:
    """A Turtle file from its subjects' blocks (turtle_block), given in subject order (one
    join: the file is tens of MiB at 1M triples, and each `+` would copy it again)."""
    return "\n".join([_prefix_block(prefixes), *blocks])


def to_turtle(triples, prefixes: dict = PREFIXES) -> str:
    return turtle_document([turtle_block(s, preds) for s, preds in sorted(by_subject(_checked(triples)).items())],
                           prefixes)


def trig_document(graphs: dict, prefixes: dict = PREFIXES) -> str:
    """A TriG file from graph -> subject -> Turtle block of the subject's triples in it. The
    graph None is the default graph (written first, as a graph without a name)."""
    parts = [_prefix_block(prefixes)]
    for g in ([None] if None in graphs else []) + sorted(g for g in graphs if g is not None):
        blocks = graphs[g]
        name = "" if g is None else _term(check_term(g, "graph")) + " "
        parts.append(f"\n{name}{{\n    ")
        # each block indented by four spaces, a blank line (not indented) between two blocks
        for s in sorted(blocks):
            parts.append(blocks[s][:-1].replace("\n", "\n    "))
            parts.append("\n\n    ")
        if blocks:
            parts[-1] = "\n}\n"  # the last separator closes the graph instead
        else:
            parts.append("\n}\n")
    return "".join(parts)  # one join: the parts are copied once


def to_trig(quads, prefixes: dict = PREFIXES) -> str:
    """TriG of quads (s, p, o, g); g None: the default graph."""
    graphs: dict = defaultdict(list)
    for s, p, o, g in quads:
        graphs[g].append((s, p, o))
    return trig_document({g: {s: turtle_block(s, preds) for s, preds in by_subject(_checked(triples)).items()}
                          for g, triples in graphs.items()}, prefixes)


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
