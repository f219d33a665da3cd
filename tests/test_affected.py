"""affected.py with shape_reach.py: the validation after an edit checks the focus nodes whose
results the edit can change, against what the shapes can read from them, and gives every
result a clean build gives (the analysis pinned on small shapes; random edits of a synthetic
KB, also under extra shapes with inverse paths, nested shapes, qualified values,
targetObjectsOf and a multi-hop SPARQL constraint; hand-picked edits of the real KB that only
a multi-hop or SPARQL constraint sees)."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from diplokb import BuildError, Project, affected, shape_reach
from diplokb.rdf import RDF_TYPE
from diplokb.shacl import Engine
from diplokb.synth import generate

from test_incremental import settle

ROOT = Path(__file__).resolve().parents[1]
DKB = "https://w3id.org/diplokb/ontology#"
EX = "http://example.org/"

# ---- the analysis, on small hand-written shapes ------------------------------------------

HEAD = """@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <http://example.org/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
ex: sh:declare [ sh:prefix "ex" ; sh:namespace "http://example.org/"^^xsd:anyURI ] .
"""


def reach_of(turtle: str) -> shape_reach.Reach:
    import pyoxigraph as ox

    triples = [(t.subject, t.predicate, t.object) for t in ox.parse((HEAD + turtle).encode(), format=ox.RdfFormat.TURTLE)]
    return shape_reach.of_engine(Engine(triples=triples))


def lookups(turtle: str, name: str = "ex:S") -> set:
    reach = reach_of(turtle)
    assert reach.bounded, reach.why
    (found,) = [s for s in reach.shapes if s.name == EX + name[3:] or s.name == name]
    return {tuple((p[len(EX):] if p and p.startswith(EX) else "type" if p == RDF_TYPE else p, inv)
                  for p, inv in path) for path in found.lookups}


def f(*names):
    """A lookup path of forward steps ('^a': inverse)."""
    return tuple((n.lstrip("^"), n.startswith("^")) for n in names)


def test_sequence_inverse_and_alternative_paths():
    assert lookups("ex:S sh:targetClass ex:C ; sh:property [ sh:path ( ex:a ex:b ) ; sh:minCount 1 ] .") == {
        f("a"), f("a", "b")}
    assert lookups("ex:S sh:targetClass ex:C ; sh:property [ sh:path [ sh:inversePath ex:a ] ; sh:maxCount 1 ] .") == {
        f("^a")}
    assert lookups("ex:S sh:targetClass ex:C ; sh:property [ sh:path [ sh:inversePath ( ex:a ex:b ) ] ; sh:maxCount 1 ] .") == {
        f("^b"), f("^b", "^a")}
    assert lookups("ex:S sh:targetClass ex:C ; sh:property [ sh:path [ sh:alternativePath ( ex:a ( ex:b ex:c ) ) ] ; "
                   "sh:maxCount 1 ] .") == {f("a"), f("b"), f("b", "c")}
    assert lookups("ex:S sh:targetClass ex:C ; sh:property [ sh:path [ sh:zeroOrOnePath ex:a ] ; sh:class ex:D ] .") == {
        f("a"), f("type"), f("a", "type")}


def test_nested_shapes_class_and_pairs():
    found = lookups("""
        ex:S sh:targetClass ex:C ; sh:property [ sh:path ex:a ; sh:node ex:N ] ;
            sh:property [ sh:path ex:e ; sh:equals ex:f ; sh:or ( [ sh:class ex:K ] [ sh:datatype xsd:string ] ) ] ;
            sh:property [ sh:path ex:q ; sh:qualifiedValueShape [ sh:path ex:r ; sh:minCount 1 ] ; sh:qualifiedMinCount 1 ] .
        ex:N sh:property [ sh:path ex:b ; sh:not [ sh:class ex:D ] ] .""")
    assert found == {f("a"), f("a", "b"), f("a", "b", "type"), f("e"), f("f"), f("e", "type"), f("q"), f("q", "r")}


def test_closed_reads_every_predicate():
    found = lookups("ex:S sh:targetNode ex:n ; sh:closed true ; sh:property [ sh:path ex:a ] .")
    assert found == {f("a"), ((None, False),)}


def test_targets_are_kept():
    reach = reach_of("ex:S sh:targetSubjectsOf ex:a ; sh:targetObjectsOf ex:b ; sh:property [ sh:path ex:a ; sh:maxCount 1 ] .")
    (s,) = reach.shapes
    assert s.subjects_of == {EX + "a"} and s.objects_of == {EX + "b"}
    assert reach.objects_of == {EX + "b"} and reach.by_predicate[EX + "a"] == ((0, (), False),)


SPARQL = """ex:S sh:targetClass ex:C ; sh:sparql [ sh:prefixes ex: ; sh:select \"\"\"
    SELECT $this WHERE { %s }\"\"\" ] ."""


def test_a_sparql_constraint_is_walked_from_this():
    assert lookups(SPARQL % "$this ex:a ?x . ?x ex:b/ex:c ?y . FILTER NOT EXISTS { ?z ex:d ?y }") == {
        f("a"), f("a", "b"), f("a", "b", "c"), f("a", "b", "c", "^d")}
    assert lookups(SPARQL % "?x ex:a $this ; ex:b|^ex:c [ ex:d ?w ] . FILTER (?w != 1)") == {
        f("^a"), f("^a", "b"), f("^a", "^c"), f("^a", "b", "d"), f("^a", "^c", "d")}
    # a variable an EXISTS block reaches is not reached for the group: the group's pattern is
    # read from $this's side
    assert lookups(SPARQL % "$this ex:a ?x . ?x ex:b ?y . FILTER EXISTS { $this ex:c ?y }") == {
        f("a"), f("a", "b"), f("c")}


@pytest.mark.parametrize("body", [
    "$this ex:a ?x . ?y ex:b ?z",  # a pattern not connected to $this: every ex:b triple
    "$this ex:a ?x . FILTER NOT EXISTS { ?d ex:b ?e } FILTER NOT EXISTS { $this ex:c ?d }",  # two ?d
    "$this ex:a ?x . FILTER EXISTS { $this ex:c ?y } ?y ex:b ?z",  # ?y: the block's route is not the group's
    "$this ex:a+ ?x",
    "$this ex:a ?x . OPTIONAL { ?x ex:b ?y }",
    "$this ?p ?x",
])
def test_what_a_sparql_reading_cannot_bound_gives_the_fallback(body):
    reach = reach_of(SPARQL % body)
    assert not reach.bounded and reach.why


@pytest.mark.parametrize("shape", [
    "ex:S sh:targetClass ex:C ; sh:property [ sh:path [ sh:zeroOrMorePath ex:a ] ; sh:maxCount 3 ] .",
    "ex:S sh:targetClass ex:C ; sh:property [ sh:path [ sh:oneOrMorePath ex:a ] ; sh:class ex:D ] .",
])
def test_unbounded_paths_give_the_fallback(shape):
    assert not reach_of(shape).bounded


def test_an_unknown_parameter_gives_the_fallback():
    from diplokb.shacl_shapes import Shape

    with pytest.raises(shape_reach.Unbounded, match="sh:frobnicate"):
        shape_reach.shape_lookups(Shape(node=EX + "S", name="ex:S", params={"frobnicate": [1]}))


def test_the_real_shapes_are_bounded():
    reach = shape_reach.analyse(ROOT / "shapes" / "diplokb-shapes.ttl")
    assert reach.bounded, reach.why
    event = next(s for s in reach.shapes if s.name == "dkbs:EventShape")
    assert ((DKB + "evidence", False), (DKB + "source", False), (DKB + "date", False)) in event.lookups


# ---- the walk over a build, and its fallbacks ---------------------------------------------

class FakeState:
    def __init__(self, triples):
        self.rev: dict = {}
        for s, _, o in triples:
            if type(o) is str:
                self.rev.setdefault(o, set()).add(s)

    def reverse(self, o):
        return self.rev.get(o, ())


class FakeBuild:
    """What affected.py asks of incremental.Build: a graph after the edit, the changed subjects
    and their pairs before."""

    def __init__(self, after, before, changed):
        self.graph: dict = {}
        for s, p, o in after:
            self.graph.setdefault(s, set()).add((p, o))
        old: dict = {}
        for s, p, o in before:
            old.setdefault(s, set()).add((p, o))
        self.owners = {s: ["f.yaml"] for s in self.graph}
        self.changed = set(changed)
        self.old_pairs = {s: old.get(s, set()) for s in changed}
        self.link_delta = {s: ({o for _, o in old.get(s, ()) if type(o) is str},
                               {o for _, o in self.graph.get(s, ()) if type(o) is str}) for s in changed}
        self.links = {s: a | b for s, (a, b) in self.link_delta.items()}
        self.old = FakeState(before)

    def graphs_of(self, s):
        return {"g": set(self.graph.get(s, ()))}


SHAPES = """
ex:S sh:targetClass ex:C ; sh:property [ sh:path ( ex:a ex:b ) ; sh:maxCount 1 ] .
ex:T sh:targetClass ex:D ; sh:property [ sh:path [ sh:inversePath ex:c ] ; sh:maxCount 1 ] .
"""


def walk(after, before, changed, shapes=SHAPES):
    return affected.Walk(FakeBuild(after, before, changed), reach_of(shapes), [ROOT / "ontology" / "diplokb.ttl"]).run()


def test_the_walk_finds_the_nodes_reaching_a_changed_triple():
    base = [(EX + "f", RDF_TYPE, EX + "C"), (EX + "f", EX + "a", EX + "m"), (EX + "m", EX + "x", EX + "y"),
            (EX + "g", RDF_TYPE, EX + "C"), (EX + "g", EX + "a", EX + "n"), (EX + "n", EX + "b", ("1", None, None))]
    before = base + [(EX + "m", EX + "b", ("1", None, None))]
    after = base + [(EX + "m", EX + "b", ("2", None, None))]
    focus, reads = walk(after, before, [EX + "m"])
    assert focus == {EX + "m", EX + "f"}  # f reads m's ex:b; g does not reach m
    assert reads == {EX + "m", EX + "f"}
    # an edit of ex:x, which no lookup reads past the focus: m alone
    focus, _ = walk(base + [(EX + "m", EX + "x", EX + "z")], base, [EX + "m"])
    assert focus == {EX + "m"}
    # an inverse step: a new ex:c link to d changes d's results
    d = [(EX + "d", RDF_TYPE, EX + "D")]
    focus, reads = walk(d + [(EX + "k", EX + "c", EX + "d")], d, [EX + "k"])
    assert focus == {EX + "k", EX + "d"} and reads == {EX + "k", EX + "d"}


def test_a_node_no_longer_targeted_is_checked_again():
    """sh:targetObjectsOf: the object of a removed link loses its target (and its results)."""
    shapes = "ex:T sh:targetObjectsOf ex:c ; sh:property [ sh:path ex:q ; sh:minCount 1 ] ."
    link = (EX + "k", EX + "c", EX + "d")
    focus, reads = walk([(EX + "k", EX + "x", EX + "y")], [link], [EX + "k"], shapes)
    assert focus == {EX + "k", EX + "d"}
    focus, reads = walk([link, (EX + "d", EX + "x", EX + "y")], [], [EX + "k"], shapes)
    assert focus == {EX + "k", EX + "d"} and reads == {EX + "k", EX + "d"}  # k: d's target


def test_the_walk_falls_back_on_subclass_edits_and_inverse_steps_at_literals():
    c = [(EX + "C", "http://www.w3.org/2000/01/rdf-schema#subClassOf", EX + "D")]
    assert walk(c, [], [EX + "C"]) is None
    lit = ("x", None, None)
    shapes = "ex:S sh:targetClass ex:C ; sh:property [ sh:path ( ex:a [ sh:inversePath ex:b ] ) ; sh:maxCount 1 ] ."
    assert walk([(EX + "k", EX + "b", lit)], [], [EX + "k"], shapes) is None


def test_unbounded_shapes_use_the_hops_rule(monkeypatch):
    called = []
    monkeypatch.setattr(shape_reach, "analyse", lambda f: shape_reach.Reach(bounded=False, why="test"))
    monkeypatch.setattr(affected, "by_hops", lambda build: called.append(build) or ({"x"}, {"y"}))
    assert affected.affected("the build", ROOT / "shapes" / "diplokb-shapes.ttl") == ({"x"}, {"y"})
    assert called == ["the build"]


# ---- equivalence with a clean build -------------------------------------------------------

def outcome(root: Path, kb: Path, out: Path, cache) -> tuple:
    """('ok', every result row) or ('error', every problem) of a build."""
    try:
        result = Project.find(root, kb=kb, out=out, cache=cache).build(jobs=1)
    except BuildError as exc:
        return ("error", tuple(p.render() for p in exc.problems))
    return ("ok", result.report.results)


def same_as_clean(root: Path, kb: Path, tmp: Path) -> tuple:
    cached = outcome(root, kb, tmp / "out-cached", tmp / "cache")
    clean = outcome(root, kb, tmp / "out-clean", False)
    assert cached == clean
    return cached


EXTRA_SHAPES = """
# extra shapes (Warnings) that read backwards, deep, nested and across files
dkbs:ManyStatements a sh:NodeShape ; sh:targetClass dkb:Person ; sh:severity sh:Warning ;
    sh:property [ sh:path [ sh:inversePath dkb:speaker ] ; sh:maxCount 5 ; sh:severity sh:Warning ;
                  sh:message "speaks often" ] .
dkbs:MadeInAtlantis a sh:NodeShape ; sh:targetClass dkb:Statement ; sh:severity sh:Warning ;
    sh:property [ sh:path ( dkb:madeAt dkb:place ) ; sh:node dkbs:InAtlantis ; sh:severity sh:Warning ] .
dkbs:InAtlantis a sh:NodeShape ;
    sh:property [ sh:path dkb:locatedIn ; sh:hasValue <https://w3id.org/diplokb/id/atlantis> ] .
dkbs:FewPlaces a sh:NodeShape ; sh:targetObjectsOf dkb:participant ; sh:severity sh:Warning ;
    sh:property [ sh:path ( [ sh:inversePath dkb:participant ] dkb:place ) ; sh:maxCount 6 ; sh:severity sh:Warning ] .
dkbs:SomeAtlantean a sh:NodeShape ; sh:targetClass dkb:Event ; sh:severity sh:Warning ;
    sh:property [ sh:path dkb:participant ; sh:qualifiedMinCount 1 ; sh:severity sh:Warning ;
                  sh:qualifiedValueShape [ sh:property [ sh:path dkb:nationality ;
                                                         sh:hasValue <https://w3id.org/diplokb/id/atlantis> ] ] ] .
dkbs:OneNationality a sh:NodeShape ; sh:targetClass dkb:Event ; sh:severity sh:Warning ;
    sh:sparql [ sh:prefixes dkbs: ; sh:message "participants of two nationalities" ; sh:select \"\"\"
        SELECT $this WHERE { $this dkb:participant ?p . ?p dkb:nationality ?n .
            FILTER EXISTS { $this dkb:participant ?q . ?q dkb:nationality ?m . FILTER (?m != ?n) } }\"\"\" ] .
"""


def project_root(tmp: Path, extra: str) -> Path:
    """A project folder with our ontology and queries and the shapes plus `extra`."""
    root = tmp / "root"
    (root / "shapes").mkdir(parents=True)
    for name in ("ontology", "queries"):
        (root / name).symlink_to(ROOT / name)
    text = (ROOT / "shapes" / "diplokb-shapes.ttl").read_text(encoding="utf-8")
    (root / "shapes" / "diplokb-shapes.ttl").write_text(text + extra, encoding="utf-8")
    return root


COUNTRIES = ["atlantis", "borduria", "cascadia", "dorne"]
DATES = st.builds(lambda y, m, d: f"{y}-{m:02d}-{d:02d}", st.integers(1999, 2026), st.integers(1, 12), st.integers(1, 28))
# (files, pattern, replacements): one match of the pattern in one of the files is replaced
EDITS = [
    ("sources", r"^  title: .*$", st.sampled_from(["  title: Edited", "  title: Another title"])),
    ("sources", r"^  date: \S+$", DATES.map(lambda d: "  date: " + d)),  # a source's date
    ("sources", r"^    date: \S+\n    status", st.one_of(DATES.map(lambda d: f"    date: {d}\n    status"),
                                                       st.just("    status"))),  # an event's date, or none
    ("sources", r"status: (took-place|announced)", st.sampled_from(["status: took-place", "status: announced"])),
    ("sources", r"speaker: person-\d+", st.integers(0, 12).map(lambda k: f"speaker: person-{k}")),
    ("sources", r"topics: \[[^\]\n]*\]", st.sampled_from(["topics: []", "topics: [trade]", "topics: [health, trade]"])),
    ("sources", r"place: city-\d+", st.integers(0, 39).map(lambda k: f"place: city-{k}")),
    ("sources", r"who: person-\d+", st.integers(0, 12).map(lambda k: f"who: person-{k}")),
    ("sources", r"post: post-\d+", st.integers(0, 3).map(lambda k: f"post: post-{k}")),
    ("sources", r"^    date: [\d-]+\n    quote", st.integers(1999, 2027).map(lambda y: f"    date: {y}\n    quote")),
    ("people", r"^    name: .*$", st.sampled_from(["    name: Renamed Person", "    name: Ka Lo 99"])),
    ("people", r"^    nationality: \w+$", st.one_of(st.sampled_from(COUNTRIES).map(lambda c: "    nationality: " + c),
                                                    st.just("    honorifics: [Sir]"))),
    ("places", r"located_in: \w+", st.sampled_from(COUNTRIES).map(lambda c: "located_in: " + c)),
]


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("synthetic")
    generate(2500, tmp / "kb", seed=11)
    settle(*(tmp / "kb").rglob("*.*"))
    root = project_root(tmp, EXTRA_SHAPES)
    first = same_as_clean(root, tmp / "kb", tmp)
    assert first[0] == "ok" and {r.shape for r in first[1]} >= {"dkbs:ManyStatements", "dkbs:FewPlaces",
                                                                   "dkbs:SomeAtlantean", "dkbs:OneNationality"}
    pristine = {p: p.read_text(encoding="utf-8") for p in (tmp / "kb").rglob("*.yaml")}
    return root, tmp, pristine, set()


def files_of(kb: Path, kind: str) -> list[Path]:
    if kind == "people":
        return [kb / "entities" / "people.yaml"]
    if kind == "places":
        return [kb / "entities" / "places-orgs.yaml"]
    return sorted((kb / "sources").glob("*.yaml"))


def restore(pristine: dict, paths) -> None:
    for path in list(paths):
        path.write_text(pristine[path], encoding="utf-8")
        settle(path)


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_random_edits_give_what_a_clean_build_gives(synthetic, data):
    """Each example makes one or two edits of the generated KB (the cache holds the state the
    last example left, so the rebuild also undoes that example's edits), rebuilds with the cache
    and clean and compares every result (or every problem); an example whose build fails is
    undone (and that rebuild compared too)."""
    root, tmp, pristine, dirty = synthetic
    kb = tmp / "kb"
    restore(pristine, dirty)  # the edits are drawn from the generated text: no state between examples
    dirty.clear()
    for _ in range(data.draw(st.integers(1, 2))):
        kind, pattern, new = data.draw(st.sampled_from(EDITS))
        files = files_of(kb, kind)
        path = files[data.draw(st.integers(0, len(files) - 1))]
        text = path.read_text(encoding="utf-8")
        found = list(re.finditer(pattern, text, re.M))
        if not found:
            continue
        m = found[data.draw(st.integers(0, len(found) - 1))]
        path.write_text(text[:m.start()] + data.draw(new) + text[m.end():], encoding="utf-8")
        settle(path)
        dirty.add(path)  # at once: a failing example's files are restored by the next one
    if same_as_clean(root, kb, tmp)[0] == "error":
        restore(pristine, dirty)
        dirty.clear()
        result = same_as_clean(root, kb, tmp)
        assert result[0] == "ok", result


def test_a_title_edit_reads_what_it_can_change(tmp_path, monkeypatch):
    """At 100k-like proportions the edit's reads are O(edit): under 1% of the subjects."""
    generate(30000, tmp_path / "kb", seed=3)
    settle(*(tmp_path / "kb").rglob("*.*"))
    same_as_clean(ROOT, tmp_path / "kb", tmp_path)
    seen = []
    original = affected.affected

    def spy(build, *args):
        found = original(build, *args)
        seen.append((len(build.owners), found, affected.by_hops(build)))
        return found

    monkeypatch.setattr(affected, "affected", spy)
    path = tmp_path / "kb" / "sources" / "src-000002.yaml"
    path.write_text(path.read_text().replace("title: Synthetic report 2\n", "title: Edited\n"))
    settle(path)
    same_as_clean(ROOT, tmp_path / "kb", tmp_path)
    ((subjects, (focus, reads), (old_focus, old_reads)),) = seen
    assert len(focus) == 1 and len(reads) < subjects / 100, (len(focus), len(reads), subjects)
    assert len(old_reads) > 10 * len(reads)  # what the HOPS rule read


# ---- the real KB: edits only a multi-hop or SPARQL constraint sees ---------------------------

def replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, (path, old)
    path.write_text(text.replace(old, new), encoding="utf-8")
    settle(path)


REAL_EDITS = [
    # (file, old, new, shape that reports it, a word of its message): each on an unchanged subject
    ("sources/004_7c41dd0fd9d3f71f.yaml", "  date: 2024-11-30/2024-12-01\n", "  date: 2024-12-10\n",
     "dkbs:EventShape", "announced event ends"),  # evidence/source/date of an announced event
    ("sources/000_2314cb523628f110.yaml", "  date: 2023-07-24\n  dateline", "  date: 2023-07-01\n  dateline",
     "dkbs:PostAttestationShape", "after its source's date"),  # evidence/source/date of a post attestation
    ("sources/002_e414bc1f994df249.yaml", "    date: 2023-07-20/2023-07-24\n    status: took-place\n    place: cambodia\n"
     "    invited_by", "    date: 2023-07-21/2023-07-23\n    status: took-place\n    place: cambodia\n    invited_by",
     "dkbs:BoundsShape", "not within"),  # subEventOf/(startDate|date) of the bounded events
    ("sources/000_2314cb523628f110.yaml", "    date: 2023-07-24\n    status: took-place\n    place: phnom-penh\n    venue",
     "    date: 2023-07-20\n    status: took-place\n    place: phnom-penh\n    venue",
     "dkbs:AttestedAtShape", "after the event that names it ended"),  # attestedAt/date of a post attestation
    ("entities/differences.yaml",
     '      - source: src-002\n        says: External Relations Commission of the CPP.\n'
     '        quote: "Chairman of the External Relations Commission of the CPP"',
     '      - source: src-000\n        says: External Relations Commission of the CPP.\n'
     '        quote: "Chairman of the Commission for International Relations of the Cambodian People\'s Party Central Committee"',
     "dkbs:DifferenceClaimsShape", "needs a claim from each source"),  # claim/source of a difference
    ("entities/places.yaml", "{id: china, name: China, kind: country}", "{id: china, name: China, kind: city}",
     None, "not a dkb:Country"),  # sh:class: the nationality's rdf:type, in another file
]


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("real")
    shutil.copytree(ROOT / "kb", tmp / "kb")
    settle(*(tmp / "kb").rglob("*.*"))
    assert same_as_clean(ROOT, tmp / "kb", tmp)[0] == "ok"
    return tmp


@pytest.mark.parametrize("rel, old, new, shape, words", REAL_EDITS, ids=[e[3] or "class" for e in REAL_EDITS])
def test_real_edits_that_a_deep_constraint_sees(real, rel, old, new, shape, words):
    kb = real / "kb"
    before = same_as_clean(ROOT, kb, real)
    replace(kb / rel, old, new)
    try:
        after = same_as_clean(ROOT, kb, real)
    finally:
        replace(kb / rel, new, old)
    found = [x for x in after[1] if words in (x if isinstance(x, str) else x.message)
             and (shape is None or isinstance(x, str) or x.shape == shape)]
    assert found and not [x for x in before[1] if words in (x if isinstance(x, str) else x.message)], after
    assert same_as_clean(ROOT, kb, real) == before


def test_a_parent_event_losing_its_date_warns_its_undated_part(real):
    """EventDateShape's NOT EXISTS { $this dkb:subEventOf/(dkb:date|dkb:startDate) ?d2 }: the
    part (in the same file, unchanged) is warned only once its parent has no date."""
    kb = real / "kb"
    rel = kb / "sources" / "002_e414bc1f994df249.yaml"
    child = ("    within: 2023-07-20/2023-07-24\n    status: took-place\n    part_of: "
             "qian-hongshan-election-observation-visit-2023\n    participants:\n      - {who: qian-hongshan, side: china}")
    text = rel.read_text(encoding="utf-8")
    at = text.index(child)
    rel.write_text(text[:at] + child.replace("    within: 2023-07-20/2023-07-24\n", "") + text[at + len(child):],
                   encoding="utf-8")
    settle(rel)
    try:
        first = same_as_clean(ROOT, kb, real)
        parent = "    date: 2023-07-20/2023-07-24\n    status: took-place\n    place: cambodia\n    invited_by"
        replace(rel, parent, parent.replace("    date: 2023-07-20/2023-07-24\n", "    within: 2023-07-19/2023-07-25\n"))
        replace(rel, "    inferred: [date]\n    note: The text gives", "    note: The text gives")
        second = same_as_clean(ROOT, kb, real)
    finally:
        rel.write_text(text, encoding="utf-8")
        settle(rel)
    warned = lambda o: {r.focus for r in o[1] if not isinstance(r, str) and r.shape == "dkbs:EventDateShape"}
    assert first[0] == second[0] == "ok", (first, second)
    assert len(warned(second) - warned(first)) >= 1, (warned(first), warned(second))
    assert same_as_clean(ROOT, kb, real)[0] == "ok"


def test_a_shape_targeting_literal_objects_is_checked_as_a_clean_build_checks_it(tmp_path):
    """sh:targetObjectsOf a literal-valued predicate: a literal is a focus node that neither rule
    can follow (the reverse links hold IRIs), so an edit changing a literal object validates
    everything: the warning comes with the long title and goes with it, as in clean builds."""
    extra = ("\ndkbs:ShortTitles a sh:NodeShape ; sh:targetObjectsOf dcterms:title ; sh:severity sh:Warning ;"
             ' sh:maxLength 200 ; sh:message "a long title" .\n')
    root = project_root(tmp_path, extra)
    kb = tmp_path / "kb"
    shutil.copytree(ROOT / "kb", kb)
    settle(*kb.rglob("*.*"))
    source = kb / "sources" / "000_2314cb523628f110.yaml"

    def long_titles(found):
        return [x for x in found[1] if not isinstance(x, str) and x.message == "a long title"]

    assert not long_titles(same_as_clean(root, kb, tmp_path))
    title = "title: Cambodia, China to further deepen partnership amid diplomatic anniversary"
    replace(source, title, title + " and" * 50)
    assert len(long_titles(same_as_clean(root, kb, tmp_path))) == 1
    replace(source, title + " and" * 50, title)
    assert not long_titles(same_as_clean(root, kb, tmp_path))
