"""Values for the SHACL engine (shacl.py): well-formed literals, comparison by datatype, node
kinds and language ranges. A term is in the plain form of rdf.py (an IRI is a str, a literal a
tuple (lexical form, datatype or None for xsd:string / rdf:langString, language)); a blank node
is a pyoxigraph BlankNode."""
from __future__ import annotations

import datetime
import math
import re
from decimal import Decimal

from .rdf import XSD

LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
SH = "http://www.w3.org/ns/shacl#"


def is_iri(v) -> bool:
    return isinstance(v, str)


def is_literal(v) -> bool:
    return isinstance(v, tuple)


def is_blank(v) -> bool:
    return not isinstance(v, (str, tuple))


def datatype_of(v) -> str | None:
    if not isinstance(v, tuple):
        return None
    if v[2]:
        return LANGSTRING
    return v[1] or XSD + "string"


_TZ = r"(Z|[+-]((0\d|1[0-3]):[0-5]\d|14:00))?"
_YEAR = r"-?([1-9]\d{3,}|0\d{3})"
_INTEGER = re.compile(r"[+-]?\d+\Z")
_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)\Z")
_DOUBLE = re.compile(r"([+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|[+-]?INF|NaN)\Z")
_DATE = re.compile(_YEAR + r"-(\d\d)-(\d\d)" + _TZ + r"\Z")
_DATETIME = re.compile(_YEAR + r"-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d+)?" + _TZ + r"\Z")
_TIME = re.compile(r"(\d\d):(\d\d):(\d\d)(\.\d+)?" + _TZ + r"\Z")
_GYEAR = re.compile(_YEAR + _TZ + r"\Z")
_GYEARMONTH = re.compile(_YEAR + r"-(0[1-9]|1[0-2])" + _TZ + r"\Z")
_LANG = re.compile(r"[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*\Z")

# Integer types and their bounds (None: unbounded).
_INTEGERS = {
    "integer": (None, None), "nonNegativeInteger": (0, None), "positiveInteger": (1, None),
    "nonPositiveInteger": (None, 0), "negativeInteger": (None, -1),
    "long": (-2**63, 2**63 - 1), "int": (-2**31, 2**31 - 1), "short": (-2**15, 2**15 - 1),
    "byte": (-128, 127), "unsignedLong": (0, 2**64 - 1), "unsignedInt": (0, 2**32 - 1),
    "unsignedShort": (0, 2**16 - 1), "unsignedByte": (0, 255)}
NUMERIC = {XSD + n for n in _INTEGERS} | {XSD + "decimal", XSD + "double", XSD + "float"}


