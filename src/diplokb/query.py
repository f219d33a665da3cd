"""SPARQL over the built KB (pyoxigraph), named queries from queries/*.rq, result formats."""
from __future__ import annotations

import os
import sys

from .analysis import BASE_IRI
from .namespaces import PREFIXES
from .records import Row, field

_HEADER_KEYS = ("title", "description", "param")


class NamedQuery(Row):
    """A named query. (A named tuple, not a dataclass, and read without pathlib: `diplokb
    query`'s start-up imports neither; see docs/cli-startup.md.)"""

    __slots__ = ()
    _fields = ("name", "title", "description", "sparql", "path", "params")

    def __new__(cls, name: str, title: str, description: str, sparql: str, path: str, params: tuple = ()):
        return tuple.__new__(cls, (name, title, description, sparql, path, params))

    name, title, description, sparql, path, params = (field(i) for i in range(6))


def _query_error(message: str):
    """QueryError(message); errors.py is imported only for an error (it imports collections,
    which `diplokb query` does not need otherwise)."""
    from .errors import QueryError

    return QueryError(message)


def named_queries(queries_dir) -> dict[str, NamedQuery]:
    """name -> NamedQuery for every queries/<name>.rq, read from its '# title:' header."""
    out = {}
    folder = os.fspath(queries_dir)
    try:
        names = sorted(n for n in os.listdir(folder) if n.endswith(".rq")) if os.path.isdir(folder) else []
    except PermissionError:  # as Path.glob
        names = []
    for file_name in names:
        path = os.path.join(folder, file_name)
        stem = file_name[:-3] if len(file_name) > 3 else file_name  # Path.stem (".rq" is all stem)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        meta: dict = {}
        params = []
        for line in text.splitlines():
            header = _header(line)
            if header and header[0] == "param":
                params.append(header[1].strip())
            elif header:
                key = header[0]
                meta[key] = (meta.get(key, "") + " " + header[1]).strip()
            elif line.strip() and not line.startswith("#"):
                break
        out[stem] = NamedQuery(stem, meta.get("title", stem), meta.get("description", ""), text, path, tuple(params))
    return out


def _header(line: str) -> tuple[str, str] | None:
    """(key, value) of a header line `# key: value`, else None: what the regular expression
    ^#\\s*(title|description|param)\\s*:\\s*(.*)$ matches (str.strip strips what \\s matches),
    without importing `re` at start-up."""
    if not line.startswith("#"):
        return None
    rest = line[1:].lstrip()
    for key in _HEADER_KEYS:
        if rest.startswith(key):
            after = rest[len(key):].lstrip()
            if after.startswith(":"):
                return key, after[1:].lstrip()
    return None


def bind(sparql: str, params: dict[str, str]) -> str:
    """Replaces the `VALUES ?name { default }` block of each parameter with the given value.

    A value is read like its default: a string literal if the default is one, otherwise an
    entity id ('hun-sen'), a prefixed name ('id:hun-sen') or a full IRI.
    """
    if params:
        import re
    for name, value in params.items():
        pattern = re.compile(r"VALUES\s+\?" + re.escape(name) + r"\s*\{([^}]*)\}")
        m = pattern.search(sparql)
        if m is None:
            found = re.findall(r"VALUES\s+\?(\w+)\s*\{", sparql)
            raise _query_error(f"the query has no parameter '{name}'"
                             + (f"; its parameters: {', '.join(found)}" if found else ""))
        if m.group(1).strip().startswith('"'):
            import json  # (only here: `diplokb query` need not import it otherwise)

            term = json.dumps(value)
        elif re.fullmatch(r"https?://[^\s<>\"{}|^`\\]+", value):
            term = f"<{value}>"
        elif re.fullmatch(r"[a-z][a-z0-9]*:[A-Za-z0-9_-]+", value):
            term = value
        elif re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", value):
            term = f"<https://w3id.org/diplokb/id/{value}>"
        else:
            raise _query_error(f"'{value}' is not an id, prefixed name or IRI (parameter '{name}')")
        sparql = sparql[: m.start()] + f"VALUES ?{name} {{ {term} }}" + sparql[m.end():]
    return sparql


