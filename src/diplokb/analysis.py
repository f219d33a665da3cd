"""What a SPARQL request asks for, read from a real parse of it (rdflib's SPARQL 1.1 grammar).

The endpoint refuses updates and SERVICE, and takes its dataset from FROM / FROM NAMED: each is
decided here on the parse tree, never on the text, so no quoting, comment or escape trick can
hide a SERVICE from the check (docs/endpoint.md says why rdflib's parser, and what it costs).
Results are values (`Analysis` or `Refusal`) and are cached by query text.
"""
from __future__ import annotations

import _thread
import sys

from .records import Row, field

BASE_IRI = "https://w3id.org/diplokb/"  # relative IRIs in queries resolve against it
MAX_NESTING = 400  # groups/parentheses a query may nest (deeper is refused, not parsed)
_STACK_BYTES = 64 * 1024 * 1024  # virtual: only the pages the parse touches are used
_RECURSION = 20_000
_INLINE_NESTING = 12  # shallower queries parse in the caller's thread, at its recursion limit


# (Named tuples, not dataclasses, and threading and functools imported only for a parse:
# `diplokb query` imports this module at start-up, and dataclasses with inspect cost it ~10 ms.)
class Analysis(Row):
    """A read-only query: its form and the dataset it names (absolute IRIs, in order)."""

    __slots__ = ()
    _fields = ("form", "default_graphs", "named_graphs")

    def __new__(cls, form: str, default_graphs: tuple = (), named_graphs: tuple = ()):
        return tuple.__new__(cls, (form, default_graphs, named_graphs))

    form = field(0, "SELECT, ASK, CONSTRUCT or DESCRIBE")
    default_graphs = field(1, "FROM")
    named_graphs = field(2, "FROM NAMED")


class Refusal(Row):
    """Why a request is not run; `kind` is 'update', 'service', 'syntax' or 'nesting'."""

    __slots__ = ()
    _fields = ("kind", "message")

    def __new__(cls, kind: str, message: str):
        return tuple.__new__(cls, (kind, message))

    kind = field(0)
    message = field(1)


_FORMS = {"SelectQuery": "SELECT", "AskQuery": "ASK", "ConstructQuery": "CONSTRUCT",
          "DescribeQuery": "DESCRIBE"}


# A query whose text has none of these (in any case) can name neither SERVICE nor a dataset:
# SPARQL keywords are spelt with these letters or with \\u escapes, which a parser expands
# first. Such a query need not be parsed here; an update in it fails pyoxigraph's query parser,
# and Store.query then asks `analyse(..., parse=True)` why, for the message.
def _may_name_service_or_dataset(sparql: str) -> bool:
    low = sparql.lower()  # (a case-insensitive regex took 0.12 ms on a 1.7 KB query; this 5 µs)
    return "service" in low or "from" in low or "\\u" in low


_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"(){}[]")  # (ASCII: never part of a UTF-8 sequence)


def analyse(sparql: str, prefixes: dict[str, str] | None = None, *, parse: bool = False) -> Analysis | Refusal:
    """The query's form and dataset, or why it is refused. Cached by (text, prefixes).
    The form is '' when the text needed no parse (see above) and `parse` is false."""
    # depth <= the number of opening brackets: an ordinary query has far fewer than 400, and
    # three str.count calls (~1 µs on 1.7 KB) spare it the walk (~16 µs); a deeper one is walked
    if _openings(sparql) > MAX_NESTING and (depth := _nesting(sparql)) > MAX_NESTING:
        return Refusal("nesting", f"the query nests groups or parentheses {depth} deep; "
                                  f"at most {MAX_NESTING} levels are accepted")
    if not parse and not _may_name_service_or_dataset(sparql):
        return Analysis("")
    return _cached(sparql, tuple(sorted((prefixes or {}).items())))


def _cached(sparql: str, prefixes: tuple) -> Analysis | Refusal:
    """_parse(sparql, prefixes), cached (512 texts; functools is imported on first use)."""
    global _cached
    import functools

    cached = functools.lru_cache(maxsize=512)(_parse)
    _cached = cached  # (two threads may both make one: either will do)
    return cached(sparql, prefixes)


