"""A small, fast SHACL engine for the constraint components diplokb's shapes use.

It reads the shapes graph (nothing is hard-coded about diplokb's shapes), indexes the data
once, checks SHACL Core constraints in Python and runs each SPARQL-based constraint once
over the whole data in pyoxigraph (with $this unbound) instead of once per focus node.
pySHACL stays the reference engine (`--engine pyshacl`); tests/test_shacl.py checks that
both report the same results.

Supported: targets (class, subjectsOf, objectsOf, node); property shapes with predicate or
sequence paths; minCount, maxCount, datatype, class, hasValue, in, pattern, minLength,
maxLength, minInclusive, maxInclusive, node, or, sparql (select); severity and message.
Anything else in a shape is an error, so a shape can never be silently ignored.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from .errors import SourceLocation
from .export import by_subject
from .rdf import RDF_TYPE, XSD, curie, nt

SH = "http://www.w3.org/ns/shacl#"
RDF_FIRST = "http://www.w3.org/1999/02/22-rdf-syntax-ns#first"
RDF_REST = "http://www.w3.org/1999/02/22-rdf-syntax-ns#rest"
RDF_NIL = "http://www.w3.org/1999/02/22-rdf-syntax-ns#nil"
SUBCLASS = "http://www.w3.org/2000/01/rdf-schema#subClassOf"
LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
PARAMS = {"minCount", "maxCount", "datatype", "class", "hasValue", "in", "pattern", "minLength",
          "maxLength", "minInclusive", "maxInclusive", "node", "or"}
SHAPE_KEYS = PARAMS | {"path", "message", "severity", "property", "sparql", "targetClass",
                       "targetSubjectsOf", "targetObjectsOf", "targetNode", "name", "description"}


class ShapeError(Exception):
    """The shapes use something this engine does not implement."""


@dataclass
class Shape:
    iri: object
    path: tuple = ()  # predicate IRIs in sequence; () for a node shape
    params: dict = field(default_factory=dict)
    properties: list = field(default_factory=list)
    sparql: list = field(default_factory=list)  # (select, message)
    targets: dict = field(default_factory=dict)
    severity: str = "Violation"
    message: str | None = None
    owner: str = ""  # the node shape (named) that holds it, for reporting
    min_count: int | None = None
    max_count: int | None = None
    checks: list = field(default_factory=list)  # value checks (data, value) -> bool


def _load_graph(path: Path):
    """(subject -> predicate -> [objects]) of a Turtle file, with blank nodes as ox values."""
    import pyoxigraph as ox

    g: dict = defaultdict(lambda: defaultdict(list))
    for t in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE):
        g[t.subject][t.predicate.value].append(t.object)
    return g


def _list(g, node) -> list:
    out = []
    while getattr(node, "value", None) != RDF_NIL:
        out.append(g[node][RDF_FIRST][0])
        node = g[node][RDF_REST][0]
    return out


def _term(t):
    """pyoxigraph term -> our term, in the plain form (rdf.py) that the KB's terms have, so
    that the index's dicts and sets compare exact strs."""
    import pyoxigraph as ox

    if isinstance(t, ox.NamedNode):
        return t.value
    if isinstance(t, ox.Literal):
        dt = t.datatype.value
        return (t.value, None if dt in (XSD + "string", LANGSTRING) else dt, t.language)
    return t


