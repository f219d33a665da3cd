"""`diplokb diff`: what changed in the KB between two git revisions, in facts, not lines.

Each revision's kb/, ontology/ and shapes/ are taken from git (`git archive`) into a temporary
folder (the working tree is read where it is) and compiled; the two graphs are compared
subject by subject. A fact (event, statement, post attestation, figure, difference) is shown
with its quotes, participations and claims folded in, so that a new quote for an event reads
as a change of that event. Changes are grouped by the source whose graph holds them
(`entities` for shared entities), each with its label.

A statement, attestation or figure without an explicit `id` has one derived from its content,
so editing its quote shows it removed under one id and added under another.
"""
from __future__ import annotations

import io
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .compiled import compile_kb
from .errors import BuildError, DiplokbError, Problem, SourceLocation
from .loader import load
from .rdf import DKB, GRAPH, ID, RDF_TYPE, curie

LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
KIND = {"Person": "person", "Organization": "organization", "Place": "place", "Country": "place",
        "Post": "post", "Side": "side", "SourceDocument": "source", "Event": "event", "Statement": "statement",
        "PostAttestation": "post attestation", "Figure": "figure", "Difference": "difference"}
NESTED = (DKB + "evidence", DKB + "participation", DKB + "claim")  # folded into the fact that links them
WORKING_TREE = "working tree"
DERIVED_LABELS = ("statement", "post attestation", "figure", "difference")  # labels made from other records


@dataclass(frozen=True)
class Change:
    source: str  # the source id whose graph holds it, or 'entities'
    change: str  # 'added', 'removed' or 'changed'
    kind: str  # person, event, statement...
    id: str
    label: str
    added: tuple = ()  # 'predicate value' lines, for a changed subject
    removed: tuple = ()

    def as_json(self) -> dict:
        return {"source": self.source, "change": self.change, "kind": self.kind, "id": self.id,
                "label": self.label, "added": list(self.added), "removed": list(self.removed)}


@dataclass(frozen=True)
class KBDiff:
    old: str
    new: str
    changes: tuple = field(default=())
    relabelled: int = 0  # records whose only change is a label derived from a renamed entity

    def summary(self) -> dict:
        out = {"added": 0, "removed": 0, "changed": 0}
        for c in self.changes:
            out[c.change] += 1
        return out

    def as_json(self) -> dict:
        return {"from": self.old, "to": self.new, "summary": self.summary(), "relabelled": self.relabelled,
                "changes": [c.as_json() for c in self.changes]}


def _git(root: Path, *args: str) -> bytes:
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, check=False)
    except FileNotFoundError:
        raise DiplokbError("git is not installed: diff compares git revisions") from None
    if done.returncode != 0:
        raise DiplokbError(f"git {' '.join(args[:2])}: {done.stderr.decode('utf-8', 'replace').strip()}")
    return done.stdout


def _extract(root: Path, rev: str, into: Path) -> Path:
    """The KB, ontology and shapes of `rev`, written under `into`."""
    try:
        _git(root, "rev-parse", "--verify", "--quiet", rev + "^{commit}")
    except DiplokbError:
        raise DiplokbError(f"unknown git revision '{rev}' (a commit, branch or tag, e.g. HEAD~1)") from None
    data = _git(root, "archive", "--format=tar", rev, "--", "kb", "ontology", "shapes")
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(into, filter="data")
    return into


def _graph(folder: Path, label: str) -> dict:
    """subject -> (graph, set of (p, o)) of the KB in `folder` (compiled, not validated)."""
    kb = load(folder / "kb", folder / "ontology" / "vocabularies.ttl", base=folder)
    try:
        compiled = compile_kb(kb)
    except BuildError as exc:
        raise BuildError([Problem(SourceLocation(f"{label}: {p.location.file}", p.location.line, p.location.column),
                                  p.message, p.severity, p.hint)
                          for p in exc.problems]) from None
    out: dict = {}
    for q in compiled.quads:
        out.setdefault(q.s, (q.g, set()))[1].add((q.p, q.o))
    return out


def _term(o, labels: dict) -> str:
    if isinstance(o, str):
        short = o.removeprefix(ID) if o.startswith(ID) else (curie(o) or o)
        return short
    value = " ".join(o[0].split())
    return f'"{value}"'