class Store:
    """A read-only SPARQL store over the exported KB (TriG: one graph per source).

    The dataset of a query is the one SPARQL defines: the protocol's graphs if given, else the
    query's FROM / FROM NAMED, else (our documented default) the union of all graphs as the
    default graph, with every graph named. Graphs outside the KB are refused, never fetched.
    """

    def __init__(self, trig_files: list):
        import pyoxigraph as ox

        self._ox = ox
        self.store = ox.Store()
        # Store.load, not bulk_load: for this in-memory store it is as fast or faster (the KB's
        # exports: ~20%; 100k triples: 462-575 ms vs 590-742; 1M: about the same) and holds
        # less memory (1M triples: 342 MiB peak vs 562); docs/cli-startup.md.
        for f in trig_files:
            fmt = ox.RdfFormat.TRIG if str(f).endswith(".trig") else ox.RdfFormat.TURTLE
            if fmt == ox.RdfFormat.TURTLE:
                graph = ox.NamedNode("https://w3id.org/diplokb/id/graph/ontology")
                self.store.load(path=str(f), format=fmt, to_graph=graph)
            else:
                self.store.load(path=str(f), format=fmt)
        self.graphs = frozenset(g.value for g in self.store.named_graphs() if isinstance(g, ox.NamedNode))

    def __len__(self) -> int:
        return len(self.store)

    def query(self, sparql: str, *, default_graphs: list[str] | tuple = (),
              named_graphs: list[str] | tuple = ()):
        """Runs a read-only query; `default_graphs` / `named_graphs` are the protocol's
        default-graph-uri / named-graph-uri (they replace the query's FROM, as the spec says)."""
        plan = analyse_or_raise(sparql)
        kw = self.dataset(plan, tuple(default_graphs), tuple(named_graphs))
        try:
            # only the predeclared prefixes the text can use: pyoxigraph parses each one given
            prefixes = _used_prefixes(sparql)
            return self.store.query(sparql, prefixes=prefixes, base_iri=BASE_IRI, **kw)
        except SyntaxError as exc:
            if not plan.form:  # not parsed before: an update, or only a syntax error?
                analyse_or_raise(sparql, parse=True)
            first = str(exc).splitlines()[0] if str(exc) else "invalid query"
            raise _query_error(f"SPARQL syntax error: {first[:300]}") from None
        except (OSError, ValueError, RuntimeError) as exc:
            raise _query_error(str(exc)) from None

    def dataset(self, plan, default_graphs: tuple, named_graphs: tuple) -> dict:
        """pyoxigraph's dataset arguments for a query, after checking every graph is ours."""
        ox = self._ox
        given = default_graphs or named_graphs
        wanted = (default_graphs + named_graphs) if given else (plan.default_graphs + plan.named_graphs)
        unknown = sorted({g for g in wanted if g not in self.graphs})
        if unknown:
            raise _query_error(f"graph <{unknown[0]}> is not in the KB (graphs are never fetched); "
                             f"the KB has {len(self.graphs)} named graphs, e.g. "
                             + ", ".join(f"<{g}>" for g in sorted(self.graphs)[:3]))
        if given:
            return {"default_graph": [ox.NamedNode(g) for g in default_graphs],
                    "named_graphs": [ox.NamedNode(g) for g in named_graphs]}
        if plan.default_graphs or plan.named_graphs:
            return {}  # pyoxigraph takes the dataset from the query's FROM / FROM NAMED
        return {"use_default_graph_as_union": True}


