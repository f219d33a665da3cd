"""Reading a shapes graph for the SHACL engine (shacl.py), strictly: every shape, path, target
and SPARQL form is either read exactly or refused with a ShapeError that names the term and
the shape. A shape is every node SHACL counts as one (typed sh:NodeShape or sh:PropertyShape,
the subject of a target or of a constraint parameter, or the value of sh:node, sh:property,
sh:not, sh:qualifiedValueShape or a member of sh:and/sh:or/sh:xone), used or not, so an
unsupported term can never pass unnoticed; and any other node that carries a SHACL term the
engine does not read (a SPARQL-based constraint component, a SPARQL target, ...) is refused
too."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from .rdf import RDF_TYPE, XSD
from .shacl_values import NODE_KINDS, SH, regex

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDF_FIRST, RDF_REST, RDF_NIL = RDF + "first", RDF + "rest", RDF + "nil"
RDFS_CLASS = "http://www.w3.org/2000/01/rdf-schema#Class"
SUBCLASS = "http://www.w3.org/2000/01/rdf-schema#subClassOf"
OWL_IMPORTS = "http://www.w3.org/2002/07/owl#imports"

TARGETS = ("targetClass", "targetNode", "targetSubjectsOf", "targetObjectsOf")
# Constraint parameters: each value of one is a constraint (component name, as in sh:...ConstraintComponent).
VALUE_PARAMS = ("class", "datatype", "nodeKind", "minExclusive", "minInclusive", "maxExclusive",
                "maxInclusive", "minLength", "maxLength", "languageIn", "in", "node", "not", "and",
                "or", "xone", "hasValue", "equals", "disjoint")
PROPERTY_ONLY = ("minCount", "maxCount", "uniqueLang", "lessThan", "lessThanOrEquals",
                 "qualifiedValueShape", "qualifiedMinCount", "qualifiedMaxCount",
                 "qualifiedValueShapesDisjoint")
OTHER = ("path", "property", "sparql", "pattern", "flags", "closed", "ignoredProperties", "deactivated",
         "severity", "message", "name", "description", "order", "group", "defaultValue", "declare") + TARGETS
SHAPE_TERMS = VALUE_PARAMS + PROPERTY_ONLY + OTHER
# The subjects of these are shapes (SHACL 2.1: shapes are also the subjects of parameters).
SHAPE_MARKS = frozenset(VALUE_PARAMS + PROPERTY_ONLY + TARGETS + ("path", "property", "sparql", "pattern",
                                                                   "closed"))
# SHACL terms that may appear elsewhere in a shapes graph and mean nothing for validation:
# validation reports (the W3C suite keeps the expected one beside the shapes) and prefixes.
HARMLESS = frozenset(SH + t for t in (
    "result", "conforms", "focusNode", "resultSeverity", "sourceConstraintComponent", "sourceShape",
    "value", "resultPath", "resultMessage", "sourceConstraint", "detail", "declare", "prefix", "namespace",
    "shapesGraph", "suggestedShapesGraph", "shapesGraphWellFormed",
    "inversePath", "alternativePath", "zeroOrMorePath", "oneOrMorePath", "zeroOrOnePath"))
HARMLESS_TYPES = frozenset(SH + t for t in (
    "NodeShape", "PropertyShape", "Shape", "ValidationReport", "ValidationResult", "PrefixDeclaration",
    "SPARQLConstraint", "Violation", "Warning", "Info", "PropertyGroup"))
PATHS = ("inversePath", "alternativePath", "zeroOrMorePath", "oneOrMorePath", "zeroOrOnePath")


class ShapeError(Exception):
    """The shapes use something this engine does not evaluate exactly (it is refused, never
    ignored), or a shape is ill-formed."""


@dataclass(eq=False)
class Sparql:
    node: object
    select: str
    messages: tuple
    prefixes: dict
    deactivated: bool = False


@dataclass(eq=False)
class Shape:
    node: object  # the shape's node (a str IRI or a pyoxigraph BlankNode)
    name: str  # how results name it: the shape, or for an anonymous one the named shape holding it
    path: tuple | None = None  # None for a node shape; a path (see _path) for a property shape
    severity: str = SH + "Violation"
    messages: tuple = ()
    deactivated: bool = False
    targets: dict = field(default_factory=dict)  # 'targetClass' ... -> [term]
    params: dict = field(default_factory=dict)  # parameter -> [value] (terms, lists, shapes)
    properties: list = field(default_factory=list)
    sparql: list = field(default_factory=list)
    pattern: list = field(default_factory=list)  # compiled regexes
    closed: frozenset | None = None  # the allowed predicates, when sh:closed true
    qualified: dict | None = None  # shape, min, max, disjoint, siblings
    parents: list = field(default_factory=list)


def term(t):
    """A pyoxigraph term in the plain form of rdf.py (blank nodes stay pyoxigraph values)."""
    import pyoxigraph as ox

    if isinstance(t, ox.NamedNode):
        return t.value
    if isinstance(t, ox.Literal):
        dt = t.datatype.value
        return (t.value, None if dt in (XSD + "string", RDF + "langString") else dt, t.language)
    return t


def show(node) -> str:
    """A node as an error message names it."""
    if isinstance(node, str):
        return f"<{node}>"
    if isinstance(node, tuple):
        return repr(node[0])
    return f"_:{node.value}"


class Shapes:
    """The shapes of a shapes graph, given as triples of pyoxigraph terms."""

    def __init__(self, triples, *, name=show):
        self.g: dict = defaultdict(lambda: defaultdict(list))
        for s, p, o in triples:
            objects = self.g[term(s)][term(p)]
            o = term(o)
            if o not in objects:  # a triple stated twice is one triple
                objects.append(o)
        self.name = name
        self.done: dict = {}  # node -> Shape
        self.read: set = set()  # the nodes read as lists, paths, SPARQL constraints, prefixes
        self.owner: dict = {}  # an anonymous shape -> a shape holding it through sh:property
        for s, props in list(self.g.items()):
            for o in props.get(SH + "property", ()):
                self.owner.setdefault(o, s)
        for s, props in list(self.g.items()):
            if OWL_IMPORTS in props:
                raise ShapeError(f"{show(s)}: owl:imports in a shapes graph is not followed by this engine "
                                 "(merge the imported shapes into the file)")
        marks = {SH + t for t in SHAPE_MARKS}
        typed = self._instances_of(SH + "NodeShape") | self._instances_of(SH + "PropertyShape")
        classes = self._instances_of(RDFS_CLASS)
        self.shapes = []
        for s, props in list(self.g.items()):
            if s in typed or marks & set(props):
                self.shapes.append(self.shape(s))
        for shape in self.shapes:  # implicit class targets
            if not isinstance(shape.node, str) or shape.node not in classes:
                continue
            shape.targets.setdefault("targetClass", []).append(shape.node)
        for s, props in self.g.items():
            if s in self.done or s in self.read:
                continue
            for p in props:
                if p.startswith(SH) and p not in HARMLESS:
                    raise ShapeError(f"{show(s)} uses sh:{p[len(SH):]}, which this engine does not read")
            for t in props.get(RDF_TYPE, ()):
                if isinstance(t, str) and t.startswith(SH) and t not in HARMLESS_TYPES:
                    raise ShapeError(f"{show(s)} is a sh:{t[len(SH):]}, which this engine does not evaluate")
        for shape in list(self.done.values()):
            self._siblings(shape)

    def _instances_of(self, cls: str) -> set:
        """The SHACL instances of a class in the shapes graph (typed with it or a subclass of it)."""
        subclasses: dict = defaultdict(set)
        for s, props in self.g.items():
            for o in props.get(SUBCLASS, ()):
                subclasses[o].add(s)
        todo, kinds = [cls], set()
        while todo:
            c = todo.pop()
            if c not in kinds:
                kinds.add(c)
                todo.extend(subclasses.get(c, ()))
        return {s for s, props in self.g.items() if kinds & set(props.get(RDF_TYPE, ()))}

    def fail(self, node, what: str):
        raise ShapeError(f"shape {self._label(node)}: {what}")

    def _label(self, node) -> str:
        label = show(node)
        holder = self.owner.get(node)
        return label + (f" (in {show(holder)})" if holder is not None and not isinstance(node, str) else "")

    def _report_name(self, node) -> str:
        seen = set()
        while not isinstance(node, str) and node in self.owner and node not in seen:
            seen.add(node)
            node = self.owner[node]
        return self.name(node)

    def list(self, node, shape, key: str) -> list:
        out, seen = [], set()
        while node != RDF_NIL:
            props = self.g.get(node, {})
            firsts, rests = props.get(RDF_FIRST, []), props.get(RDF_REST, [])
            if node in seen or isinstance(node, tuple) or len(firsts) != 1 or len(rests) != 1 \
                    or set(props) - {RDF_FIRST, RDF_REST, RDF_TYPE}:
                self.fail(shape, f"{show(node)} in its sh:{key} is not a well-formed RDF list")
            seen.add(node)
            self.read.add(node)
            out.append(firsts[0])
            node = rests[0]
        return out

    def one(self, shape_node, props, key):
        values = props.get(SH + key, [])
        if len(values) != 1:
            self.fail(shape_node, f"sh:{key} needs exactly one value, it has {len(values)}")
        return values[0]

    def path(self, node, shape) -> tuple:
        """A path as a tuple: ('p', iri), ('seq', [...]), ('alt', [...]), ('inv', p),
        ('zom', p), ('oom', p), ('zoo', p)."""
        if isinstance(node, str):
            return ("p", node)
        if isinstance(node, tuple):
            self.fail(shape, f"the literal {show(node)} is not a path")
        props = self.g.get(node, {})
        if RDF_FIRST in props:
            items = self.list(node, shape, "path")
            if len(items) < 2:
                self.fail(shape, "a sequence path needs at least two members")
            return ("seq", tuple(self.path(i, shape) for i in items))
        kinds = [k for k in PATHS if SH + k in props]
        if len(kinds) != 1 or len(props) != 1 or len(props[SH + kinds[0]]) != 1:
            self.fail(shape, f"the path {show(node)} is not a SHACL path this engine reads "
                      f"(predicates: {', '.join(sorted(props)) or 'none'})")
        self.read.add(node)
        inner = props[SH + kinds[0]][0]
        if kinds[0] == "alternativePath":
            items = self.list(inner, shape, "alternativePath")
            if len(items) < 2:
                self.fail(shape, "an alternative path needs at least two members")
            return ("alt", tuple(self.path(i, shape) for i in items))
        return ({"inversePath": "inv", "zeroOrMorePath": "zom", "oneOrMorePath": "oom",
                 "zeroOrOnePath": "zoo"}[kinds[0]], self.path(inner, shape))

    def shape(self, node) -> Shape:
        found = self.done.get(node)
        if found is not None:
            return found
        if isinstance(node, tuple):
            raise ShapeError(f"the literal {show(node)} is used as a shape")
        props = self.g.get(node, {})
        shape = self.done[node] = Shape(node=node, name=self._report_name(node))
        own = ("select", "prefixes") if node in props.get(SH + "sparql", ()) else ()  # its own SPARQL constraint
        unknown = sorted(p for p in props if p.startswith(SH) and p[len(SH):] not in SHAPE_TERMS + own)
        if unknown:
            self.fail(node, ", ".join("sh:" + p[len(SH):] for p in unknown)
                      + " is not supported by this engine (use --engine pyshacl)")
        flag = props.get(SH + "deactivated")
        if flag:
            if len(flag) != 1 or flag[0] not in (("true", XSD + "boolean", None), ("false", XSD + "boolean", None)):
                self.fail(node, "sh:deactivated must be one xsd:boolean")
            shape.deactivated = flag[0][0] == "true"
        if SH + "path" in props:
            shape.path = self.path(self.one(node, props, "path"), node)
        if SH + "severity" in props:
            severity = self.one(node, props, "severity")
            if not isinstance(severity, str):
                self.fail(node, "sh:severity must be an IRI")
            shape.severity = severity
        shape.messages = tuple(m for m in props.get(SH + "message", ()) if isinstance(m, tuple))
        for key in TARGETS:
            if SH + key in props:
                shape.targets[key] = list(props[SH + key])
        if shape.path is None:
            misplaced = [k for k in PROPERTY_ONLY if SH + k in props]
            if misplaced:
                self.fail(node, f"sh:{misplaced[0]} needs sh:path (it is a constraint of property shapes)")
        self._params(shape, props)
        for p in props.get(SH + "property", ()):
            prop = self.shape(p)
            if prop.path is None:
                self.fail(node, f"the value {show(p)} of sh:property has no sh:path")
            prop.parents.append(shape)
            shape.properties.append(prop)
        for s in props.get(SH + "sparql", ()):
            shape.sparql.append(self._sparql(s, node))
        return shape

    def _params(self, shape: Shape, props: dict):
        node = shape.node
        for key in VALUE_PARAMS + ("minCount", "maxCount", "uniqueLang", "lessThan", "lessThanOrEquals"):
            values = props.get(SH + key)
            if not values:
                continue
            out = []
            for v in values:
                if key in ("in", "languageIn", "and", "or", "xone", "ignoredProperties"):
                    v = self.list(v, node, key)
                    if key == "languageIn" and not all(isinstance(x, tuple) for x in v):
                        self.fail(node, "sh:languageIn takes a list of strings")
                if key in ("and", "or", "xone"):
                    v = [self.shape(x) for x in v]
                elif key in ("node", "not"):
                    v = self.shape(v)
                elif key in ("minCount", "maxCount", "minLength", "maxLength"):
                    if not (isinstance(v, tuple) and v[1] == XSD + "integer" and v[0].lstrip("+").isdigit()):
                        self.fail(node, f"sh:{key} must be a non-negative xsd:integer, not {show(v)}")
                    v = int(v[0])
                elif key == "nodeKind" and v not in NODE_KINDS:
                    self.fail(node, f"sh:nodeKind {show(v)} is not a SHACL node kind")
                elif key in ("class", "datatype", "equals", "disjoint", "lessThan", "lessThanOrEquals") \
                        and not isinstance(v, str):
                    self.fail(node, f"sh:{key} must be an IRI, not {show(v)}")
                elif key == "uniqueLang" and v not in (("true", XSD + "boolean", None),
                                                       ("false", XSD + "boolean", None)):
                    self.fail(node, "sh:uniqueLang must be an xsd:boolean")
                out.append(v)
            if key == "uniqueLang":
                out = [v for v in out if v[0] == "true"]
            shape.params[key] = out
        flags = props.get(SH + "flags", [])
        if flags and (len(flags) > 1 or len(props.get(SH + "pattern", [])) != 1):
            self.fail(node, "sh:flags needs exactly one sh:pattern and one sh:flags")
        for p in props.get(SH + "pattern", ()):
            if not isinstance(p, tuple):
                self.fail(node, "sh:pattern must be a string")
            try:
                shape.pattern.append(regex(p[0], flags[0][0] if flags else ""))
            except Exception as exc:  # re.error or an unknown flag: a pattern we cannot match exactly
                self.fail(node, f"sh:pattern {p[0]!r}: {exc}")
        closed = props.get(SH + "closed", [])
        if closed and closed[0] == ("true", XSD + "boolean", None):
            allowed = set()
            for p in props.get(SH + "property", ()):
                path = self.g.get(p, {}).get(SH + "path", [])
                if path and isinstance(path[0], str):
                    allowed.add(path[0])
            for lst in props.get(SH + "ignoredProperties", ()):
                allowed.update(self.list(lst, node, "ignoredProperties"))
            shape.closed = frozenset(allowed)
        elif closed and closed[0] != ("false", XSD + "boolean", None):
            self.fail(node, "sh:closed must be an xsd:boolean")
        elif SH + "ignoredProperties" in props and not closed:
            self.fail(node, "sh:ignoredProperties without sh:closed true")
        if SH + "qualifiedValueShape" in props:
            q = props[SH + "qualifiedValueShape"]
            if len(q) != 1:
                self.fail(node, "one sh:qualifiedValueShape per property shape, in this engine")
            bounds = {}
            for key in ("qualifiedMinCount", "qualifiedMaxCount"):
                vals = props.get(SH + key, [])
                if vals:
                    v = vals[0]
                    if len(vals) > 1 or not (isinstance(v, tuple) and v[1] == XSD + "integer"):
                        self.fail(node, f"sh:{key} must be one xsd:integer")
                    bounds[key] = int(v[0])
            disjoint = props.get(SH + "qualifiedValueShapesDisjoint", [])
            shape.qualified = {"shape": self.shape(q[0]), "min": bounds.get("qualifiedMinCount"),
                               "max": bounds.get("qualifiedMaxCount"),
                               "disjoint": bool(disjoint) and disjoint[0][0] == "true", "siblings": []}
        elif any(SH + k in props for k in ("qualifiedMinCount", "qualifiedMaxCount", "qualifiedValueShapesDisjoint")):
            self.fail(node, "sh:qualifiedMinCount/MaxCount without sh:qualifiedValueShape")

    def _siblings(self, shape: Shape):
        if shape.qualified is None or not shape.qualified["disjoint"]:
            return
        siblings = []
        for parent in shape.parents:
            for p in parent.properties:
                if p is not shape and p.qualified is not None:
                    siblings.append(p.qualified["shape"])
        shape.qualified["siblings"] = siblings

    def _sparql(self, node, shape_node) -> Sparql:
        from .shacl_sparql import check_query

        props = self.g.get(node, {})
        self.read.add(node)
        allowed = ("select", "message", "prefixes", "deactivated") + (SHAPE_TERMS if node in self.done else ())
        unknown = sorted(p for p in props if p.startswith(SH) and p[len(SH):] not in allowed)
        if unknown:
            self.fail(shape_node, f"its SPARQL constraint uses {', '.join('sh:' + p[len(SH):] for p in unknown)}, "
                      "which this engine does not read")
        types = [t for t in props.get(RDF_TYPE, ()) if t not in HARMLESS_TYPES]
        if any(isinstance(t, str) and t.startswith(SH) for t in types):
            self.fail(shape_node, "its SPARQL constraint has an unexpected sh: type")
        select = self.one(shape_node, props, "select")
        if not isinstance(select, tuple):
            self.fail(shape_node, "sh:select must be a string")
        prefixes = {}
        for p in props.get(SH + "prefixes", ()):
            for decl in self.g.get(p, {}).get(SH + "declare", ()):
                self.read.add(decl)
                d = self.g.get(decl, {})
                name, ns = d.get(SH + "prefix", []), d.get(SH + "namespace", [])
                if len(name) != 1 or len(ns) != 1:
                    self.fail(shape_node, f"the prefix declaration {show(decl)} needs one sh:prefix and one sh:namespace")
                prefixes[name[0][0]] = ns[0][0]
        flag = props.get(SH + "deactivated", [])
        sparql = Sparql(node=node, select=select[0], prefixes=prefixes,
                        messages=tuple(m for m in props.get(SH + "message", ()) if isinstance(m, tuple)),
                        deactivated=bool(flag) and flag[0][0] == "true")
        sparql.shape = shape_node
        check_query(sparql, self._label(shape_node), path=self.done[shape_node].path)
        return sparql