def _describe(s: str, graph: dict, labels: dict) -> set:
    """The lines of a subject: its own predicate-value pairs, and those of the nodes it links
    by NESTED predicates (quotes, participations, claims), each under the linking predicate."""
    lines = set()
    for p, o in graph[s][1]:
        if p in NESTED and isinstance(o, str) and o in graph:
            inner = sorted(f"{curie(ip) or ip} {_term(io, labels)}" for ip, io in graph[o][1]
                           if ip != RDF_TYPE and not (p == DKB + "evidence" and ip == DKB + "source"))
            if p == DKB + "evidence":
                source = next((io for ip, io in graph[o][1] if ip == DKB + "source"), "")
                lines.add(f"quote {_term(source, labels)}: " + "; ".join(i.removeprefix("dkb:quote ") for i in inner))
            else:
                lines.add(f"{curie(p)} [" + "; ".join(inner) + "]")
        else:
            lines.add(f"{curie(p) or p} {_term(o, labels)}")
    return lines


def _facts(graph: dict) -> dict:
    """subject -> (source, kind) of the subjects worth reporting (not nested nodes)."""
    out = {}
    for s, (g, pairs) in graph.items():
        if not s.startswith(ID) or "/" in s.removeprefix(ID):  # evidence, participations, claims
            continue
        types = [o.removeprefix(DKB) for p, o in pairs if p == RDF_TYPE and o.startswith(DKB)]
        kinds = [KIND.get(t, "thing") for t in types]
        if kinds:
            out[s] = (g.removeprefix(GRAPH), sorted(kinds)[0])
    return out


def compare(old: dict, new: dict) -> tuple[list[Change], int]:
    """The changes from graph `old` to `new` (see `_graph`), and how many records changed only
    by a derived label."""
    labels_old = {s: next((o[0] for p, o in pairs if p == LABEL), "") for s, (_, pairs) in old.items()}
    labels_new = {s: next((o[0] for p, o in pairs if p == LABEL), "") for s, (_, pairs) in new.items()}
    facts_old, facts_new = _facts(old), _facts(new)
    changes = []
    followed = 0
    for s in sorted(set(facts_old) | set(facts_new)):
        rid = s.removeprefix(ID)
        if s not in facts_new:
            src, kind = facts_old[s]
            changes.append(Change(src, "removed", kind, rid, labels_old.get(s, "")))
        elif s not in facts_old:
            src, kind = facts_new[s]
            changes.append(Change(src, "added", kind, rid, labels_new.get(s, "")))
        else:
            before, after = _describe(s, old, labels_old), _describe(s, new, labels_new)
            if before != after:
                src, kind = facts_new[s]
                if kind in DERIVED_LABELS and {x.split(" ", 1)[0] for x in before ^ after} == {"rdfs:label"}:
                    followed += 1  # its label follows a renamed entity: the fact is the same
                    continue
                changes.append(Change(src, "changed", kind, rid, labels_new.get(s, ""),
                                      tuple(sorted(after - before)), tuple(sorted(before - after))))
    order = {"added": 0, "changed": 1, "removed": 2}
    return sorted(changes, key=lambda c: (c.source != "entities", c.source, order[c.change], c.kind, c.id)), followed


def diff(root: str | Path, old: str | None = None, new: str | None = None) -> KBDiff:
    """The change in facts from revision `old` (default: HEAD, the last commit) to `new`
    (default: the working tree). Raises DiplokbError for an unknown revision, BuildError when
    a revision's KB does not compile."""
    root = Path(root)
    old = old or "HEAD"
    with tempfile.TemporaryDirectory(prefix="diplokb-diff-") as tmp:
        before = _graph(_extract(root, old, Path(tmp) / "old"), old)
        if new is None:
            after = _graph(root, WORKING_TREE)
        else:
            after = _graph(_extract(root, new, Path(tmp) / "new"), new)
    changes, relabelled = compare(before, after)
    return KBDiff(old, new or WORKING_TREE, tuple(changes), relabelled)


def render(d: KBDiff) -> str:
    """The diff as text, grouped by source."""
    if not d.changes:
        return f"no change in the KB's facts between {d.old} and {d.new}\n"
    out = [f"changes in the KB from {d.old} to {d.new}:"]
    current = None
    mark = {"added": "+", "removed": "-", "changed": "~"}
    for c in d.changes:
        if c.source != current:
            current = c.source
            out.append(f"{c.source}:")
        out.append(f"  {mark[c.change]} {c.kind} {c.id}" + (f": {c.label}" if c.label else ""))
        out += [f"      + {line}" for line in c.added] + [f"      - {line}" for line in c.removed]
    s = d.summary()
    out.append(f"{s['added']} added, {s['changed']} changed, {s['removed']} removed"
               + (f"; {d.relabelled} record(s) whose labels follow a renamed entity not listed" if d.relabelled else ""))
    return "\n".join(out) + "\n"
