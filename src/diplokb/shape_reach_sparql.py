"""What a SPARQL constraint can read from its focus node, for shape_reach.py: the query's triple
patterns as a graph over its variables, walked from $this.

The reading takes the forms shacl_sparql_scan reads (a SELECT of plain variables over triples,
paths of IRIs with / | ^ +, blank-node property lists, FILTERs with EXISTS / NOT EXISTS) and
gives the patterns; `lookups(query)` walks them from $this: a pattern one of whose ends is
reached is read from that end (forward along its path, or backward), and its other end is
reached through it. A pattern neither end of which is ever reached (it reads every triple of
its predicate), a path with `+`, or any form the reading does not know raises Unbounded: the
caller then falls back to the rule that does not read the shapes.

The variables of an EXISTS block are those of the enclosing group when that group uses them
(SPARQL substitutes its bindings), else the block's own: two sibling blocks that both use ?d
without the group using it have two variables, neither reached through the other.
"""
from __future__ import annotations

from .shacl_sparql_scan import _TOKEN, RDF_TYPE, Cursor


class Unbounded(Exception):
    """What a shape reads cannot be bounded by this analysis (the message says why)."""


def patterns(query: str) -> list:
    """The triple patterns of a query: (block, subject, path, object) with terms ('var', (block, name)),
    ('iri', iri) or ('lit', text) and paths as shacl.py's path tuples; raises Unbounded for a form
    it does not read."""
    tokens = []
    pos = 0
    while pos < len(query):
        m = _TOKEN.match(query, pos)
        if m is None:
            raise Unbounded(f"a SPARQL constraint has text this reading does not know at {query[pos:pos + 20]!r}")
        pos = m.end()
        if m.lastgroup != "ws":
            tokens.append((m.lastgroup, m.group(0)))
    reader = _Reader(tokens)
    try:
        reader.query()
    except IndexError:
        raise Unbounded("a SPARQL constraint ends early") from None
    return reader.resolved()


def lookups(query: str) -> set:
    """The lookup paths (see shape_reach) a query reads from $this."""
    pats = patterns(query)
    reached: dict = {("var", "this"): {()}}
    todo = list(range(len(pats)))
    out: set = set()
    progress = True
    while todo and progress:
        progress = False
        for i in list(todo):
            block, s, path, o = pats[i]
            if s in reached:
                start, end, steps = s, o, expand(path, False)
            elif o in reached:
                start, end, steps = o, s, expand(path, True)
            else:
                continue
            todo.remove(i)
            progress = True
            paths = set()
            for prefix in reached[start]:
                for seq in steps:
                    full = prefix + seq
                    out.update(full[:k] for k in range(len(prefix) + 1, len(full) + 1))
                    paths.add(full)
            # A variable is read along the first route that reaches it through a pattern of its
            # own block: any solution's value of it is reached that way too (a pattern of an
            # EXISTS block holds only inside it, so it gives no route to the group's variables).
            if end[0] == "var" and end not in reached and end[1][0] == block:
                reached[end] = paths
    if todo:
        raise Unbounded("a SPARQL constraint has a triple pattern not connected to $this")
    return out


def expand(path: tuple, inverse: bool = False) -> list:
    """The step sequences of a path, as shacl_shapes and this module's reading give paths (an
    alternative gives one per member, zero-or-one the empty sequence too); `*` and `+` raise
    Unbounded."""
    kind, arg = path
    if kind == "p":
        return [((arg, inverse),)]
    if kind == "inv":
        return expand(arg, not inverse)
    if kind == "alt":
        return [seq for p in arg for seq in expand(p, inverse)]
    if kind == "zoo":
        return [()] + expand(arg, inverse)
    if kind == "seq":
        out = [()]
        for p in (reversed(arg) if inverse else arg):
            out = [a + b for a in out for b in expand(p, inverse)]
        return out
    raise Unbounded(f"a path with {'*' if kind == 'zom' else '+'} reads an unbounded number of steps")


