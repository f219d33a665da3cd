"""diplokb's own SHACL engine: fast, and restricted to what it evaluates exactly.

It reads the shapes graph strictly (shacl_shapes.py: any shape, target, path, parameter or
SPARQL form it does not evaluate exactly is refused with a ShapeError naming the term and the
shape, before anything runs), indexes the data once and checks SHACL Core in Python:
targets (node, class, implicit class, subjectsOf, objectsOf) of node and property shapes;
paths (predicate, sequence, alternative, inverse, zero-or-more, one-or-more, zero-or-one);
class, datatype (ill-formed literals fail), nodeKind, min/max Count, min/max Exclusive and
Inclusive (compared by datatype; incomparable values fail), min/max Length, pattern and
flags, languageIn, uniqueLang, equals, disjoint, lessThan, lessThanOrEquals, not, and, or,
xone, node, property, qualified value shapes, closed, hasValue, in, deactivated, severity and
message; and SPARQL-based constraints (shacl_sparql.py) in pyoxigraph with $this pre-bound.
pySHACL stays the reference (`--engine pyshacl`); tests/test_w3c_shacl.py runs the W3C suite.
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import NamedTuple

from .errors import SourceLocation
from .export import by_subject
from .rdf import RDF_TYPE, curie, nt
from .shacl_checks import compile_checks, quick_check
from .shacl_shapes import SUBCLASS, Shape, Shapes, ShapeError, term
from .shacl_sparql import COMPONENT as SPARQL_COMPONENT, message as fill, path_sparql, predicates_read, solutions
from .shacl_values import SH

__all__ = ["Engine", "Finding", "ShapeError", "validate_fast", "validate_graph"]
_EMPTY: dict = {}


class Finding(NamedTuple):
    """One validation result, with its terms in the plain form (rdf.py)."""
    focus: object
    path: tuple | None
    value: object  # None when the result has no sh:value
    component: str  # the constraint component's IRI
    severity: str  # an IRI, sh:Violation ...
    shape: object  # the source shape's node
    name: str  # the shape as the report names it (an anonymous one: the named shape holding it)
    message: str


class Engine:
    """The shapes of a Turtle file (or of `triples`, pyoxigraph terms), read and checked."""

    def __init__(self, shapes_file: Path | None = None, *, triples=None):
        import pyoxigraph as ox

        if triples is None:
            triples = ((t.subject, t.predicate, t.object)
                       for t in ox.parse(path=str(shapes_file), format=ox.RdfFormat.TURTLE))
        self.read = Shapes(triples, name=_name)
        self.shapes = [s for s in self.read.shapes if s.targets and not s.deactivated]
        self.all = list(self.read.done.values())

    def sparql_predicates(self):
        found: set | None = set()
        for shape in self.all:
            for s in shape.sparql:
                if found is not None:
                    found = None if s.predicates is None else found | s.predicates
        return found

    def uses(self, kinds: set) -> bool:
        def walk(path):
            return path[0] in kinds or any(walk(p) for p in (path[1] if path[0] in ("seq", "alt") else
                                                             (path[1],) if path[0] != "p" else ()))
        return any(s.path is not None and walk(s.path) for s in self.all)


def _name(node) -> str:
    value = node if isinstance(node, str) else f"_:{node.value}"
    return value.replace("https://w3id.org/diplokb/shapes#", "dkbs:")


class Data:
    """The data graph indexed for the checks: subject -> predicate -> objects (the KB's grouped
    form, export.by_subject; the caller's graph is read, never changed)."""

    def __init__(self, spo: dict, engine: Engine):
        self.spo = spo
        subjects_of, objects_of = {RDF_TYPE}, set()
        for shape in engine.shapes:
            subjects_of.update(shape.targets.get("targetSubjectsOf", ()))
            objects_of.update(shape.targets.get("targetObjectsOf", ()))
        self.by_pred: dict = {p: set() for p in subjects_of}
        self.pos_objects: dict = {p: set() for p in objects_of}
        for s, preds in spo.items():
            for p in subjects_of:
                if p in preds:
                    self.by_pred[p].add(s)
            for p in objects_of:
                if p in preds:
                    self.pos_objects[p].update(preds[p])
        # subject -> its classes and their superclasses: one frozenset shared by every subject
        # with the same classes (most subjects have one class, of a few dozen)
        closure: dict = {}
        self.classes: dict = {}
        for s in self.by_pred[RDF_TYPE]:
            types = spo[s][RDF_TYPE]
            key = next(iter(types)) if len(types) == 1 else frozenset(types)
            found = closure.get(key)
            if found is None:
                found = set()
                for c in types:
                    self._supers(c, found)
                found = closure[key] = frozenset(found)
            self.classes[s] = found
        self._instances: dict | None = None
        self._reverse: dict | None = None

    def _supers(self, c, seen: set) -> set:
        if c in seen:
            return seen
        seen.add(c)
        for sup in self.spo.get(c, _EMPTY).get(SUBCLASS, ()):
            self._supers(sup, seen)
        return seen

    def instances(self, c) -> set:
        if self._instances is None:
            self._instances = defaultdict(set)
            for s, classes in self.classes.items():
                for k in classes:
                    self._instances[k].add(s)
        return self._instances.get(c, set())

    def reverse(self) -> dict:
        if self._reverse is None:
            self._reverse = defaultdict(lambda: defaultdict(set))
            for s, preds in self.spo.items():
                for p, objs in preds.items():
                    for o in objs:
                        self._reverse[o][p].add(s)
        return self._reverse

    def values(self, node, path: tuple):
        """The value nodes of a path at a node (a set, as in SHACL)."""
        if path[0] == "p":
            return self.spo.get(node, _EMPTY).get(path[1], ())
        return self._step({node}, path, False)

    def _step(self, nodes: set, path: tuple, inverse: bool) -> set:
        kind, arg = path
        if kind == "p":
            index = self.reverse() if inverse else self.spo
            return {o for n in nodes for o in index.get(n, _EMPTY).get(arg, ())}
        if kind == "inv":
            return self._step(nodes, arg, not inverse)
        if kind == "seq":
            for p in (reversed(arg) if inverse else arg):
                nodes = self._step(nodes, p, inverse)
            return nodes
        if kind == "alt":
            return set().union(*(self._step(nodes, p, inverse) for p in arg))
        if kind == "zoo":
            return set(nodes) | self._step(nodes, arg, inverse)
        seen = set(nodes) if kind == "zom" else set()
        frontier = nodes
        while frontier:
            frontier = self._step(frontier, arg, inverse) - seen
            seen |= frontier
        return seen


class Run:
    """One validation: the engine's shapes over one data graph."""

    def __init__(self, engine: Engine, data: Data, store_factory):
        self.engine, self.data, self.store_factory = engine, data, store_factory
        self.store = None
        self.cache: dict = {}  # SPARQL solutions of one-pass constraints
        self.memo: dict = {}  # (shape, node) -> conforms
        self.active: set = set()
        self.compiled: dict = {}
        self.quicks: dict = {}
        self.plans: dict = {}  # a node shape -> its property shapes, with their quick checks

    def focus_nodes(self, shape: Shape) -> set:
        data, t = self.data, shape.targets
        nodes = set(t.get("targetNode", ()))
        for c in t.get("targetClass", ()):
            nodes |= data.instances(c)
        for p in t.get("targetSubjectsOf", ()):
            nodes |= data.by_pred.get(p, set())
        for p in t.get("targetObjectsOf", ()):
            nodes |= data.pos_objects.get(p, set())
        return nodes

    def conforms(self, shape: Shape, node) -> bool:
        checks = self.compiled.get(id(shape))
        if checks is None:
            checks = self.compiled[id(shape)] = compile_checks(self, shape)
        if checks[2]:  # only checks of the node itself, as in sh:or ( [ sh:datatype ... ] ... )
            return all(ok(node) for _, ok, _ in checks[0])
        key = (id(shape), node)
        found = self.memo.get(key)
        if found is None:
            if key in self.active:
                raise ShapeError(f"shape {_name(shape.node)} refers to itself (a recursive shape): "
                                 "SHACL leaves its meaning open, this engine refuses it")
            self.active.add(key)
            try:
                found = self.memo[key] = not self.validate(shape, node)
            finally:
                self.active.discard(key)
        return found

    def validate(self, shape: Shape, focus) -> list:
        if shape.deactivated:
            return []
        checks = self.compiled.get(id(shape))
        if checks is None:
            checks = self.compiled[id(shape)] = compile_checks(self, shape)
        value_checks, focus_checks, _ = checks
        values = (focus,) if shape.path is None else self.data.values(focus, shape.path)
        out = []
        for component, ok, what in value_checks:
            for v in values:
                if not ok(v):
                    out.append(self.finding(shape, focus, v, component, what(v)))
        for check in focus_checks:
            out.extend(check(focus, values))
        if shape.path is None:  # a node shape: its property shapes read the focus node's predicates once
            preds = self.data.spo.get(focus, _EMPTY)
            plan = self.plans.get(id(shape))
            if plan is None:
                plan = self.plans[id(shape)] = [(p, p.path[1], self.quick(p)) for p in shape.properties]
            for prop, step, quick in plan:
                if quick is None or not quick(preds.get(step, ())):
                    out.extend(self.validate(prop, focus))
        else:
            for prop in shape.properties:
                for v in values:
                    out.extend(self.validate(prop, v))
        for sparql in shape.sparql:
            if not sparql.deactivated:
                out.extend(self._sparql(shape, sparql, focus))
        return out

    def quick(self, shape: Shape):
        """For a property shape with a predicate path and only count, hasValue and value checks:
        values -> True when none of its constraints fails (the common case, tested fast); else None."""
        found = self.quicks.get(id(shape), False)
        if found is False:
            found = self.quicks[id(shape)] = quick_check(self, shape)
        return found

    def finding(self, shape, focus, value, component, what, path=None) -> Finding:
        return Finding(focus, path or shape.path, value, SH + component + "ConstraintComponent", shape.severity,
                       shape.node, shape.name, _message(shape.messages) or what)

    def _sparql(self, shape, sparql, focus) -> list:
        from pyoxigraph import NamedNode

        if self.store is None:
            self.store = self.store_factory()
        out = []
        for row in solutions(self.store, sparql, focus, shape.node, self.cache):
            path = row.get("path")
            path = ("p", path.value) if isinstance(path, NamedNode) else shape.path
            value = term(row["value"]) if "value" in row else focus
            text = row["message"].value if "message" in row else (
                fill(_message(sparql.messages) or _message(shape.messages) or "SPARQL constraint not met", row))
            out.append(Finding(focus, path, value, SPARQL_COMPONENT, shape.severity, shape.node, shape.name, text))
        return out

    def run(self, focus: set | None = None) -> list:
        out = []
        for shape in self.engine.shapes:
            nodes = self.focus_nodes(shape)
            if focus is not None:
                nodes &= focus
            for f in nodes:
                out.extend(self.validate(shape, f))
        return out


def _message(messages: tuple) -> str | None:
    if not messages:
        return None
    return sorted(messages, key=lambda m: (m[2] not in (None, "", "en"), m))[0][0]


def _short(v) -> str:
    if isinstance(v, str):
        return curie(v) or f"<{v}>"
    if isinstance(v, tuple):
        return v[0]
    return f"_:{v.value}"


def path_text(path) -> str:
    """A path in SPARQL's syntax, IRIs as CURIEs where known ('dkb:topic/skos:inScheme')."""
    if path is None:
        return ""
    kind, arg = path
    if kind == "p":
        return _short(arg)
    if kind == "seq":
        return "/".join(_group(p) for p in arg)
    if kind == "alt":
        return "|".join(_group(p) for p in arg)
    if kind == "inv":
        return "^" + _group(arg)
    return _group(arg) + {"zom": "*", "oom": "+", "zoo": "?"}[kind]


def _group(path) -> str:
    return path_text(path) if path[0] == "p" else f"({path_text(path)})"


def _store_factory(spo: dict, engine: Engine, ontology_files=()):
    def make():
        import pyoxigraph as ox

        from .shacl_sparql import to_ox

        read = engine.sparql_predicates()
        store = ox.Store()
        text: dict = {}
        lines, quads = [], []
        for s, preds in spo.items():
            blank_s = not isinstance(s, str)
            for p, objs in preds.items():
                if read is not None and p not in read:
                    continue
                for o in objs:
                    spelled = text.get(o)
                    if spelled is None:
                        if blank_s or not isinstance(o, (str, tuple)):
                            quads.append(ox.Quad(to_ox(s), ox.NamedNode(p), to_ox(o)))
                            continue
                        spelled = text[o] = nt(o)
                    if blank_s:
                        quads.append(ox.Quad(to_ox(s), ox.NamedNode(p), to_ox(o)))
                    else:
                        lines.append(f"<{s}> <{p}> {spelled} .\n")
        store.bulk_load("".join(lines).encode("utf-8"), format=ox.RdfFormat.N_TRIPLES)
        store.extend(quads)
        for f in ontology_files:
            store.bulk_load(path=str(f), format=ox.RdfFormat.TURTLE)
        return store
    return make


def validate_graph(data_triples, shapes_triples) -> list:
    """The Findings of a data graph (triples of pyoxigraph terms) against a shapes graph; raises
    ShapeError for a shape this engine does not evaluate exactly."""
    engine = Engine(triples=shapes_triples)
    spo: dict = defaultdict(lambda: defaultdict(set))
    for s, p, o in data_triples:
        spo[term(s)][term(p)].add(term(o))
    spo = {s: dict(preds) for s, preds in spo.items()}
    return Run(engine, Data(spo, engine), _store_factory(spo, engine)).run()


def _merge_ontology(graph: dict, ontology_files) -> dict:
    import pyoxigraph as ox

    spo = dict(graph)
    for f in ontology_files:
        extra = by_subject((term(t.subject), term(t.predicate), term(t.object))
                           for t in ox.parse(path=str(f), format=ox.RdfFormat.TURTLE))
        for s, preds in extra.items():
            mine = spo.get(s)
            if mine is not None:  # a subject in both: a merged copy
                preds = {p: set(objs) for p, objs in mine.items()} | {
                    p: set(mine.get(p, ())) | objs for p, objs in preds.items()}
            spo[s] = preds
    return spo


def _predicates_read(select: str, prefixes: dict):
    return predicates_read(select, prefixes)


def validate_fast(triples, locations, shapes_file: Path, ontology_files: list[Path],
                  focus: set | None = None):
    """Same contract as validate.validate, without pySHACL. With `focus`, only those focus
    nodes are checked (the triples must hold everything their checks read)."""
    from .validate import ValidationReport, ValidationResult

    graph = triples if isinstance(triples, dict) else by_subject(triples)
    engine = Engine(shapes_file)
    spo = _merge_ontology(graph, ontology_files)
    run = Run(engine, Data(spo, engine), _store_factory(graph, engine, ontology_files))
    out = []
    for r in run.run(focus):
        severity = r.severity[len(SH):] if r.severity.startswith(SH) else r.severity
        out.append(ValidationResult(
            location=locations.get(str(r.focus), SourceLocation("<kb>")), severity=severity, message=r.message,
            focus=str(r.focus) if isinstance(r.focus, str) else _short(r.focus), path=path_text(r.path),
            value="" if r.value is None else _short(r.value), shape=r.name,
            component="sh:" + r.component[len(SH):]))
    return ValidationReport(results=tuple(sorted(out)))


__all__ += ["path_text", "path_sparql"]