def _parse(sparql: str, prefixes: tuple) -> Analysis | Refusal:
    if _openings(sparql) <= _INLINE_NESTING or _nesting(sparql) <= _INLINE_NESTING:
        found = _analyse(sparql, dict(prefixes), deep=False)
        if not (isinstance(found, Refusal) and found.kind == "nesting"):
            return found  # else: parse again below, with room to recurse
    box: list = []
    # pyparsing recurses once per grammar rule: a thread with a big stack parses deep queries.
    # Stack size and recursion limit are process-wide: one parse at a time (it holds the GIL
    # anyway), so that two parses cannot undo each other's settings.
    import threading

    with _PARSING:
        old = threading.stack_size(_STACK_BYTES)
        try:
            t = threading.Thread(target=lambda: box.append(_analyse(sparql, dict(prefixes), deep=True)))
            t.start()
        finally:
            threading.stack_size(old)
        t.join()
    return box[0]


_PARSING = _thread.allocate_lock()  # (threading.Lock is this)


def _analyse(sparql: str, prefixes: dict, deep: bool) -> Analysis | Refusal:
    from pyparsing import ParseException

    from rdflib.plugins.sparql.parser import parseQuery, parseUpdate

    limit = sys.getrecursionlimit()
    if deep:  # only in the parse thread, whose stack is big enough
        sys.setrecursionlimit(max(limit, _RECURSION))
    try:
        try:
            tree = parseQuery(sparql)
        except ParseException as exc:
            try:
                parseUpdate(sparql)
            except Exception:  # noqa: BLE001 - not an update either: report the query error
                return Refusal("syntax", f"SPARQL syntax error at line {exc.lineno}, column {exc.col}: "
                                         f"{exc.msg}")
            return Refusal("update", "updates are not allowed: the KB is read-only")
        except RecursionError:
            return Refusal("nesting", "the query nests too deeply to be parsed")
        prologue, query = tree[0], tree[1]
        if _has_service(query):
            return Refusal("service", "SERVICE (federated query) is not allowed: "
                                      "the KB answers from itself only")
        return _dataset(prologue, query, prefixes)
    finally:
        sys.setrecursionlimit(limit)


def _openings(sparql: str) -> int:
    """How many opening brackets the text has: an upper bound of `_nesting`."""
    return sparql.count("(") + sparql.count("{") + sparql.count("[")


def _nesting(sparql: str) -> int:
    """An upper bound of how deep brackets nest (brackets in strings and comments count too)."""
    depth = deepest = 0
    for ch in sparql.encode("utf-8", "surrogatepass").translate(None, _NOT_BRACKETS):
        if ch in b"({[":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth = max(0, depth - 1)
    return deepest


def _has_service(node) -> bool:
    """Any ServiceGraphPattern anywhere in the parse tree (iterative walk: no depth limit)."""
    from rdflib.plugins.sparql.parserutils import CompValue
    from pyparsing import ParseResults

    todo = [node]
    while todo:
        n = todo.pop()
        if isinstance(n, CompValue):
            if n.name == "ServiceGraphPattern":
                return True
            todo.extend(n.values())
        elif isinstance(n, (list, tuple, ParseResults)):
            todo.extend(n)
        elif isinstance(n, dict):
            todo.extend(n.values())
    return False


def _dataset(prologue, query, prefixes: dict) -> Analysis | Refusal:
    from rdflib.plugins.sparql.algebra import translatePrologue

    try:
        p = translatePrologue(prologue, BASE_IRI, initNs=prefixes)
        default, named = [], []
        # CompValue.get(key) gives the key itself when it is missing: test membership instead
        for clause in (query["datasetClause"] if "datasetClause" in query else ()):
            if "default" in clause:
                default.append(str(p.absolutize(clause["default"])))
            else:
                named.append(str(p.absolutize(clause["named"])))
    except Exception as exc:  # noqa: BLE001 - e.g. an undeclared prefix in FROM
        return Refusal("syntax", f"SPARQL error in the dataset clause: {exc}")
    return Analysis(_FORMS.get(query.name, query.name), tuple(default), tuple(named))