class Engine:
    def __init__(self, shapes_file: Path):
        import pyoxigraph as ox

        self.g = _load_graph(shapes_file)
        self.prefixes = {}
        for node, props in self.g.items():
            if SH + "prefix" in props:
                self.prefixes[props[SH + "prefix"][0].value] = props[SH + "namespace"][0].value
        self.shapes = []
        for node, props in list(self.g.items()):
            if ox.NamedNode(SH + "NodeShape") in props.get(RDF_TYPE, []):
                self.shapes.append(self._shape(node, owner=node))

    def _shape(self, node, owner) -> Shape:
        import pyoxigraph as ox

        props = self.g[node]
        unknown = {p.removeprefix(SH) for p in props if p.startswith(SH)} - SHAPE_KEYS
        if unknown:
            raise ShapeError(f"shape {node} uses unsupported SHACL terms: {sorted(unknown)}")
        shape = Shape(iri=node, owner=_name(owner))
        if SH + "path" in props:
            path = props[SH + "path"][0]
            shape.path = tuple(_term(p) for p in (_list(self.g, path) if isinstance(path, ox.BlankNode) else [path]))
        for key in PARAMS:
            if SH + key in props:
                vals = props[SH + key]
                if key in ("in", "or"):
                    shape.params[key] = _list(self.g, vals[0])
                else:
                    shape.params[key] = vals[0]
        if "or" in shape.params:
            shape.params["or"] = [self._shape(alt, owner) for alt in shape.params["or"]]
        if "node" in shape.params:
            shape.params["node"] = self._shape(shape.params["node"], shape.params["node"])
        if "in" in shape.params:
            shape.params["in"] = {_term(v) for v in shape.params["in"]}
        for key in ("hasValue", "class", "datatype"):
            if key in shape.params:
                shape.params[key] = _term(shape.params[key])
        if SH + "severity" in props:
            shape.severity = props[SH + "severity"][0].value.removeprefix(SH)
        if SH + "message" in props:
            shape.message = props[SH + "message"][0].value
        for key in ("targetClass", "targetSubjectsOf", "targetObjectsOf", "targetNode"):
            if SH + key in props:
                shape.targets[key] = [_term(v) for v in props[SH + key]]
        for prop in props.get(SH + "property", []):
            # results of an anonymous property shape are reported under its node shape
            shape.properties.append(self._shape(prop, owner if isinstance(prop, ox.BlankNode) else prop))
        shape.min_count = int(shape.params["minCount"].value) if "minCount" in shape.params else None
        shape.max_count = int(shape.params["maxCount"].value) if "maxCount" in shape.params else None
        shape.checks = _value_checks(shape)
        for sq in props.get(SH + "sparql", []):
            sp = self.g[sq]
            msg = sp[SH + "message"][0].value if SH + "message" in sp else None
            shape.sparql.append((sp[SH + "select"][0].value, msg))
        return shape


def _name(node) -> str:
    value = getattr(node, "value", str(node))
    return value.replace("https://w3id.org/diplokb/shapes#", "dkbs:")


class _Data:
    """The data indexed for constraint checks: subject -> predicate -> objects (the KB's grouped
    form, export.by_subject, with the ontology's triples added), and for the predicates that targets
    name, their subjects or objects."""

    def __init__(self, graph: dict, ontology_files, subjects_of: set, objects_of: set):
        import pyoxigraph as ox

        spo = dict(graph)  # the caller's graph is read, never changed
        for f in ontology_files:
            extra = by_subject((_term(t.subject), _term(t.predicate), _term(t.object))
                               for t in ox.parse(path=str(f), format=ox.RdfFormat.TURTLE))
            for s, preds in extra.items():
                mine = spo.get(s)
                if mine is not None:  # a subject in both: a merged copy
                    preds = {p: set(objs) for p, objs in mine.items()} | {
                        p: set(mine.get(p, ())) | objs for p, objs in preds.items()}
                spo[s] = preds
        self.by_pred: dict = {p: set() for p in subjects_of}
        self.pos_objects: dict = {p: set() for p in objects_of}
        for s, preds in spo.items():
            for p in subjects_of:
                if p in preds:
                    self.by_pred[p].add(s)
            for p in objects_of:
                if p in preds:
                    self.pos_objects[p].update(preds[p])
        self.spo = spo
        self.superclasses: dict = {}
        # every typed node's classes, with their superclasses
        closure: dict = {}  # a class -> it and its superclasses
        self.classes: dict = {}
        for s in self.by_pred.get(RDF_TYPE, ()):
            found = None
            for c in spo[s][RDF_TYPE]:
                more = closure.get(c)
                if more is None:
                    more = closure[c] = frozenset(self._supers(c))
                found = more if found is None else found | more
            self.classes[s] = found
        self._instances: dict | None = None

    def _supers(self, c) -> set:
        if c not in self.superclasses:
            self.superclasses[c] = {c}
            for sup in self.spo.get(c, _EMPTY).get(SUBCLASS, ()):
                self.superclasses[c] |= self._supers(sup)
        return self.superclasses[c]

    def instances(self, c) -> set:
        """The nodes of class `c` or a subclass of it."""
        if self._instances is None:
            self._instances = defaultdict(set)
            for s, classes in self.classes.items():
                for k in classes:
                    self._instances[k].add(s)
        return self._instances.get(c, set())

    def values(self, node, path: tuple):
        """The value nodes of a path at a node: a set, as in SHACL (a node reached twice
        along a sequence path counts once)."""
        if len(path) == 1:
            return self.spo.get(node, _EMPTY).get(path[0], ())
        current = {node}
        for p in path:
            current = {o for n in current for o in self.spo.get(n, _EMPTY).get(p, ())}
        return current


