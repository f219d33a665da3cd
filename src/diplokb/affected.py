"""What the validation reads after an edit (pipeline.Project._build, incremental.Build).

`affected(build, shapes_file, ontology_files)`: (the focus nodes whose SHACL results the edit
can change, the subjects whose triples their checks can read). With the shapes' analysis
(shape_reach.py: for each targeting shape, the lookups its checks make from a focus node):

- the changed triples are those the changed subjects had before and have now, not both;
- a node is a focus node to check again when it is a changed subject (its targeting may have
  changed: its rdf:type, a sh:targetSubjectsOf predicate), the object of a changed triple of a
  sh:targetObjectsOf predicate, or targeted (after the edit) by a shape one of whose lookups
  reads a changed triple: found by walking that lookup's steps backwards from the changed
  triple's subject (or object, for an inverse step) in the graph after the edit. A result
  differs only if some lookup of the check after the edit reads a triple that changed (with
  none changed, the check reads the same triples before and after: the same result), so
  this finds every node whose results can change;
- the reads are each focus node, what the lookups of the shapes targeting it reach from it
  (walked forwards), the subjects a sh:targetObjectsOf target needs, and the KB subjects among
  the classes of what is read (with their superclasses).

The graph walked is the KB after the edit (the build's triples, the reverse-link shards with
this build's changes) with the ontology merged in, as the validation sees it. What the
analysis cannot bound (shape_reach's `bounded` False), an edit of rdfs:subClassOf, an inverse
step at a literal: the rule below (`by_hops`), which does not read the shapes.

`by_hops`: the shapes look at most HOPS links away from a focus node (a statement's evidence's
source's date is two), so a changed subject can only change the results of nodes that reach it
in at most HOPS links, of the nodes it links to (a target of sh:targetObjectsOf), and of
itself. Those focus nodes are checked again against the subjects within HOPS links of them (and
those linking to them); every other focus node keeps its results.
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from .rdf import RDF_TYPE

SUBCLASS = "http://www.w3.org/2000/01/rdf-schema#subClassOf"
HOPS = 3


def triples(build, subjects) -> set:
    """The triples of the subjects (in the plain form: rdf.py)."""
    out = set()
    for s in subjects:
        for pairs in build.graphs_of(s).values():
            out.update((s, p, o) for p, o in pairs)
    return out


def affected(build, shapes_file: Path | None = None, ontology_files=()) -> tuple[set, set] | None:
    """(focus nodes to check again, subjects their checks may read), or None when every focus
    node must be checked again: a literal object changed and a shape may target the objects of
    a predicate (sh:targetObjectsOf). A literal is a focus node of such a shape, but neither
    rule can find which other subjects still hold it (the reverse links hold IRIs), so a
    removed one's results, or those of one still held elsewhere, are not known in part."""
    if shapes_file is not None:
        from .shape_reach import analyse

        if _targets_objects(shapes_file, ontology_files) \
                and any(type(o) is not str for _, _, o in delta(build)):
            return None
        reach = analyse(shapes_file)
        if reach.bounded:
            found = Walk(build, reach, ontology_files).run()
            if found is not None:
                return found
    return by_hops(build)


def delta(build) -> list:
    """The triples (s, p, o) the changed subjects gained or lost in this build."""
    out = []
    for s in build.changed:
        new = set().union(*build.graphs_of(s).values())
        out.extend((s, p, o) for p, o in build.old_pairs.get(s, set()) ^ new)
    return out


def _targets_objects(shapes_file: Path, ontology_files) -> bool:
    """Whether the shapes (or the ontology the validation merges in) may use
    sh:targetObjectsOf: the name anywhere in their text, which errs on the safe side."""
    return any(b"targetObjectsOf" in Path(f).read_bytes() for f in (shapes_file, *ontology_files))


