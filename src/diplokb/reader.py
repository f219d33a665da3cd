"""YAML nodes -> typed records (model.py): the field kinds of the model's docstring, each
problem with the file, line and column of the node it is about. loader.py reads the files
and composes their nodes; this module reads the nodes.

A build reads every node of every KB file here once, so the common case is kept short: a
field's kind is looked up once per class (`_fields`), not parsed at each value, and a value
of a kind that takes one string is read by one method (`_SCALARS`). Anchors and aliases are
refused before the nodes are composed (loader.compose_file), so no node is reached twice.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from functools import lru_cache

import yaml

from . import model
from .errors import Problem, SourceLocation, did_you_mean
from .lexical import DATE_RE, DECIMAL_RE, INTEGER_RE, LANGUAGE_TAG_RE, MAX_NUMBER_CHARS, number_hint, shown
from .model import SLUG_RE, Date, Period, Quote, Ref
from .vocabularies import vocab_hint

_NULLS = {"", "~", "null", "Null", "NULL"}
_SAFE_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp")}
_QUOTED = ("'", '"', "|", ">")  # scalar styles that are never null
ScalarNode, SequenceNode, MappingNode = yaml.ScalarNode, yaml.SequenceNode, yaml.MappingNode
_slug = SLUG_RE.fullmatch
# SourceLocation(path, line, column) without the named tuple's Python-level __new__ (a location
# is made for every record and reference: half the time)
_location = tuple.__new__


class _Reader:
    """Reads one file's nodes; problems are appended to a shared list."""

    def __init__(self, path: str, problems: list[Problem], vocabularies: dict):
        self.path = path
        self.problems = problems
        self.vocabularies = vocabularies
        self.source_id = ""
        self.broken_ids: set[str] = set()  # ids of records that had errors
        self.refs: list = []  # (Ref, kinds) read in the current top-level record
        self.quotes: list = []  # and its quotes

    # -- helpers -------------------------------------------------------------------------
    def loc(self, node) -> SourceLocation:
        mark = node.start_mark
        return _location(SourceLocation, (self.path, mark.line + 1, mark.column + 1))

    def error(self, node, message: str, hint: str | None = None) -> None:
        self.problems.append(Problem(self.loc(node), message, hint=hint))

    def visit(self, node) -> bool:
        """False (with an error) when a node has a tag other than YAML's core ones."""
        if node.tag not in _SAFE_TAGS:
            self.error(node, f"tag {node.tag!r} is not allowed; write plain YAML")
            return False
        return True

    @staticmethod
    def is_null(node) -> bool:
        return type(node) is ScalarNode and node.style not in _QUOTED and node.value in _NULLS

    def mapping(self, node, what: str) -> dict | None:
        """{key: (key_node, value_node)} of a mapping node, rejecting duplicate keys."""
        if not self.visit(node):
            return None
        if type(node) is not MappingNode:
            self.error(node, f"{what} must be a mapping (key: value lines)")
            return None
        out: dict = {}
        for pair in node.value:
            key_node = pair[0]
            if type(key_node) is not ScalarNode:
                self.error(key_node, "keys must be plain strings")
                continue
            key = key_node.value
            if key in out:
                first = self.loc(out[key][0])
                self.error(key_node, f"duplicate key '{key}' (first given at line {first.line})")
                continue
            out[key] = pair
        return out

    def sequence(self, node, what: str) -> list | None:
        if not self.visit(node):
            return None
        if type(node) is not SequenceNode:
            self.error(node, f"{what} must be a list")
            return None
        return node.value

    def string(self, node, what: str) -> str | None:
        if type(node) is not ScalarNode:
            self.error(node, f"'{what}' must be a single value, not a list or mapping")
            return None
        if node.tag not in _SAFE_TAGS:
            self.visit(node)
            return None
        text = node.value
        if not text.strip():
            self.error(node, f"'{what}' is empty")
            return None
        return text

    # -- field kinds ---------------------------------------------------------------------
    def value(self, kind: str, node, name: str):
        return self.read(_kind(kind), node, name)

    def read(self, spec: tuple, node, name: str):
        """The value of a node of the field kind `spec` (`_kind`), or None after an error
        (a kind with several values: a tuple, of those read without an error)."""
        head, arg, single = spec
        if single is None:
            text = self.string(node, name)
            if text is None:
                return None
            return _SCALARS[head](self, node, text, arg, name)
        if head == "text" and type(node) is ScalarNode:
            items = [node]
        else:
            items = self.sequence(node, f"'{name}'")
            if items is None:
                return ()
        out = []
        if head == "items":
            cls, what = model.ITEM_CLASSES[arg], f"an item of '{name}'"
            for item in items:
                record = self.record(cls, item, what)
                if record is not None:
                    out.append(record)
        else:
            for item in items:
                record = self.read(single, item, name)
                if record is not None:
                    out.append(record)
        return tuple(out)

    def _str(self, node, text: str, arg: str, name: str):
        return text

    def _quote(self, node, text: str, arg: str, name: str):
        quote = Quote(self.source_id, text, self.loc(node))
        self.quotes.append(quote)
        return quote

    def _slug(self, node, text: str, arg: str, name: str):
        if _slug(text) is None:
            self.error(node, f"{shown(text)} is not a valid id",
                       "use lower-case letters, digits and single hyphens, e.g. 'hun-sen'")
            return None
        return text

    def _ref(self, node, text: str, arg: str, name: str):
        ref = Ref(text, self.loc(node))
        self.refs.append((ref, arg))
        return ref

    def _vocab(self, node, text: str, arg: str, name: str):
        concepts = self.vocabularies.get(arg, {})
        if text not in concepts:
            self.error(node, f"unknown {arg} {shown(text)}",
                       vocab_hint(text, arg, concepts, getattr(self.vocabularies, "synonyms", {})))
            return None
        return Ref(text, self.loc(node))

    def _integer(self, node, text: str, arg: str, name: str):
        if len(text) > MAX_NUMBER_CHARS or not INTEGER_RE.fullmatch(text):
            self.error(node, f"'{name}' must be a whole number, got {shown(text)}", number_hint(text, None))
            return None
        return text.lstrip("0") or "0"

    def _decimal(self, node, text: str, arg: str, name: str):
        if len(text) > MAX_NUMBER_CHARS or not DECIMAL_RE.fullmatch(text):
            self.error(node, f"'{name}' must be a number written with digits, got {shown(text)}",
                       number_hint(text, None))
            return None
        return text

    def _lang(self, node, text: str, arg: str, name: str):
        if not LANGUAGE_TAG_RE.fullmatch(text):
            self.error(node, f"'{name}': {shown(text)} is not a BCP 47 language tag", "e.g. 'en', 'km', 'zh-Hans'")
            return None
        return text

    def _date(self, node, text: str, arg: str, name: str):
        return self.date(node, text, name)

    def date(self, node, text: str, name: str):
        parts = text.split("/")
        if len(parts) > 2:
            self.error(node, f"'{name}': '{text}' is not a date or a range 'start/end'")
            return None
        dates = []
        for part in parts:
            part = part.strip(" ")
            m = DATE_RE.fullmatch(part)
            if not m:
                self.error(node, f"'{name}': {shown(part)} is not a date", number_hint(
                    part, "write YYYY, YYYY-MM or YYYY-MM-DD, at the precision the source gives"))
                return None
            year, month, day = m.groups()
            try:
                dt.date(int(year), int(month or 1), int(day or 1))
            except ValueError as exc:
                self.error(node, f"'{name}': '{part}' is an impossible date ({exc})")
                return None
            dates.append(Date(part))
        if name in ("start", "end", "year"):
            if len(dates) > 1:
                self.error(node, f"'{name}' takes a single date, not a range")
                return None
            return dates[0]
        return Period(dates[0], dates[1] if len(dates) == 2 else None)

    def record(self, cls, node, what: str, extra: dict | None = None):
        """Reads a mapping node as an instance of `cls` (a model data class), with the
        fields in `extra` (not read from YAML) set too."""
        entries = self.mapping(node, what)
        if entries is None:
            return None
        fields, required = _fields(cls)
        values: dict = {}
        failed: set = set()
        ok = True
        problems = self.problems
        for key, (key_node, value_node) in entries.items():
            spec = fields.get(key)
            if spec is None:
                self.error(key_node, f"unknown field '{key}' in {cls.__name__.lower()}",
                           did_you_mean(key, fields) or f"fields: {', '.join(fields)}")
                ok = False
                continue
            if type(value_node) is ScalarNode and value_node.style not in _QUOTED and value_node.value in _NULLS:
                continue  # null: as if not given
            n_before = len(problems)
            value = self.read(spec, value_node, key)
            if len(problems) > n_before:
                ok = False
                failed.add(key)
            elif value is not None:
                values[key] = value
        for name in required:
            if name not in values and name not in failed:
                what_cls = cls.__name__.lower()
                if name in entries:
                    self.error(entries[name][1], f"required field '{name}' of {what_cls} is empty")
                else:
                    self.error(node, f"{what_cls} is missing required field '{name}'")
                ok = False
        if not ok:
            if isinstance(values.get("id"), str):
                self.broken_ids.add(values["id"])
            return None
        if extra:
            values.update(extra)
        values["loc"] = self.loc(node)
        return _make(cls, values)


