"""shacl.py, the fast engine, reports what pySHACL (the reference) reports, on real and on
synthetic data with deliberately broken records. (Shape by shape: tests/test_shapes.py.)"""
from __future__ import annotations

from pathlib import Path

import pytest

from diplokb import Project
from diplokb.rdf import RDF_TYPE
from diplokb.shacl import Engine, ShapeError, _predicates_read
from diplokb.synth import generate

ROOT = Path(__file__).resolve().parents[1]


def key(report):
    return sorted((r.focus, r.path, r.severity, r.shape, r.location) for r in report.results)


def reports(project: Project):
    compiled = project.compile()
    from diplokb.validate import validate

    args = (compiled.triples, compiled.locations, project.shapes_file, project.ontology_files)
    return validate(*args, engine="pyshacl"), validate(*args, engine="fast")


def test_engines_agree_on_the_real_kb(project):
    ref, fast = reports(project)
    assert key(fast) == key(ref)
    assert len(ref.warnings) >= 1


def test_engines_agree_on_a_synthetic_kb_with_broken_records(tmp_path, monkeypatch):
    counts = generate(8000, tmp_path / "kb", seed=3, broken=0.01)
    assert counts["broken"] >= 1
    monkeypatch.chdir(tmp_path)
    ref, fast = reports(Project.find(ROOT, kb=tmp_path / "kb", out=tmp_path / "out"))
    assert ref.violations, "the broken records must be caught"
    assert key(fast) == key(ref)


def test_the_plain_form_of_terms_gives_the_same_results(tmp_path, monkeypatch):
    """The compiler emits terms in their plain form (rdf.py: an IRI as str, a literal as a
    tuple); term objects (IRI, Literal) give the same results, broken records included."""
    from diplokb.rdf import IRI, Literal
    from diplokb.validate import validate

    generate(8000, tmp_path / "kb", seed=3, broken=0.01)
    monkeypatch.chdir(tmp_path)
    project = Project.find(ROOT, kb=tmp_path / "kb", out=tmp_path / "out")
    compiled = project.compile()
    plain = list(compiled.triples)
    assert all(type(t) in (str, tuple) for triple in plain for t in triple)
    objects = [tuple(IRI(t) if isinstance(t, str) else Literal(*t) for t in triple) for triple in plain]
    args = (compiled.locations, project.shapes_file, project.ontology_files)
    as_objects, as_plain = (validate(t, *args, engine="fast") for t in (objects, plain))
    assert as_objects.violations
    assert key(as_plain) == key(as_objects)
    assert [r.message for r in as_plain.results] == [r.message for r in as_objects.results]


def test_an_unsupported_shacl_term_is_an_error_not_ignored(tmp_path):
    shapes = tmp_path / "s.ttl"
    shapes.write_text("@prefix sh: <http://www.w3.org/ns/shacl#> .\n"
                      "<urn:s> a sh:NodeShape ; sh:targetClass <urn:C> ; sh:rule [ ] .\n")
    with pytest.raises(ShapeError, match=r"sh:rule.*|<urn:s>.*sh:rule"):
        Engine(shapes)


P = {"dkb": "urn:d#", "skos": "urn:s#"}


@pytest.mark.parametrize("select, names", [
    ("SELECT $this ?a WHERE { $this dkb:p/dkb:q ?a ; skos:r <urn:x> . FILTER (?a != 'b:c') }",
     {"urn:d#p", "urn:d#q", "urn:s#r"}),
    ("SELECT $this ?a ?b WHERE { $this a dkb:C ; dkb:p ?a, ?b }", {RDF_TYPE, "urn:d#p"}),
    ("PREFIX e: <urn:e#> SELECT $this WHERE { $this e:p ?a ; ^dkb:q ?b ; dkb:r+ ?c }",  # inline PREFIX
     {"urn:e#p", "urn:d#q", "urn:d#r"}),
    ("SELECT $this WHERE { $this dkb:p [ dkb:q ?o ] FILTER (!BOUND(?o)) }", {"urn:d#p", "urn:d#q"}),
])
def test_the_store_for_sparql_constraints_holds_the_predicates_they_name(select, names):
    assert _predicates_read(select, P) == names


@pytest.mark.parametrize("select", [
    "SELECT $this WHERE { $this ?p ?o }",            # a variable predicate
    "SELECT $this WHERE { $this dkb:p ?o ; ?p 1 }",
    "SELECT $this WHERE { <urn:x> ?p $this }",
    "SELECT $this WHERE { $this dkb:p [ ?p ?o ] }",
    "SELECT $this WHERE { $this !dkb:p ?o }",        # a negated property set: any other predicate
    "SELECT $this WHERE { $this dkb:p* ?o }",        # zero-length paths reach every node
    "SELECT $this WHERE { $this (dkb:p/dkb:q)? ?o }",
])
def test_a_constraint_that_may_read_any_triple_gets_every_triple(select):
    assert _predicates_read(select, P) is None


def test_a_constraint_with_a_variable_predicate_sees_every_triple(tmp_path):
    from diplokb.rdf import IRI, Literal
    from diplokb.shacl import validate_fast

    shapes = tmp_path / "s.ttl"
    shapes.write_text('@prefix sh: <http://www.w3.org/ns/shacl#> .\n'
                      '<urn:s> a sh:NodeShape ; sh:targetClass <urn:C> ; sh:sparql [ sh:select """\n'
                      '  SELECT $this WHERE { $this a <urn:C> . FILTER NOT EXISTS { $this ?p "x" } }""" ] .\n')
    triples = {(IRI("urn:a"), IRI(RDF_TYPE), IRI("urn:C")), (IRI("urn:a"), IRI("urn:other"), Literal("x")),
               (IRI("urn:b"), IRI(RDF_TYPE), IRI("urn:C"))}
    report = validate_fast(triples, {}, shapes, [])
    assert [r.focus for r in report.results] == ["urn:b"]


def test_a_node_reached_twice_along_a_sequence_path_is_one_value(tmp_path):
    """SHACL's value nodes of a path are a set: a node reached through two intermediate nodes
    counts once for sh:maxCount, as pySHACL counts it; three distinct ones are too many."""
    from diplokb.validate import validate

    shapes = tmp_path / "s.ttl"
    shapes.write_text('@prefix sh: <http://www.w3.org/ns/shacl#> .\n'
                      '<urn:s> a sh:NodeShape ; sh:targetClass <urn:C> ;\n'
                      '  sh:property [ sh:path ( <urn:p> <urn:q> ) ; sh:maxCount 2 ] .\n')
    triples = [("urn:x", RDF_TYPE, "urn:C"), ("urn:x", "urn:p", "urn:a"), ("urn:x", "urn:p", "urn:b"),
               ("urn:a", "urn:q", "urn:v"), ("urn:b", "urn:q", "urn:v"), ("urn:a", "urn:q", "urn:w"),
               ("urn:y", RDF_TYPE, "urn:C"), ("urn:y", "urn:p", "urn:a"), ("urn:y", "urn:p", "urn:c"),
               ("urn:c", "urn:q", "urn:u")]
    for engine in ("fast", "pyshacl"):
        report = validate(triples, {}, shapes, [], engine=engine)
        assert [r.focus for r in report.violations] == ["urn:y"], engine
