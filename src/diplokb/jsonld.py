"""The JSON-LD writer: subjects as node objects under the shipped context.

A string under a context can be read as another IRI than the one meant: a term ('label'), a
compact IRI ('xsd:date', but also the IRI 'xsd:x'), a keyword ('@x'), an IRI relative to
@base (where 'a/../b' is 'b') or to @vocab (in @type). So every IRI is written in the first of
its forms that the context reads back as that IRI (`_Forms.reads`, the IRI expansion of
JSON-LD 1.0 and 1.1 for this context, taking the stricter of the two where they differ), and a
subject with any term no form carries is written as a node of its own with "@context": null
and every IRI in full. Literals are strings or value objects, never JSON numbers or booleans,
so no value is re-typed or re-spelt.
"""
from __future__ import annotations

import json
import re

from .rdf import BNODE, DKB, ID, PREFIXES, RDF_TYPE, XSD, bnode_label, check_iri, check_term

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


class _NoForm(Exception):
    """No string under the context reads back as this term: the node is written in full."""


# A reference relative to @base that resolves by appending it: no scheme-like colon, no
# query or fragment, not absolute-path or network-path, not starting like a keyword or a dot.
_RELATIVE = re.compile(r"[^:/?#@.\s][^:?#\s]*").fullmatch
_DOT_SEGMENT = re.compile(r"(?:^|/)\.\.?(?:/|$)").search
# the KB's own ids and local names, which need no more checks than that they are not terms
_PLAIN_ID = re.compile(r"[a-z0-9][a-z0-9_-]*(?:/[a-z0-9][a-z0-9_-]*)*").fullmatch
_PLAIN_LOCAL = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*").fullmatch


class _Forms:
    """How the context reads a string as an IRI, and the form each IRI is written in."""

    def __init__(self, context: dict):
        self.terms = {k: v if isinstance(v, str) else v["@id"] for k, v in context.items() if k[:1] != "@"}
        self.vocab, self.base = context["@vocab"], context["@base"]
        self.prefixes = [(p, ns) for p, ns in PREFIXES.items() if self.terms.get(p) == ns]
        self.ids: dict = {}  # IRI or blank node -> its form as a node's @id or an @id value
        self.types: dict = {}  # IRI -> its form in a node's @type (vocabulary-relative)
        self.datatypes: dict = {}  # IRI -> its form as a value's @type

    def reads(self, text: str, vocab: bool) -> str | None:
        """The IRI (or blank node) `text` stands for, as a key or @type value (`vocab`) or an
        @id; None where a processor may read it otherwise (or drop it). Any term is taken as a
        possible prefix (JSON-LD 1.0 does so; 1.1 only for some), so that both read it alike."""
        if not text or text[0] == "@":
            return None
        if vocab and text in self.terms:
            return self.terms[text]
        if ":" in text:
            prefix, suffix = text.split(":", 1)
            if prefix == "_" or suffix.startswith("//"):
                return text
            return self.terms[prefix] + suffix if prefix in self.terms else text
        if vocab:
            return self.vocab + text
        if text in self.terms or not _RELATIVE(text) or _DOT_SEGMENT(text):
            return None
        return self.base + text  # the base ends with '/' and has no query or fragment

    def _first(self, iri: str, candidates: list, vocab: bool) -> str:
        check_iri(iri)
        for text in candidates:
            if self.reads(text, vocab) == iri:
                return text
        raise _NoForm(iri)

    def _prefixed(self, iri: str) -> list:
        return [f"{p}:{iri[len(ns):]}" for p, ns in self.prefixes if iri.startswith(ns) and len(iri) > len(ns)]

    def id(self, t) -> str:
        found = self.ids.get(t)
        if found is None:
            if not isinstance(t, str):
                raise _NoForm(t)  # a literal as a subject: check_term says what is wrong
            if t.startswith(BNODE):
                found = BNODE + bnode_label(check_term(t))
            elif t.startswith(self.base) and _PLAIN_ID(t, len(self.base)) and t[len(self.base):] not in self.terms:
                found = t[len(self.base):]  # (the short path of what follows)
            else:
                relative = [t[len(self.base):]] if t.startswith(self.base) else []
                found = self._first(t, relative + self._prefixed(t) + [t], False)
            _remember(self.ids, t, found)
        return found

    def type(self, t) -> str:
        found = self.types.get(t)
        if found is None:
            if not isinstance(t, str) or t.startswith(BNODE):
                raise _NoForm(t)  # rdf:type with a blank node or a literal: a plain property
            if t.startswith(DKB) and _PLAIN_LOCAL(t, len(DKB)) and t[len(DKB):] not in self.terms:
                return _remember(self.types, t, t[len(DKB):])  # (the short path of what follows)
            local = [t[len(DKB):]] if t.startswith(DKB) else []
            found = _remember(self.types, t, self._first(t, local + self._prefixed(t) + [t], True))
        return found

    def datatype(self, iri: str) -> str:
        found = self.datatypes.get(iri)
        if found is None:
            found = _remember(self.datatypes, iri, self._first(iri, self._prefixed(iri) + [iri], True))
        return found


def _remember(cache: dict, key, value):
    if len(cache) < 1 << 20:
        cache[key] = value
    return value


_FORMS: dict = {}  # frozenset(object properties) -> _Forms of their context, kept across builds