# How each kind that takes one string is read (after `_Reader.string`).
_SCALARS = {"str": _Reader._str, "quote": _Reader._quote, "slug": _Reader._slug, "ref": _Reader._ref,
            "vocab": _Reader._vocab, "integer": _Reader._integer, "decimal": _Reader._decimal,
            "lang": _Reader._lang, "date": _Reader._date}
# The kinds that hold several values, with the kind of each.
_MANY = {"strs": "str", "refs": "ref", "vocabs": "vocab", "text": "quote", "items": None}


@lru_cache(maxsize=None)
def _kind(kind: str) -> tuple:
    """A field kind ("ref:person", "items:Attendance") as (head, argument, the kind of each
    value for a kind with several values, else None)."""
    head, _, arg = kind.partition(":")
    if head in _MANY:
        return head, arg, _kind(f"{_MANY[head]}:{arg}") if _MANY[head] else ()
    if head not in _SCALARS:
        raise AssertionError(kind)
    return head, arg, None


@lru_cache(maxsize=None)
def _fields(cls) -> tuple[dict, tuple]:
    """The fields of a model class read from YAML (name -> `_kind`), and the required ones."""
    fields = {f.name: f for f in dataclasses.fields(cls) if "yaml" in f.metadata}
    return ({name: _kind(f.metadata["yaml"]) for name, f in fields.items()},
            tuple(name for name, f in fields.items() if f.metadata["required"]))


def _make(cls, values: dict):
    """cls(**values) for a model data class, made faster: the instance's attributes are set
    in its __dict__ at once, its defaults first, instead of by the frozen data class's
    __init__ (one object.__setattr__ per field; a build makes tens of thousands of records).
    The same object either way (fields, equality, hash, repr); a class with a field without a
    plain default, or a value for no field, goes through its __init__ (which says what is wrong)."""
    defaults = _defaults(cls)
    if defaults is None or not values.keys() <= defaults.keys():
        return cls(**values)
    record = object.__new__(cls)
    attributes = record.__dict__
    attributes.update(defaults)
    attributes.update(values)
    return record


@lru_cache(maxsize=None)
def _defaults(cls) -> dict | None:
    """Every field's default, or None where a field has none or a default_factory, or the
    class has a __post_init__ (which _make would skip)."""
    if hasattr(cls, "__post_init__"):
        return None
    out = {}
    for f in dataclasses.fields(cls):
        if f.default is dataclasses.MISSING or not f.init:
            return None
        out[f.name] = f.default
    return out


def _yaml_fields(cls) -> dict:
    """The fields of a model class that are read from YAML, by name."""
    return {f.name: f for f in dataclasses.fields(cls) if "yaml" in f.metadata}