def _used_prefixes(sparql: str) -> dict[str, str]:
    """The predeclared prefixes the text can use (pyoxigraph parses each one it is given),
    remembered for the last texts seen: an endpoint's clients send the same few queries."""
    found = _USED.get(sparql)
    if found is None:
        found = {p: iri for p, iri in PREFIXES.items() if p + ":" in sparql}
        if len(sparql) <= 8192:  # (at most 256 x 8 KB kept)
            if len(_USED) >= 256:
                _USED.clear()
            _USED[sparql] = found
    return dict(found)  # (a copy: pyoxigraph only reads it, but a caller may not)


_USED: dict[str, dict[str, str]] = {}


def analyse_or_raise(sparql: str, parse: bool = False):
    """The query's `Analysis`, or QueryError for an update, SERVICE or a syntax error."""
    from .analysis import Refusal, analyse

    plan = analyse(sparql, PREFIXES, parse=parse)
    if isinstance(plan, Refusal):
        raise _query_error(plan.message)
    return plan


def check_read_only(sparql: str) -> None:
    """Refuses updates and federated queries (SERVICE), on a real parse of the query."""
    analyse_or_raise(sparql, parse=True)


def rows(result) -> tuple[list[str], list[list]]:
    """(variable names, rows of terms) of a SELECT result."""
    names = [v.value for v in result.variables]
    return names, [[sol[n] for n in names] for sol in result]


def format_result(result, fmt: str) -> str:
    """A result as text: a table for people, or any format of results.serialize."""
    import pyoxigraph as ox

    if fmt == "table" and isinstance(result, ox.QuerySolutions):
        names, data = rows(result)
        return render_table(names, [[_display(t) for t in r] for r in data])
    from .results import GRAPH_FORMATS, SOLUTION_FORMATS, serialize

    if fmt == "table":
        fmt = None  # booleans and graphs have a default text form
    else:
        graph = isinstance(result, ox.QueryTriples)
        fitting = GRAPH_FORMATS if graph else SOLUTION_FORMATS
        if fmt not in fitting:
            kind = "a graph (CONSTRUCT/DESCRIBE)" if graph else (
                "a boolean (ASK)" if isinstance(result, ox.QueryBoolean) else "solutions (SELECT)")
            raise _query_error(f"format '{fmt}' does not fit this query's result, {kind}; "
                             f"use one of: table, {', '.join(fitting)}")

    body, _, _ = serialize(result, fmt, max_rows=sys.maxsize)
    return body.decode("utf-8")


def _from_ox(t):
    from .rdf import IRI, Literal
    import pyoxigraph as ox

    def conv(x):
        if isinstance(x, ox.NamedNode):
            return IRI(x.value)
        if isinstance(x, ox.Literal):
            dt = x.datatype.value
            plain = dt in ("http://www.w3.org/2001/XMLSchema#string",
                           "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString")
            return Literal(x.value, None if plain else dt, x.language)
        from . import rdf

        bnode = getattr(rdf, "BNODE", None)  # the writers spell a blank node "_:label" (rdf.BNODE)
        if bnode is not None and isinstance(x, ox.BlankNode):
            return bnode + x.value
        raise _query_error("blank nodes in a CONSTRUCT result are not supported")

    return conv(t.subject), conv(t.predicate), conv(t.object)


def _display(term) -> str:
    from .namespaces import curie
    import pyoxigraph as ox

    if term is None:
        return ""
    if isinstance(term, ox.NamedNode):
        return curie(term.value) or term.value
    return term.value


def render_table(names: list[str], data: list[list[str]], max_width: int = 60) -> str:
    def clip(s: str) -> str:
        s = " ".join(s.split())
        return s if len(s) <= max_width else s[: max_width - 1] + "…"

    data = [[clip(c) for c in r] for r in data]
    widths = [max([len(n)] + [len(r[i]) for r in data]) for i, n in enumerate(names)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    out = [line(names), line(["-" * w for w in widths])] + [line(r) for r in data]
    out.append(f"({len(data)} row{'s' if len(data) != 1 else ''})")
    return "\n".join(out) + "\n"