def by_hops(build) -> tuple[set, set]:
    """(focus nodes to check again, subjects their checks may read), by the HOPS rule."""
    reverse = _reverse(build)
    focus = set(build.changed)
    for s in build.changed:  # what a changed subject links (or linked) to
        focus |= links(build, s)
    frontier = set(build.changed)
    for _ in range(HOPS):
        frontier = {x for o in frontier for x in reverse.get(o, ())} - focus
        focus |= frontier
    reads = set(focus) | {x for o in focus for x in reverse.get(o, ())}
    frontier = set(focus)
    for _ in range(HOPS):
        nxt = set()
        for s in frontier:
            if s not in build.owners:
                continue
            for pairs in build.graphs_of(s).values():
                nxt.update(o for _, o in pairs if type(o) is str)
        frontier = nxt - reads
        reads |= frontier
    return focus, reads


def _reverse(build):
    """object IRI -> the subjects linking to it, as far as asked (the cache's shards, with
    this build's changes)."""
    old, link_delta, cached = build.old, build.link_delta, {}
    added: dict = defaultdict(set)
    removed: dict = defaultdict(set)
    for s in build.changed:
        before, after = link_delta.get(s) or ((), links(build, s))
        for o in set(after) - set(before):
            added[o].add(s)
        for o in set(before) - set(after):
            removed[o].add(s)

    class Reverse:
        @staticmethod
        def get(o, default=()):
            found = cached.get(o)
            if found is None:
                found = cached[o] = (set(old.reverse(o)) - removed.get(o, set())) | added.get(o, set())
            return found
    return Reverse


def links(build, s: str) -> set:
    found = build.links.get(s)
    if found is None:  # a subject new in this build (the short path of _render)
        found = {o for pairs in build.graphs_of(s).values() for _, o in pairs if type(o) is str}
    return found


class _Fallback(Exception):
    """Something the walk does not follow exactly: the HOPS rule decides."""


_ONTOLOGY: dict = {}


def ontology(files) -> tuple[dict, dict]:
    """(subject -> predicate -> objects, object -> predicate -> subjects) of the ontology files
    (plain terms, rdf.py), remembered in the process by their bytes."""
    import pyoxigraph as ox

    from .shacl_shapes import term

    datas = tuple(Path(f).read_bytes() for f in files)
    found = _ONTOLOGY.get(datas)
    if found is None:
        spo: dict = defaultdict(lambda: defaultdict(set))
        ops: dict = defaultdict(lambda: defaultdict(set))
        for data in datas:
            for t in ox.parse(data, format=ox.RdfFormat.TURTLE):
                s, p, o = term(t.subject), term(t.predicate), term(t.object)
                spo[s][p].add(o)
                ops[o][p].add(s)
        found = _ONTOLOGY[datas] = ({s: dict(v) for s, v in spo.items()}, {o: dict(v) for o, v in ops.items()})
    return found