class _Reader(Cursor):
    """A recursive-descent reading of the query's tokens (those of shacl_sparql_scan)."""

    def __init__(self, tokens):
        super().__init__(tokens)
        self.blocks: list = []  # (parent block or None, patterns)
        self.fresh = 0

    def expect(self, text):
        if self.next()[1] != text:
            raise Unbounded(f"a SPARQL constraint has a form this reading does not know (expected {text!r})")

    def unknown(self, what: str):
        raise Unbounded(f"a SPARQL constraint uses {what}, which this reading does not know")

    def query(self):
        while self.word() == "PREFIX":
            self.next()
            kind, name = self.next()
            kind2, iri = self.next()
            if kind != "pname" or not name.endswith(":") or kind2 != "iri":
                self.unknown("a PREFIX form")
            self.prefixes[name[:-1]] = iri[1:-1]
        if self.word() != "SELECT":
            self.unknown("a query form other than SELECT")
        self.next()
        if self.word() in ("DISTINCT", "REDUCED"):
            self.next()
        while self.peek()[0] == "var":
            self.next()
        if self.word() == "WHERE":
            self.next()
        self.expect("{")
        self.body(self.block(None))
        if self.i != len(self.t):
            self.unknown("a solution modifier (GROUP BY, ORDER BY, LIMIT, VALUES ...)")

    def block(self, parent) -> int:
        self.blocks.append((parent, []))
        return len(self.blocks) - 1

    def body(self, b: int):
        while True:
            kind, text = self.peek()
            if text == "}":
                self.next()
                return
            if text == ".":
                self.next()
            elif self.word() == "FILTER":
                self.next()
                self.filter(b)
            elif kind in ("var", "iri", "pname", "str", "num") or text == "[":
                self.triples(b)
            else:
                self.unknown(f"{text!r} in a group")

    def filter(self, b: int):
        if self.word() == "NOT" and self.word(1) == "EXISTS" and self.peek(2)[1] == "{":
            self.i += 3
            self.body(self.block(b))
        elif self.word() == "EXISTS" and self.peek(1)[1] == "{":
            self.i += 2
            self.body(self.block(b))
        elif self.peek()[1] == "(" or (self.peek()[0] in ("word", "iri", "pname") and self.peek(1)[1] == "("):
            if self.peek()[1] != "(":
                self.next()
            self.expression(b)
        else:
            self.unknown("a FILTER form")

    def expression(self, b: int):
        self.expect("(")
        depth = 1
        while depth:
            kind, text = self.peek()
            if text in ("{", "}", "[", "]", ".", ";") or kind == "end":
                self.unknown("an expression form")
            if self.word() == "EXISTS" and self.peek(1)[1] == "{":
                self.i += 2
                self.body(self.block(b))
                continue
            self.next()
            depth += {"(": 1, ")": -1}.get(text, 0)

    def term(self):
        kind, text = self.next()
        if kind == "var":
            return ("var", text[1:])
        if kind == "str":
            if self.peek()[0] == "lang":
                self.next()
            elif self.peek()[0] == "dt":
                self.next()
                if self.next()[0] not in ("iri", "pname"):
                    self.unknown("a literal's datatype form")
            return ("lit", text)
        if kind == "iri":
            return ("iri", text[1:-1])
        if kind == "pname":
            return ("iri", self.iri(text))
        if kind == "num" or (kind == "word" and text.lower() in ("true", "false")):
            return ("lit", text)
        self.unknown(f"the term {text!r}")

    def node(self, b: int):
        if self.peek()[1] == "[":
            self.next()
            self.fresh += 1
            blank = ("var", f"_:b{self.fresh}")  # a blank node of a pattern is a variable
            if self.peek()[1] != "]":
                self.properties(b, blank)
            self.expect("]")
            return blank
        return self.term()

    def triples(self, b: int):
        blank = self.peek()[1] == "["
        subject = self.node(b)
        if blank and self.peek()[1] in (".", "}"):
            return
        self.properties(b, subject)

    def properties(self, b: int, subject):
        while True:
            path = self.path()
            self.blocks[b][1].append((subject, path, self.node(b)))
            while self.peek()[1] == ",":
                self.next()
                self.blocks[b][1].append((subject, path, self.node(b)))
            if self.peek()[1] != ";":
                return
            while self.peek()[1] == ";":
                self.next()
            if self.peek()[1] in (".", "]", "}"):
                return

    def iri(self, pname: str) -> str:
        prefix, local = pname.split(":", 1)
        if prefix not in self.prefixes:
            self.unknown(f"the undeclared prefix {prefix}:")
        return self.prefixes[prefix] + local

    def path(self):
        alts = [self.sequence()]
        while self.peek()[1] == "|":
            self.next()
            alts.append(self.sequence())
        return alts[0] if len(alts) == 1 else ("alt", tuple(alts))

    def sequence(self):
        steps = [self.step()]
        while self.peek()[1] == "/":
            self.next()
            steps.append(self.step())
        return steps[0] if len(steps) == 1 else ("seq", tuple(steps))

    def step(self):
        inverse = self.peek()[1] == "^"
        if inverse:
            self.next()
        kind, text = self.next()
        if text == "(":
            found = self.path()
            self.expect(")")
        elif kind == "iri":
            found = ("p", text[1:-1])
        elif kind == "pname":
            found = ("p", self.iri(text))
        elif kind == "word" and text == "a":
            found = ("p", RDF_TYPE)
        else:
            self.unknown(f"the path element {text!r}")
        if self.peek()[1] in ("+", "*", "?"):
            self.unknown(f"a path with {self.next()[1]}")
        return ("inv", found) if inverse else found

    def resolved(self) -> list:
        """The patterns with each variable named by the block that owns it: the outermost
        enclosing block whose own patterns use it ($this: the query's)."""
        used = [{t[1] for pat in pats for t in (pat[0], pat[2]) if t[0] == "var"} for _, pats in self.blocks]
        out = []
        for b, (_, pats) in enumerate(self.blocks):
            def owner(name, b=b):
                if name == "this":
                    return ("var", "this")
                found, at = b, self.blocks[b][0]
                while at is not None:
                    if name in used[at]:
                        found = at
                    at = self.blocks[at][0]
                return ("var", (found, name))
            for s, path, o in pats:
                out.append((b, owner(s[1]) if s[0] == "var" else s, path, owner(o[1]) if o[0] == "var" else o))
        return out
