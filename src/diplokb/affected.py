"""What the validation reads after an edit (pipeline.Project._build, incremental.Build).

What SHACL results an edit can change: the shapes look at most HOPS links away from a focus
node (a statement's evidence's source's date is two), so a changed subject can only change the
results of nodes that reach it in at most HOPS links, of the nodes it links to (a target of
sh:targetObjectsOf), and of itself. Those focus nodes are checked again against the subjects
within HOPS links of them (and those linking to them); every other focus node keeps its results.
"""
from __future__ import annotations

from collections import defaultdict

HOPS = 3


def triples(build, subjects) -> set:
    """The triples of the subjects (in the plain form: rdf.py)."""
    out = set()
    for s in subjects:
        for pairs in build.graphs_of(s).values():
            out.update((s, p, o) for p, o in pairs)
    return out


def affected(build) -> tuple[set, set]:
    """(focus nodes to check again, subjects their checks may read)."""
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
    old, delta, cached = build.old, build.link_delta, {}
    added: dict = defaultdict(set)
    removed: dict = defaultdict(set)
    for s in build.changed:
        before, after = delta.get(s) or ((), links(build, s))
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
