"""RDF terms, and their N-Triples / Turtle spelling.

A term has a plain form: an IRI is a str, a blank node a str "_:label" (no IRI starts with
"_:", as an IRI starts with a letter), a literal a tuple (value, datatype, lang). The KB itself
has no blank nodes; SPARQL CONSTRUCT results can. The compiler emits that form, the build and its cache keep it, the exporters and the SHACL engine
read it (a str is an IRI, anything else a literal). `IRI` and `Literal` are the same values
with names, for code that builds a few terms by hand; they equal and hash like their plain
form, so the two mix in sets and dicts, and every function here takes either. (Plain str keys
also make the build's many dict lookups faster than a str subclass would.) rdflib and
pyoxigraph are only used where their work is needed (SHACL validation, SPARQL), never to hold
the KB itself.
"""
from __future__ import annotations

import re
from collections import namedtuple
from functools import lru_cache

from .errors import DiplokbError

# The namespaces, the prefixes and `curie` live in namespaces.py (no `re` there: `diplokb
# query`'s start-up imports that module, not this one); they are part of this module's API.
from . import namespaces
from .namespaces import BNODE, DKB, GRAPH, ID, PREFIXES, RDF_LANGSTRING, RDF_TYPE, VOCAB, XSD  # noqa: F401

# 'dkb:Event' for a DKB IRI, or None when no prefix gives a valid local name. (Cached: exports
# ask for the same IRIs many times.)
curie = lru_cache(maxsize=1 << 20)(namespaces.curie)


class IRI(str):
    """An IRI; a str so that it sorts and hashes as fast as one."""

    __slots__ = ()


# Named tuples made as typing.NamedTuple makes them, without importing typing (which costs
# `diplokb query`'s start-up a few milliseconds). Literal: value, datatype (None:
# xsd:string), lang; Quad: s, p, o (an IRI or a Literal), g.
Literal = namedtuple("Literal", ("value", "datatype", "lang"), defaults=(None, None))
Quad = namedtuple("Quad", ("s", "p", "o", "g"))


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
    """The N-Triples spelling of a term (either form). Unchecked (see check_term): the build
    spells its own, compiled terms with it."""
    if isinstance(term, str):
        return f"{BNODE}{bnode_label(term)}" if term.startswith(BNODE) else f"<{term}>"
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


# ---- checking terms: what no RDF 1.1 syntax could carry is refused, never written ----------

class TermError(DiplokbError, ValueError):
    """A term that is not an RDF 1.1 term (a relative IRI, a bad language tag, ...): a writer
    refuses it rather than write text that would be read back as another term, or not at all."""


_ABSOLUTE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:").match  # an IRI starts with its scheme
# what IRIREF (and RFC 3987) exclude, and lone surrogates (not Unicode scalar values)
_NOT_IN_IRI = re.compile(r'[\x00-\x20<>"{}|^`\\\ud800-\udfff]').search
_LANGTAG = re.compile(r"[A-Za-z]+(?:-[A-Za-z0-9]+)*").fullmatch  # LANGTAG of N-Triples and Turtle
_SURROGATE = re.compile(r"[\ud800-\udfff]").search  # not a Unicode scalar value: no RDF string has one
_LABEL_AS_IS = re.compile(r"[A-Za-z0-9]+").fullmatch


def bnode_label(term: str) -> str:
    """The label a blank node ("_:label") is written with in every syntax: the label itself if
    it is letters and digits, otherwise 'x_' and its UTF-8 in hex (a valid label in N-Triples,
    Turtle and JSON-LD; one-to-one, as a label kept as it is has no '_')."""
    label = term[len(BNODE):]
    return label if _LABEL_AS_IS(label) else "x_" + label.encode("utf-8", "surrogatepass").hex()


def check_iri(iri: str, what: str = "IRI") -> str:
    """The IRI if it can be written (absolute, nothing IRIREF excludes), else TermError."""
    if not _ABSOLUTE(iri):
        raise TermError(f"{what} {iri!r} is not an absolute IRI (it has no scheme)")
    bad = _NOT_IN_IRI(iri)
    if bad:
        raise TermError(f"{what} {iri!r} has {bad.group()!r} at {bad.start()}, which no IRI can have")
    return iri


def check_term(term, position: str = "object"):
    """The term if it is an RDF 1.1 term allowed in `position` ('subject', 'predicate',
    'object', 'graph'; any other word: wherever its kind is allowed), else TermError naming
    what is wrong."""
    if isinstance(term, str):
        if term.startswith(BNODE):
            if position == "predicate":
                raise TermError(f"a blank node ({term}) cannot be a predicate")
            if len(term) == len(BNODE):
                raise TermError("a blank node needs a label ('_:' alone)")
            return term
        return check_iri(term, "the " + position)
    if position in ("subject", "predicate", "graph"):
        raise TermError(f"a literal ({term!r}) cannot be a {position}")
    value, datatype, lang = term
    if not isinstance(value, str):
        raise TermError(f"a literal's value must be a string, not {value!r}")
    if not value.isascii() and _SURROGATE(value):
        raise TermError(f"the literal {value!r} has a lone surrogate, which no RDF string can have")
    if (datatype, lang) in _CHECKED:
        return term
    if lang is not None:
        if not _LANGTAG(lang):
            raise TermError(f"{lang!r} (of the literal {value!r}) is not a language tag (BCP 47: 'en', 'zh-Hans')")
        if datatype not in (None, RDF_LANGSTRING):
            raise TermError(f"the literal {value!r} has a language tag and the datatype {datatype}: "
                            "a language-tagged string's datatype is rdf:langString")
    elif datatype == RDF_LANGSTRING:
        raise TermError(f"the literal {value!r} is an rdf:langString without a language tag")
    elif datatype is not None:
        check_iri(datatype, "the datatype")
    if len(_CHECKED) < 1 << 12:
        _CHECKED.add((datatype, lang))
    return term


_CHECKED: set = {(None, None)}  # (datatype, language tag) pairs found right (terms repeat them)