class JsonLdNodes:
    """Writes subjects as JSON-LD node objects under the shipped context."""

    def __init__(self, object_properties: set[str]):
        self.context = jsonld_context(object_properties)
        key = frozenset(object_properties)
        if key not in _FORMS:
            if len(_FORMS) >= 8:
                _FORMS.clear()
            _FORMS[key] = _Forms(self.context)
        self.forms = _FORMS[key]
        self.reverse = {iri: term for term, (iri, _) in _OTHER_TERMS.items()}
        self._keys: dict = {}  # predicate -> (its key as JSON, the datatype or @id its values are coerced to)

    def _key(self, p) -> tuple:
        found = self._keys.get(p)
        if found is None:
            if not isinstance(p, str) or p.startswith(BNODE):
                check_term(p, "predicate")
            candidates = [self.reverse[p]] if p in self.reverse else []
            candidates += [p[len(DKB):]] if p.startswith(DKB) else []
            key = self.forms._first(p, candidates + [p], True)
            entry = self.context.get(key)
            found = self._keys[p] = (_encode_string(key), entry.get("@type") if isinstance(entry, dict) else None)
        return found

    def node_text(self, s, preds: dict, in_order: list | None = None) -> str:
        """The node as it is indented inside the document's "@graph" list: the text
        json.dumps(..., indent=1) gives there, written directly (`_json`)."""
        if not in_order:
            from .export import ordered

            in_order = ordered(preds)
        try:
            return self._compact_node(s, in_order)
        except _NoForm:
            return _json(self._full_node(s, in_order), "  ")

    def _compact_node(self, s, in_order: list) -> str:
        enc = _encode_string
        ids = self.forms.ids
        lines = ['{\n   "@id": ' + enc(ids.get(s) or self.forms.id(s))]
        for p, values in in_order:
            one = len(values) == 1
            if p == RDF_TYPE:
                key = '"@type"'
                types = self.forms.types
                texts = [enc(types.get(v) or self.forms.type(v)) for v in values]
            else:
                key, coerced = self._keys.get(p) or self._key(p)
                indent = "   " if one else "    "  # a value's own lines are indented as deep as it is
                texts = []
                for v in values:
                    if type(v) is str:
                        if coerced == "@id":
                            texts.append(enc(ids.get(v) or self.forms.id(v)))
                            continue
                    elif v[1] == coerced and not v[2]:  # a literal of the type its key implies
                        texts.append(enc(v[0]))
                        continue
                    j = self._value(v, coerced)
                    texts.append(enc(j) if type(j) is str else _json(j, indent))
            lines.append(f"   {key}: {texts[0]}" if one else f"   {key}: [\n    " + ",\n    ".join(texts) + "\n   ]")
        return ",\n".join(lines) + "\n  }"

    def _value(self, v, coerced):
        if isinstance(v, str):
            return self.forms.id(v) if coerced == "@id" else {"@id": self.forms.id(v)}
        value, datatype, lang = check_term(v)
        if lang:
            return {"@value": value, "@language": lang}
        if datatype == coerced or (datatype is None and coerced is None):
            return value
        if datatype is None:
            return {"@value": value, "@type": XSD + "string"}
        return {"@value": value, "@type": self.forms.datatype(datatype)}

    def _full_node(self, s, in_order: list) -> dict:
        """The node with no context (so nothing can be read otherwise): every IRI in full."""
        node: dict = {"@context": None, "@id": _full(check_term(s, "subject"))}
        for p, values in in_order:
            check_term(p, "predicate")
            if p == RDF_TYPE and all(isinstance(v, str) and not v.startswith(BNODE) for v in values):
                node["@type"] = _one_or_list([check_term(v) for v in values])
                continue
            node[p] = _one_or_list([_full_value(v) for v in values])
        return node

    def document(self, node_texts: list) -> str:
        """The whole file from the node texts of every subject, given in subject order (the
        same bytes as json.dumps of the document with indent=1)."""
        ctx = json.dumps(self.context, ensure_ascii=False, indent=1).replace("\n", "\n ")
        head = '{\n "@context": ' + ctx + ',\n "@graph": '
        if not node_texts:
            return head + "[]\n}\n"
        # one join (the file is tens of MiB at 1M triples; each `+` of it would copy it again)
        texts = list(node_texts)
        texts[0] = head + "[\n  " + texts[0]
        texts[-1] += "\n ]\n}\n"
        return ",\n  ".join(texts)


def _full(t: str) -> str:
    return BNODE + bnode_label(t) if t.startswith(BNODE) else t


def _full_value(v):
    if isinstance(v, str):
        return {"@id": _full(check_term(v))}
    value, datatype, lang = check_term(v)
    if lang:
        return {"@value": value, "@language": lang}
    return {"@value": value, "@type": datatype} if datatype else value


def _one_or_list(values: list):
    return values[0] if len(values) == 1 else values


_encode_string = json.encoder.encode_basestring  # the C function json.dumps uses


def _json(value, indent: str) -> str:
    """json.dumps(value, ensure_ascii=False, indent=1) of a node, each line after the first
    starting with `indent`. (With `indent`, json.dumps falls back to its pure-Python encoder,
    which took a third of the time of a build.)"""
    if isinstance(value, str):
        return _encode_string(value)
    if value is None:
        return "null"
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
    from .export import by_subject

    triples = list(triples)
    for _, _, o in triples:
        if not isinstance(o, str):
            check_term(o)  # the build's path (node_text) writes the KB's literals unchecked
    writer = JsonLdNodes(object_properties)
    return writer.document([writer.node_text(s, preds) for s, preds in sorted(by_subject(triples).items())])
