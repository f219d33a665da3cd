"""What each shape can read from a focus node: a sound reading of the shapes graph, for the
validation after an edit (affected.py).

A *step* is (predicate, inverse): from a node, the triples (node, predicate, *) (forward) or
(*, predicate, node) (inverse); predicate None is any predicate (sh:closed reads them all).
A *lookup path* is a tuple of steps: from the focus node, follow the steps before the last,
then read the triples of the last step at each node reached. A shape's `lookups` hold every
lookup its checks can make, prefix-closed (to reach a node two steps away, the first step is
read too). The validation of a focus node against a shape depends on nothing but the triples
its lookups read in the data graph (the KB with the ontology merged in), so an edit that
changes none of them cannot change its results.

What a construct reads, from the node it is evaluated at (a property shape: from its focus,
along its path to the value nodes):

- a path: its steps (a sequence in order, an inverse path reversed, an alternative or
  sh:zeroOrOnePath one sequence per member); `*` and `+` are not bounded;
- sh:class: each value node's rdf:type (the class hierarchy is the ontology's: affected.py
  falls back when an edit touches rdfs:subClassOf);
- sh:node, sh:not, sh:and, sh:or, sh:xone, sh:qualifiedValueShape (and its disjoint
  siblings), sh:property: what the shapes they name read, from each value node;
- sh:equals, sh:disjoint, sh:lessThan, sh:lessThanOrEquals: that predicate at the focus;
- sh:closed: every predicate of each value node;
- a SPARQL constraint: its patterns walked from $this (shape_reach_sparql.py);
- the other parameters (counts, datatype, pattern, hasValue, in, ...) read only the values.

Anything else (a parameter not listed, `*`/`+`, a SPARQL form the reading does not know, a
shape referring to itself) makes the analysis `bounded=False`: affected.py then uses the rule
that does not read the shapes.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .rdf import RDF_TYPE
from .shape_reach_sparql import Unbounded, expand, lookups as sparql_lookups

__all__ = ["Reach", "ShapeReach", "Unbounded", "analyse", "of_engine", "shape_lookups"]

# Parameters that read nothing beyond the value nodes (and their count).
VALUE_ONLY = frozenset(("datatype", "nodeKind", "minExclusive", "minInclusive", "maxExclusive", "maxInclusive",
                        "minLength", "maxLength", "languageIn", "in", "hasValue", "minCount", "maxCount",
                        "uniqueLang"))
AT_FOCUS = ("equals", "disjoint", "lessThan", "lessThanOrEquals")
SHAPES_AT_VALUE = ("node", "not")
LISTS_AT_VALUE = ("and", "or", "xone")
KNOWN = VALUE_ONLY | frozenset(AT_FOCUS + SHAPES_AT_VALUE + LISTS_AT_VALUE + ("class",))


@dataclass(frozen=True)
class ShapeReach:
    """A shape that targets nodes, with what it reads from each of them."""
    name: str
    target_class: frozenset
    target_node: frozenset
    subjects_of: frozenset  # sh:targetSubjectsOf predicates
    objects_of: frozenset  # sh:targetObjectsOf predicates
    lookups: frozenset  # lookup paths (tuples of steps)
    trie: dict  # the lookups as step -> trie, for walking them forward


@dataclass(frozen=True)
class Reach:
    """The analysis of a shapes graph: `bounded` False when some shape reads what it cannot bound
    (`why` says what); else the targeting shapes, and every lookup by the predicate of its last
    step, as (shape index, prefix, inverse) (predicate None: lookups of any predicate)."""
    bounded: bool
    why: str
    shapes: tuple = ()
    by_predicate: dict | None = None
    subjects_of: frozenset = frozenset()
    objects_of: frozenset = frozenset()


def shape_lookups(shape, _stack: tuple = ()) -> frozenset:
    """The lookup paths a shape (shacl_shapes.Shape) reads from the node it is evaluated at;
    raises Unbounded."""
    if shape.deactivated:
        return frozenset()
    if any(s is shape for s in _stack):
        raise Unbounded(f"shape {shape.name} refers to itself")
    stack = _stack + (shape,)
    unknown = set(shape.params) - KNOWN
    if unknown:
        raise Unbounded(f"shape {shape.name} uses {', '.join(sorted('sh:' + k for k in unknown))}, "
                        "which the analysis does not read")
    prm = shape.params
    at_value: set = set()
    if prm.get("class"):
        at_value.add(((RDF_TYPE, False),))
    for key in SHAPES_AT_VALUE:
        for s in prm.get(key, ()):
            at_value |= shape_lookups(s, stack)
    for key in LISTS_AT_VALUE:
        for members in prm.get(key, ()):
            for s in members:
                at_value |= shape_lookups(s, stack)
    for prop in shape.properties:
        at_value |= shape_lookups(prop, stack)
    if shape.qualified is not None:
        for s in [shape.qualified["shape"], *shape.qualified["siblings"]]:
            at_value |= shape_lookups(s, stack)
    if shape.closed is not None:
        at_value.add(((None, False),))
    out = {((p, False),) for key in AT_FOCUS for p in prm.get(key, ())}
    for sparql in shape.sparql:
        if not sparql.deactivated:
            if shape.path is not None:
                raise Unbounded(f"shape {shape.name}: a SPARQL constraint of a property shape")
            out |= sparql_lookups(sparql.query)
    for end in ([()] if shape.path is None else expand(shape.path)):
        out.update(end[:k] for k in range(1, len(end) + 1))
        out.update(end + r for r in at_value)
    return frozenset(out)


def _trie(lookups) -> dict:
    root: dict = {}
    for path in sorted(lookups, key=len):
        node = root
        for step in path:
            node = node.setdefault(step, {})
    return root


def of_engine(engine) -> Reach:
    """The analysis of the shapes an Engine (shacl.py) read."""
    shapes, by_pred = [], {}
    try:
        for s in engine.shapes:  # those with targets, not deactivated
            found = shape_lookups(s)
            t = s.targets
            shapes.append(ShapeReach(
                name=s.name, target_class=frozenset(t.get("targetClass", ())),
                target_node=frozenset(t.get("targetNode", ())),
                subjects_of=frozenset(t.get("targetSubjectsOf", ())),
                objects_of=frozenset(t.get("targetObjectsOf", ())), lookups=found, trie=_trie(found)))
    except Unbounded as exc:
        return Reach(bounded=False, why=str(exc))
    for i, s in enumerate(shapes):
        for path in s.lookups:
            p, inverse = path[-1]
            by_pred.setdefault(p, []).append((i, path[:-1], inverse))
    return Reach(bounded=True, why="", shapes=tuple(shapes), by_predicate={p: tuple(v) for p, v in by_pred.items()},
                 subjects_of=frozenset().union(*(s.subjects_of for s in shapes)),
                 objects_of=frozenset().union(*(s.objects_of for s in shapes)))


_MEMO: dict = {}


def analyse(shapes_file: Path) -> Reach:
    """The analysis of a shapes file (remembered in the process by the file's bytes)."""
    from .shacl import Engine

    data = Path(shapes_file).read_bytes()
    found = _MEMO.get(data)
    if found is None:
        found = _MEMO[data] = of_engine(Engine(shapes_file))
    return found
