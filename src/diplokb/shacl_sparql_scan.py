"""A quick reading of the simplest SPARQL constraints, so that a build need not import rdflib's
SPARQL parser (0.2-0.5 s) for them: a SELECT of plain variables (with $this) over triples
(predicates, paths of IRIs with / | ^ +, blank-node property lists) and FILTERs (which may
hold EXISTS / NOT EXISTS over the same forms), and nothing after the closing brace.

`scan(query)` gives what shacl_sparql's rdflib analysis gives for such a query (whether it can
run once for all focus nodes, and the predicates it reads), or None for anything else (then
rdflib reads it). tests/test_shacl.py checks the two agree on every query it has.
"""
from __future__ import annotations

import re

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
_TOKEN = re.compile(r'''
 (?P<ws>\s+|\#[^\n]*)
|(?P<str>"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^'\\]|\\.|'(?!''))*\'\'\'|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
|(?P<iri><[^<>"{}|^`\\\s]*>)
|(?P<var>[?$][A-Za-z_0-9]+)
|(?P<pname>(?:[A-Za-z][\w-]*)?:(?:[\w-]|\.(?=[\w-]))*)
|(?P<num>[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?))
|(?P<lang>@[a-zA-Z]+(?:-[a-zA-Z0-9]+)*)
|(?P<dt>\^\^)
|(?P<word>[A-Za-z_][A-Za-z_0-9]*)
|(?P<op>&&|\|\||!=|<=|>=|[{}()\[\];,./|^+*?!=<>-])
''', re.X)


class _Unknown(Exception):
    """A form this quick reading does not handle: rdflib reads the query."""


def scan(query: str):
    """(one_pass, predicates) of a simple query, or None."""
    tokens = []
    pos = 0
    while pos < len(query):
        m = _TOKEN.match(query, pos)
        if m is None:
            return None
        pos = m.end()
        if m.lastgroup != "ws":
            tokens.append((m.lastgroup, m.group(0)))
    try:
        return _Reader(tokens).query()
    except (_Unknown, IndexError):
        return None


class Cursor:
    """A position in a query's tokens (kind, text), as `scan` makes them; shape_reach_sparql's
    reading walks them too."""

    def __init__(self, tokens):
        self.t, self.i, self.prefixes = tokens, 0, {}

    def peek(self, k=0):
        return self.t[self.i + k] if self.i + k < len(self.t) else ("end", "")

    def next(self):
        tok = self.t[self.i]
        self.i += 1
        return tok

    def word(self, k=0) -> str:
        kind, text = self.peek(k)
        return text.upper() if kind == "word" else ""


class _Reader(Cursor):
    def __init__(self, tokens):
        super().__init__(tokens)
        self.predicates, self.this_bound = set(), False

    def expect(self, text):
        if self.next()[1] != text:
            raise _Unknown

    def query(self):
        while self.word() == "PREFIX":
            self.next()
            kind, name = self.next()
            kind2, iri = self.next()
            if kind != "pname" or not name.endswith(":") or kind2 != "iri":
                raise _Unknown
            self.prefixes[name[:-1]] = iri[1:-1]
        if self.word() != "SELECT":
            raise _Unknown
        self.next()
        if self.word() in ("DISTINCT", "REDUCED"):
            self.next()
        projected = []
        while self.peek()[0] == "var":
            projected.append(self.next()[1][1:])
        if "this" not in projected:
            raise _Unknown
        if self.word() == "WHERE":
            self.next()
        self.expect("{")
        self.body(top=True)
        if self.i != len(self.t):
            raise _Unknown  # GROUP BY, ORDER BY, LIMIT, VALUES ...
        return self.this_bound, self.predicates

    def body(self, top: bool):
        while True:
            kind, text = self.peek()
            if text == "}":
                self.next()
                return
            if text == ".":
                self.next()
            elif self.word() == "FILTER":
                self.next()
                self.filter()
            elif kind in ("var", "iri", "pname", "str", "num") or text == "[":
                self.triples(top)
            else:
                raise _Unknown  # OPTIONAL, UNION, MINUS, BIND, GRAPH, a group ...

    def filter(self):
        if self.word() == "NOT" and self.word(1) == "EXISTS" and self.peek(2)[1] == "{":
            self.i += 3
            self.body(top=False)
        elif self.word() == "EXISTS" and self.peek(1)[1] == "{":
            self.i += 2
            self.body(top=False)
        elif self.peek()[1] == "(" or (self.peek()[0] in ("word", "iri", "pname") and self.peek(1)[1] == "("):
            if self.peek()[1] != "(":
                self.next()
            self.expression()
        else:
            raise _Unknown

    def expression(self):
        self.expect("(")
        depth = 1
        while depth:
            kind, text = self.peek()
            if text in ("{", "}", "[", "]", ".", ";") or kind == "end":
                raise _Unknown
            if self.word() == "EXISTS" and self.peek(1)[1] == "{":
                self.i += 2
                self.body(top=False)
                continue
            self.next()
            depth += {"(": 1, ")": -1}.get(text, 0)

    def term(self, top: bool):
        kind, text = self.next()
        if kind == "var":
            if top and text[1:] == "this":
                self.this_bound = True
        elif kind == "str":
            if self.peek()[0] == "lang":
                self.next()
            elif self.peek()[0] == "dt":
                self.next()
                if self.next()[0] not in ("iri", "pname"):
                    raise _Unknown
        elif kind == "pname":
            self.iri(text)
        elif kind not in ("iri", "num") and not (kind == "word" and text.lower() in ("true", "false")):
            raise _Unknown

    def node(self, top: bool):
        if self.peek()[1] == "[":
            self.next()
            if self.peek()[1] != "]":
                self.properties(top)
            self.expect("]")
        else:
            self.term(top)

    def triples(self, top: bool):
        blank = self.peek()[1] == "["
        self.node(top)
        if blank and self.peek()[1] in (".", "}"):
            return
        self.properties(top)

    def properties(self, top: bool):
        while True:
            self.path()
            self.node(top)
            while self.peek()[1] == ",":
                self.next()
                self.node(top)
            if self.peek()[1] != ";":
                return
            while self.peek()[1] == ";":
                self.next()
            if self.peek()[1] in (".", "]", "}"):
                return

    def iri(self, pname: str) -> str:
        prefix, local = pname.split(":", 1)
        if prefix not in self.prefixes:
            raise _Unknown
        return self.prefixes[prefix] + local

    def path(self):
        self.sequence()
        while self.peek()[1] == "|":
            self.next()
            self.sequence()

    def sequence(self):
        self.step()
        while self.peek()[1] == "/":
            self.next()
            self.step()

    def step(self):
        if self.peek()[1] == "^":
            self.next()
        kind, text = self.next()
        if text == "(":
            self.path()
            self.expect(")")
        elif kind == "iri":
            self.predicates.add(text[1:-1])
        elif kind == "pname":
            self.predicates.add(self.iri(text))
        elif kind == "word" and text == "a":
            self.predicates.add(RDF_TYPE)
        else:
            raise _Unknown  # a variable, a negated property set
        if self.peek()[1] == "+":
            self.next()
        elif self.peek()[1] in ("*", "?"):
            raise _Unknown  # a path that may be empty reaches every node