_EMPTY: dict = {}
_NO_CLASSES: frozenset = frozenset()
_NO_VALUE = object()


def _datatype_of(v) -> str | None:
    if isinstance(v, str):  # an IRI (terms come in either form: rdf.py)
        return None
    if v[2]:
        return LANGSTRING
    return v[1] or XSD + "string"


def _text(v) -> str:
    """An IRI, or a literal's lexical form."""
    return v if isinstance(v, str) else v[0]


_INT = re.compile(r"^[+-]?\d+$")
_DATE = re.compile(r"^-?\d{4,}-\d{2}-\d{2}(Z|[+-]\d{2}:\d{2})?$")
_LEXICAL = {XSD + "integer": _INT.match, XSD + "decimal": re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$").match,
            XSD + "gYear": re.compile(r"^-?\d{4,}(Z|[+-]\d{2}:\d{2})?$").match,
            XSD + "gYearMonth": re.compile(r"^-?\d{4,}-\d{2}(Z|[+-]\d{2}:\d{2})?$").match,
            XSD + "date": _DATE.match}


def _value_checks(shape: Shape) -> list:
    """The value-type constraints of `shape` as functions (data, value) -> bool, made once."""
    prm = shape.params
    checks = []
    if "datatype" in prm:
        dt, lexical = prm["datatype"], _LEXICAL.get(prm["datatype"])
        checks.append(lambda data, v: _datatype_of(v) == dt and (lexical is None or bool(lexical(v[0]))))
    if "class" in prm:
        c = prm["class"]
        checks.append(lambda data, v: c in data.classes.get(v, _NO_CLASSES))  # a literal has no class
    if "in" in prm:
        allowed = prm["in"]
        checks.append(lambda data, v: v in allowed)
    if "pattern" in prm:
        search = re.compile(prm["pattern"].value).search
        checks.append(lambda data, v: bool(search(_text(v))))
    if "minLength" in prm:
        n_min = int(prm["minLength"].value)
        checks.append(lambda data, v: len(_text(v)) >= n_min)
    if "maxLength" in prm:
        n_max = int(prm["maxLength"].value)
        checks.append(lambda data, v: len(_text(v)) <= n_max)
    for key, ok in (("minInclusive", lambda a, b: a >= b), ("maxInclusive", lambda a, b: a <= b)):
        if key in prm:
            checks.append(lambda data, v, bound=Decimal(prm[key].value), ok=ok: _compare(v, bound, ok))
    if "or" in prm:
        alternatives = prm["or"]
        checks.append(lambda data, v: any(_conforms(data, alt, v) for alt in alternatives))
    if "node" in prm:
        node_shape = prm["node"]
        checks.append(lambda data, v: _conforms(data, node_shape, v))
    return checks


def _compare(v, bound: Decimal, ok) -> bool:
    try:
        return ok(Decimal(_text(v)), bound)
    except InvalidOperation:
        return False