class Walk:
    """affected() with the shapes' analysis (shape_reach.Reach): see the module's docstring."""

    def __init__(self, build, reach, ontology_files):
        self.build, self.reach = build, reach
        self.owners = build.owners
        self.onto, self.onto_rev = ontology(ontology_files)
        self.reverse = _reverse(build)
        self.preds: dict = {}
        self.targeted: dict = {}
        self.walked: set = set()
        self.reads: set = set()

    def run(self):
        """(focus, reads), or None when the HOPS rule must decide."""
        try:
            return self._run()
        except _Fallback:
            return None

    def _run(self):
        build, reach = self.build, self.reach
        focus = set(build.changed)
        everything = reach.by_predicate.get(None, ())
        back: dict = {}
        for s, p, o in delta(build):
            if p == SUBCLASS:
                raise _Fallback  # the class hierarchy is read as the ontology's
            if p in reach.objects_of and type(o) is str:
                focus.add(o)
            for i, prefix, inverse in reach.by_predicate.get(p, ()) + everything:
                start = o if inverse else s
                if type(start) is not str:
                    raise _Fallback  # an inverse step at a literal: not in the reverse links
                key = (prefix, start)
                nodes = back.get(key)
                if nodes is None:
                    nodes = back[key] = self._back(prefix, start)
                focus.update(f for f in nodes if i in self.targeting(f))
        for f in focus:
            if type(f) is str and f in self.owners:
                self.reads.add(f)
            for i in self.targeting(f):
                shape = reach.shapes[i]
                self._walk(shape.trie, f)
                for p in shape.objects_of:
                    self.reads.update(x for x in self.subjects(f, p) if x in self.owners)
        classes = set()
        for s in list(self.reads):
            for c in self.preds_of(s).get(RDF_TYPE, ()):
                self._supers(c, classes)
        self.reads.update(c for c in classes if type(c) is str and c in self.owners)
        return focus, self.reads

    # -- the graph after the edit, as far as asked -----------------------------------------
    def preds_of(self, n) -> dict:
        """predicate -> objects of a KB subject (empty for anything else)."""
        found = self.preds.get(n)
        if found is None:
            found = {}
            if type(n) is str and n in self.owners:
                for pairs in self.build.graphs_of(n).values():
                    for p, o in pairs:
                        found.setdefault(p, set()).add(o)
            self.preds[n] = found
        return found

    def objects(self, n, p) -> set:
        """The objects of (n, p, *) (p None: any predicate), the KB's and the ontology's."""
        kb, onto = self.preds_of(n), self.onto.get(n, {})
        if p is None:
            return set().union(*kb.values(), *onto.values())
        return kb.get(p, set()) | onto.get(p, set())

    def subjects(self, n, p) -> set:
        """The subjects of (*, p, n) (p None: any predicate), the KB's and the ontology's."""
        if isinstance(n, tuple):
            raise _Fallback  # a literal (plain or rdf.Literal): the reverse links hold IRIs only
        out = set()
        if type(n) is str:
            for x in self.reverse.get(n, ()):
                objects = self.objects(x, p)
                if n in objects:
                    out.add(x)
        onto = self.onto_rev.get(n, {})
        out.update(*(onto.values() if p is None else (onto.get(p, ()),)))
        return out

    def _supers(self, c, seen: set) -> set:
        if c not in seen:
            seen.add(c)
            for sup in self.objects(c, SUBCLASS):
                self._supers(sup, seen)
        return seen

    def targeting(self, f) -> tuple:
        """The indexes of the shapes that target f after the edit."""
        found = self.targeted.get(f)
        if found is None:
            preds = set(self.preds_of(f)) | set(self.onto.get(f, ()))
            classes: set = set()
            for c in self.objects(f, RDF_TYPE):
                self._supers(c, classes)
            found = self.targeted[f] = tuple(
                i for i, s in enumerate(self.reach.shapes)
                if f in s.target_node or s.target_class & classes or s.subjects_of & preds
                or any(self.subjects(f, p) for p in s.objects_of))
        return found

    def _back(self, prefix: tuple, start) -> set:
        """The nodes from which the steps of `prefix` reach `start`."""
        nodes = {start}
        for p, inverse in reversed(prefix):
            step = set()
            for n in nodes:
                step |= self.objects(n, p) if inverse else self.subjects(n, p)
            nodes = step
            if not nodes:
                break
        return nodes

    def _walk(self, trie: dict, n) -> None:
        """Adds to the reads what the lookups of a trie read from n."""
        key = (id(trie), n)
        if key in self.walked:
            return
        self.walked.add(key)
        for (p, inverse), sub in trie.items():
            if inverse:
                found = self.subjects(n, p)
                self.reads.update(x for x in found if type(x) is str and x in self.owners)
            else:
                if type(n) is str and n in self.owners:
                    self.reads.add(n)
                if not sub:
                    continue
                found = self.objects(n, p)
            for m in found:
                self._walk(sub, m)