def _real_date(year: str, month: str, day: str) -> bool:
    y, m, d = int(year), int(month), int(day)
    if not 1 <= m <= 12:
        return False
    leap = y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)
    return 1 <= d <= (31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[m - 1]


def _date_ok(text: str) -> bool:
    m = _DATE.match(text)
    return bool(m) and _real_date(m.group(1), m.group(2), m.group(3))


def _datetime_ok(text: str) -> bool:
    m = _DATETIME.match(text)
    if not m or not _real_date(m.group(1), m.group(2), m.group(3)):
        return False
    h, mi, s = int(m.group(4)), int(m.group(5)), int(m.group(6))
    return (h < 24 and mi < 60 and s < 60) or (h == 24 and mi == 0 and s == 0 and not (m.group(7) or "").strip(".0"))


def _time_ok(text: str) -> bool:
    m = _TIME.match(text)
    return bool(m) and int(m.group(1)) < 24 and int(m.group(2)) < 60 and int(m.group(3)) < 60


def _integer_ok(name: str):
    lo, hi = _INTEGERS[name]

    def ok(text: str) -> bool:
        if not _INTEGER.match(text):
            return False
        n = int(text)
        return (lo is None or n >= lo) and (hi is None or n <= hi)
    return ok


_LEXICAL = {XSD + "string": lambda t: True, XSD + "boolean": lambda t: t in ("true", "false", "1", "0"),
            XSD + "decimal": lambda t: bool(_DECIMAL.match(t)), XSD + "double": lambda t: bool(_DOUBLE.match(t)),
            XSD + "float": lambda t: bool(_DOUBLE.match(t)), XSD + "date": _date_ok,
            XSD + "dateTime": _datetime_ok, XSD + "time": _time_ok,
            XSD + "gYear": lambda t: bool(_GYEAR.match(t)), XSD + "gYearMonth": lambda t: bool(_GYEARMONTH.match(t)),
            XSD + "anyURI": lambda t: not re.search(r"[\s<>\"{}|\\^`]", t),
            LANGSTRING: lambda t: True}
_LEXICAL.update({XSD + n: _integer_ok(n) for n in _INTEGERS})


def well_formed(v) -> bool:
    """Whether a literal's lexical form is valid for its datatype. An XSD datatype this module
    does not know is checked by rdflib; any other datatype has no lexical rules we could check."""
    dt = datatype_of(v)
    if dt == LANGSTRING:
        return bool(_LANG.match(v[2]))
    check = _LEXICAL.get(dt)
    if check is not None:
        return check(v[0])
    if dt.startswith(XSD):
        return _rdflib_well_formed(v[0], dt)
    return True


def _rdflib_well_formed(text: str, dt: str) -> bool:
    import warnings

    import rdflib

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return not rdflib.Literal(text, datatype=rdflib.URIRef(dt)).ill_typed


# ---- comparison (sh:minInclusive ..., sh:lessThan): SPARQL's < on two values, or None -------

def _sortable(v):
    """(kind, value) of a literal that SPARQL's < can compare, or None (an IRI, a blank node, an
    ill-formed literal or one of a datatype without order)."""
    if not isinstance(v, tuple) or not well_formed(v):
        return None
    dt, text = datatype_of(v), v[0]
    if dt in NUMERIC:
        if dt in (XSD + "double", XSD + "float"):
            x = float(text.replace("INF", "inf"))
            return None if math.isnan(x) else ("number", x)
        return ("number", Decimal(text))
    if dt == XSD + "string":
        return ("string", text)
    if dt == XSD + "boolean":
        return ("boolean", text in ("true", "1"))
    if dt == XSD + "dateTime":
        return _moment("dateTime", datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
                       if not text.startswith("-") and "T24" not in text else None)
    if dt == XSD + "date":
        m = _DATE.match(text)
        if text.startswith("-") or len(m.group(1)) > 4:
            return None
        day = datetime.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        return _zoned("date", day, m.group(4))
    return None


def _moment(kind, value):
    if value is None:
        return None
    return (kind + ("z" if value.tzinfo else ""), value)


def _zoned(kind, day, tz):
    return (kind + ("z" if tz else ""), (day, tz or ""))


def compare(a, b) -> int | None:
    """-1, 0 or 1 as a < b, a = b, a > b, or None when they cannot be compared (which SHACL
    counts as a failed comparison)."""
    x, y = _sortable(a), _sortable(b)
    if x is None or y is None or x[0] != y[0]:
        return None
    x, y = x[1], y[1]
    if isinstance(x, tuple):  # a date and its time zone: dates in different zones are not ordered here
        if x[1] != y[1]:
            return None
        x, y = x[0], y[0]
    return (x > y) - (x < y)


# ---- node kinds and languages ----------------------------------------------------------

NODE_KINDS = {
    SH + "IRI": (True, False, False), SH + "BlankNode": (False, True, False), SH + "Literal": (False, False, True),
    SH + "BlankNodeOrIRI": (True, True, False), SH + "BlankNodeOrLiteral": (False, True, True),
    SH + "IRIOrLiteral": (True, False, True)}


def node_kind_ok(kind: str, v) -> bool:
    iri, blank, literal = NODE_KINDS[kind]
    return (iri and is_iri(v)) or (blank and is_blank(v)) or (literal and is_literal(v))


def lang_matches(tag: str, lang_range: str) -> bool:
    """SPARQL's langMatches (RFC 4647 basic filtering)."""
    tag, lang_range = tag.lower(), lang_range.lower()
    if lang_range == "*":
        return bool(tag)
    return tag == lang_range or tag.startswith(lang_range + "-")


def text_of(v) -> str:
    """An IRI, or a literal's lexical form (SPARQL's STR)."""
    return v if isinstance(v, str) else v[0]


def regex(pattern: str, flags: str):
    """A compiled SPARQL REGEX (XPath flags s, m, i, x, q)."""
    bits = 0
    for f in flags:
        if f not in "smixq":
            raise ValueError(f"unknown regex flag '{f}'")
        bits |= {"s": re.S, "m": re.M, "i": re.I, "x": re.X, "q": 0}[f]
    if "q" in flags:
        return re.compile(re.escape(pattern), bits)
    return re.compile(pattern if "m" in flags else _end_anchors(pattern), bits)


def _end_anchors(pattern: str) -> str:
    """The pattern with each `$` anchor (outside a character class, not escaped) written `\\Z`:
    in XPath, `$` without the m flag matches at the end of the string only, where Python's
    also matches before a final newline ("a\\n" would match "^a$")."""
    out, i, in_class = [], 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
            if pattern[i + 1:i + 2] == "]":  # a ']' first in a class is a literal
                out.append("[]")
                i += 2
                continue
        elif ch == "$":
            ch = r"\Z"
        out.append(ch)
        i += 1
    return "".join(out)
