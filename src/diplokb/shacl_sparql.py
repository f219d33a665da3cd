"""SPARQL-based constraints (SHACL 5) for the engine in shacl.py.

Each query is parsed when the shapes are read (the simplest by shacl_sparql_scan.py, any other
by rdflib's SPARQL parser, into its algebra), and refused, before anything runs, if it uses
what SHACL forbids or this engine cannot evaluate exactly: SERVICE (a request to another
server during a build), MINUS, VALUES, a nested SELECT, GRAPH, BIND of $this, LIMIT/OFFSET,
$shapesGraph, $PATH outside a property shape, or a SELECT that does not return $this. $PATH is
replaced by the shape's path, $currentShape by the shape, the constraint's sh:prefixes are
declared. $this is pre-bound per focus node as SHACL defines it: every occurrence replaced by
the focus node (`prebind`; pyoxigraph's own substitutions join the binding afterwards, which
is not SHACL's meaning inside BIND or an inner group). A query whose top level is a basic graph
pattern that binds $this, with filters, has the same solutions for each focus node as the query
run once with $this free, so such a query runs once and its solutions are grouped by $this.
"""
from __future__ import annotations

import re

from .rdf import nt
from .shacl_values import SH

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
_SERVICE = re.compile(r"\bSERVICE\b", re.I)
ALL = None  # the constraint may read any triple


def path_sparql(path) -> str:
    kind, arg = path
    if kind == "p":
        return f"<{arg}>"
    if kind == "seq":
        return "(" + "/".join(path_sparql(p) for p in arg) + ")"
    if kind == "alt":
        return "(" + "|".join(path_sparql(p) for p in arg) + ")"
    if kind == "inv":
        return f"^({path_sparql(arg)})"
    return f"({path_sparql(arg)}){ {'zom': '*', 'oom': '+', 'zoo': '?'}[kind]}"


_CODEPOINT = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")


def uses_service(text: str) -> bool:
    """Whether a query may contain SERVICE: the word anywhere, in any case, after SPARQL's
    codepoint escapes (`\\u0053ERVICE`) are expanded as a parser expands them first. A false
    alarm (the word in a string) only refuses the shape."""
    if "\\" in text:
        text = _CODEPOINT.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), text)
    return bool(_SERVICE.search(text))


def check_query(sparql, label: str, path=None) -> None:
    """Parses and checks a constraint's query, and records on it the text to run, whether it
    can run once for all focus nodes, and the predicates it can read (None: any)."""
    from .shacl_shapes import ShapeError

    def refuse(what: str):
        raise ShapeError(f"shape {label}: its SPARQL constraint {what}")

    text = sparql.select
    if uses_service(text):
        refuse("uses SERVICE (a request to another server while validating): refused before anything runs")
    if re.search(r"[?$]shapesGraph\b", text):
        refuse("uses $shapesGraph, which this engine does not provide")
    if re.search(r"[?$]currentShape\b", text) and not isinstance(getattr(sparql, "shape", ""), str):
        refuse("uses $currentShape in an anonymous shape")
    if re.search(r"[$?]PATH\b", text):
        if path is None:
            refuse("uses $PATH outside a property shape")
        text = re.sub(r"[$?]PATH\b", lambda m: path_sparql(path), text)
    head = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in sorted(sparql.prefixes.items()))
    sparql.query = head + text
    known = _CHECKED.get(sparql.query)
    if known is not None:
        sparql.one_pass, sparql.predicates = known
        return
    from .shacl_sparql_scan import scan

    quick = scan(sparql.query)  # the simplest queries, without importing rdflib
    if quick is not None:
        sparql.one_pass, sparql.predicates = quick
    else:
        _analyse(sparql, refuse)
    _CHECKED[sparql.query] = (sparql.one_pass, sparql.predicates)


_CHECKED: dict = {}  # query text -> (one_pass, predicates), of the queries that passed the checks


def _analyse(sparql, refuse) -> None:
    try:
        from rdflib.plugins.sparql import prepareQuery

        algebra = prepareQuery(sparql.query).algebra
    except Exception as exc:  # rdflib's parser raises several kinds; each means we cannot check it
        refuse(f"could not be parsed: {str(exc).splitlines()[0]}")
    if algebra.name != "SelectQuery":
        refuse("is not a SELECT query")
    from rdflib import Variable

    top = algebra.p
    while top.name in ("Distinct", "Reduced", "OrderBy", "Slice"):
        if top.name == "Slice":
            refuse("uses LIMIT or OFFSET, whose meaning depends on pre-binding")
        top = top.p
    if Variable("this") not in (top.get("PV") or ()):
        refuse("does not SELECT $this")
    found = {"predicates": set()}
    _walk(top.p, found, refuse, top=True)
    sparql.one_pass = _binds_this_first(top.p)
    sparql.predicates = found["predicates"]


def _walk(node, found, refuse, top=False):
    from rdflib import Variable
    from rdflib.plugins.sparql.parserutils import CompValue

    if isinstance(node, CompValue):
        name = node.name
        if name in ("Minus", "MinusGraphPattern"):
            refuse("uses MINUS, which SHACL forbids in constraints")
        if name in ("values", "ToMultiSet", "InlineData", "ValuesClause"):
            refuse("uses VALUES or a nested SELECT, which SHACL forbids in constraints")
        if name in ("Project", "SubSelect"):
            refuse("uses a nested SELECT, which SHACL forbids in constraints")
        if name in ("ServiceGraphPattern", "Service"):
            refuse("uses SERVICE (a request to another server while validating): refused before anything runs")
        if name in ("Graph", "GraphGraphPattern"):
            refuse("uses GRAPH, which this engine does not evaluate")
        if name in ("Extend", "Bind") and node.get("var") == Variable("this"):
            refuse("assigns $this (BIND ... AS $this), which SHACL forbids")
        for key, value in node.items():
            if key == "triples":
                for t in value:  # (s, p, o), or s p o s p o ... (a block not yet translated, in EXISTS)
                    if len(t) % 3:
                        found["predicates"] = ALL
                    for i in range(1, len(t), 3):
                        if found["predicates"] is not ALL:
                            _predicates(t[i], found)
            else:
                _walk(value, found, refuse)
    elif isinstance(node, (list, tuple)):
        for x in node:
            _walk(x, found, refuse)