def _value_ok(data: _Data, shape: Shape, v) -> bool:
    """The value-type constraints of `shape` for one value."""
    return all(check(data, v) for check in shape.checks)


def _conforms(data: _Data, shape: Shape, node) -> bool:
    if not shape.path and not _value_ok(data, shape, node):
        return False
    return all(not _property_results(data, p, node) for p in shape.properties)


def _property_results(data: _Data, shape: Shape, focus) -> list:
    """(value or None, what failed) for each failed constraint of a property shape at `focus`."""
    values = data.values(focus, shape.path)
    failed = []
    if shape.min_count is not None and len(values) < shape.min_count:
        failed.append((None, f"fewer than {shape.min_count} value(s)"))
    if shape.max_count is not None and len(values) > shape.max_count:
        failed.append((None, f"more than {shape.max_count} value(s)"))
    if "hasValue" in shape.params and shape.params["hasValue"] not in values:
        failed.append((None, f"no value {_short(shape.params['hasValue'])}"))
    checks = shape.checks
    if checks:
        for v in values:
            for check in checks:
                if not check(data, v):
                    failed.append((v, "value of the wrong type, class or form"))
                    break
    return failed


def _failing(data: _Data, shapes: list, nodes) -> list:
    """(property shape, focus node) wherever one of the property shapes finds something wrong
    at one of the nodes: the same test as _property_results, on a short path for the many that
    pass (each node's predicates are looked up once for all the shapes)."""
    spo = data.spo
    tests = [(shape, shape.path[0] if len(shape.path) == 1 else None, shape.min_count, shape.max_count,
              shape.params.get("hasValue", _NO_VALUE), shape.checks) for shape in shapes]
    out = []
    for f in nodes:
        preds = spo.get(f, _EMPTY)
        for shape, step, lo, hi, has, checks in tests:
            values = preds.get(step, ()) if step is not None else data.values(f, shape.path)
            n = len(values)
            if (lo is not None and n < lo) or (hi is not None and n > hi) or (
                    has is not _NO_VALUE and has not in values):
                out.append((shape, f))
                continue
            if checks:
                for v in values:
                    for check in checks:
                        if not check(data, v):
                            break
                    else:
                        continue
                    out.append((shape, f))
                    break
    return out


def _focus_nodes(data: _Data, shape: Shape) -> set:
    nodes = set()
    for c in shape.targets.get("targetClass", ()):
        nodes |= data.instances(c)
    for p in shape.targets.get("targetSubjectsOf", ()):
        nodes |= data.by_pred.get(p, set())
    for p in shape.targets.get("targetObjectsOf", ()):
        nodes |= data.pos_objects.get(p, set())
    nodes |= set(shape.targets.get("targetNode", ()))
    return nodes


def _path_text(path: tuple) -> str:
    return "/".join(curie(p) or f"<{p}>" for p in path)


def _short(v) -> str:
    if isinstance(v, str):
        return curie(v) or f"<{v}>"
    return v[0]


# A variable between two terms of a triple pattern: it stands for any predicate. Matched on
# the raw query text, so strings and comments can only add false alarms (which cost time,
# never results).
_TERM_BEFORE = r"(?:[?$]\w+|>|\[|\]|\)|;|,|[\w-]*:[\w.-]*|\"|'|\d)"
_TERM_AFTER = r"(?:[?$]\w|<|\[|\(|[\w-]*:|\"|'|\d)"
_VARIABLE_PREDICATE = re.compile(_TERM_BEFORE + r"\s+[?$]\w+\s+" + _TERM_AFTER)
_NEGATED_PATH = re.compile(r"!\s*(?:[(<^]|[\w-]*:|a\b)")
_ZERO_LENGTH_PATH = re.compile(r"[\w>)]\s*[*?](?!\w)")  # p* or p? also match every node to itself
_PREFIXED = re.compile(r"(?<![\w?$<])([A-Za-z][\w-]*)?:((?:[\w-]|\.(?=[\w-]))*)")