def _predicates(p, found):
    from rdflib import URIRef
    from rdflib.paths import AlternativePath, InvPath, MulPath, SequencePath

    if isinstance(p, URIRef):
        found["predicates"].add(str(p))
    elif isinstance(p, (SequencePath, AlternativePath)):
        for a in p.args:
            if found["predicates"] is not ALL:
                _predicates(a, found)
    elif isinstance(p, InvPath):
        _predicates(p.arg, found)
    elif isinstance(p, MulPath) and p.mod == "+":
        _predicates(p.path, found)
    else:  # a variable, a negated property set, or a path that may have length zero
        found["predicates"] = ALL


def _binds_this_first(node) -> bool:
    """Whether the pattern is filters over a basic graph pattern with $this in a triple."""
    from rdflib import Variable

    while node.name == "Filter":
        node = node.p
    return node.name == "BGP" and any(Variable("this") in (t[0], t[2]) for t in node.triples)


def predicates_read(select: str, prefixes: dict):
    """The predicates a SELECT can read (a set of IRIs), or None when it can read any triple."""
    from .shacl_shapes import Sparql

    sparql = Sparql(node=None, select=select, messages=(), prefixes=prefixes)
    check_query(sparql, "(query)")
    return sparql.predicates


def solutions(store, sparql, focus, shape_node, cache: dict):
    """The solutions (dicts of variable name -> pyoxigraph term) of a constraint at a focus node."""
    from .shacl_shapes import term

    if sparql.one_pass:
        grouped = cache.get(id(sparql))
        if grouped is None:
            grouped = cache[id(sparql)] = {}
            for row in _rows(store.query(_with_shape(sparql.query, shape_node))):
                grouped.setdefault(term(row["this"]), []).append(row)
        return grouped.get(focus, [])
    if not isinstance(focus, (str, tuple)):
        from .shacl_shapes import ShapeError

        raise ShapeError(f"shape {shape_node}: its SPARQL constraint needs $this pre-bound, and a blank node "
                         "(the focus node here) cannot be written into a query")
    rows = _rows(store.query(prebind(_with_shape(sparql.query, shape_node), nt(focus))))
    for row in rows:
        row["this"] = to_ox(focus)
    return rows


_TOKEN = re.compile(r'''"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^'\\]|\\.|'(?!''))*\'\'\'|"(?:[^"\\\n]|\\.)*"'''
                    r"""|'(?:[^'\\\n]|\\.)*'|<[^<>"{}|^`\\\s]*>|#[^\n]*|[?$]\w+|\*|\bSELECT\b|\bWHERE\b|[{}()]""",
                    re.I)


_BOUND_THIS = re.compile(r"\bBOUND\s*\(\s*[?$]this\s*\)", re.I)


def prebind(query: str, value: str) -> str:
    """SHACL's pre-binding of $this: every occurrence of the variable replaced by the focus node
    (N-Triples text), except where the SELECT clause lists it (the caller adds it back)."""
    query = _BOUND_THIS.sub(" (true) ", query)  # BOUND takes a variable: a pre-bound one is bound
    out, last, state, depth, listed = [], 0, "head", 0, 0
    for m in _TOKEN.finditer(query):
        tok = m.group(0)
        low = tok.lower()
        this = tok[0] in "?$" and tok[1:] == "this"
        if state == "head":
            state = "projection" if low == "select" else "head"
        elif state == "projection":
            if low == "where" or tok == "{":
                if not listed:  # nothing else was projected
                    out.append(query[last:m.start()] + " * ")
                    last = m.start()
                state = "body"
            elif tok in "()":
                depth += 1 if tok == "(" else -1
                listed += tok == "("
            elif this:
                out.append(query[last:m.start()] + ("" if depth == 0 else value))
                last = m.end()
            elif tok[0] in "?$" or tok == "*":
                listed += depth == 0
        elif this:
            out.append(query[last:m.start()] + value)
            last = m.end()
    out.append(query[last:])
    return "".join(out)


def _with_shape(query: str, shape_node) -> str:
    """$currentShape replaced by the shape's IRI (check_query refuses it in an anonymous shape)."""
    return _CURRENT.sub(f"<{shape_node}>", query) if isinstance(shape_node, str) else query


_CURRENT = re.compile(r"[?$]currentShape\b")


def _rows(results) -> list:
    names = [v.value for v in results.variables]
    return [{n: sol[n] for n in names if sol[n] is not None} for sol in results]


def to_ox(t):
    import pyoxigraph as ox

    if isinstance(t, str):
        return ox.NamedNode(t)
    if isinstance(t, tuple):
        if t[2]:
            return ox.Literal(t[0], language=t[2])
        return ox.Literal(t[0], datatype=ox.NamedNode(t[1])) if t[1] else ox.Literal(t[0])
    return t


def message(template: str, row: dict) -> str:
    """A message with {?var} / {$var} replaced by the solution's values."""
    return re.sub(r"\{[?$](\w+)\}", lambda m: row[m.group(1)].value if m.group(1) in row else "", template)


COMPONENT = SH + "SPARQLConstraintComponent"