def _predicates_read(select: str, prefixes: dict) -> set | None:
    """The IRIs a SPARQL constraint names (a superset of the predicates it can match), or
    None when it may match any predicate or node (a variable or negated property set in
    predicate position, a path that may have length zero): then the store needs every triple."""
    body = select[select.find("{"):]
    if any(x.search(body) for x in (_VARIABLE_PREDICATE, _NEGATED_PATH, _ZERO_LENGTH_PATH)):
        return None
    names = set(re.findall(r"<([^<>\s]*)>", select))
    for prefix, local in _PREFIXED.findall(re.sub(r"<[^<>\s]*>", " ", select)):
        if prefix in prefixes:
            names.add(prefixes[prefix] + local)
    if re.search(r"(?<![\w?$:])a(?![\w:])", body):
        names.add(RDF_TYPE)
    return names


def _ntriples(graph: dict, predicates: set | None = None) -> str:
    """N-Triples of a graph in the grouped form (only the triples with one of `predicates`,
    unless None), in no particular order (for loading a store)."""
    text: dict = {}

    def spelled(t):
        found = text.get(t)
        if found is None:
            found = text[t] = nt(t)
        return found

    return "".join([f"<{s}> <{p}> {spelled(o)} .\n" for s, preds in graph.items() for p, objs in preds.items()
                    if predicates is None or p in predicates for o in objs])


def validate_fast(triples, locations, shapes_file: Path, ontology_files: list[Path],
                  focus: set | None = None):
    """Same contract as validate.validate, without pySHACL. With `focus`, only those focus
    nodes are checked (the triples must hold everything their checks read)."""
    graph = triples if isinstance(triples, dict) else by_subject(triples)
    import pyoxigraph as ox

    from .validate import ValidationReport, ValidationResult

    engine = Engine(shapes_file)
    subjects_of, objects_of = {RDF_TYPE}, set()
    for shape in engine.shapes:
        subjects_of.update(shape.targets.get("targetSubjectsOf", ()))
        objects_of.update(shape.targets.get("targetObjectsOf", ()))
    data = _Data(graph, ontology_files, subjects_of, objects_of)
    out = set()

    def add(node, severity, message, path="", value="", shape=""):
        out.add(ValidationResult(location=locations.get(str(node), SourceLocation("<kb>")), severity=severity,
                                 message=message, focus=str(node), path=path, value=value, shape=shape))

    store = None
    read: set | None = set()  # the predicates the SPARQL constraints can match (None: any)
    for shape in engine.shapes:
        for select, _ in shape.sparql:
            found = _predicates_read(select, engine.prefixes)
            read = None if found is None or read is None else read | found
    for shape in engine.shapes:
        focus_nodes = _focus_nodes(data, shape)
        if focus is not None:
            focus_nodes = {f for f in focus_nodes if f in focus}
        if not focus_nodes:
            continue
        for prop, f in _failing(data, shape.properties, focus_nodes):
            for v, what in _property_results(data, prop, f):
                add(f, prop.severity, prop.message or f"{_path_text(prop.path)}: {what}",
                    _path_text(prop.path), "" if v is None else _short(v), prop.owner)
        for select, message in shape.sparql:
            if store is None:
                store = ox.Store()
                store.bulk_load(_ntriples(graph, read).encode("utf-8"),
                                format=ox.RdfFormat.N_TRIPLES)
                for f in ontology_files:
                    store.bulk_load(path=str(f), format=ox.RdfFormat.TURTLE)
            query = select.replace("$this", "?this")
            for sol in store.query(query, prefixes=engine.prefixes):
                node = _term(sol["this"])
                if node not in focus_nodes:
                    continue
                text = message or "SPARQL constraint not met"
                text = re.sub(r"\{[?$](\w+)\}", lambda m: sol[m.group(1)].value if sol[m.group(1)] is not None else "", text)
                add(node, shape.severity, text, "", _short(node), _name(shape.iri))
    return ValidationReport(results=tuple(sorted(out)))
