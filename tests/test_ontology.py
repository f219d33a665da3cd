"""ontology/: complete, labelled, aligned, and covering every term the data uses."""
from __future__ import annotations

import rdflib
from rdflib.namespace import OWL, RDF, RDFS, SKOS

from diplokb.rdf import DKB

DKBNS = rdflib.Namespace(DKB)


def load(project):
    g = rdflib.Graph()
    for f in project.ontology_files:
        g.parse(f, format="turtle")
    return g


def test_ontology_header(project):
    g = load(project)
    onto = rdflib.URIRef("https://w3id.org/diplokb/ontology")
    assert (onto, RDF.type, OWL.Ontology) in g
    assert g.value(onto, OWL.versionIRI) is not None


def test_every_class_and_property_is_labelled_commented_and_aligned_or_typed(project):
    g = load(project)
    terms = [s for s in set(g.subjects(RDF.type, None)) if str(s).startswith(DKB)]
    assert len(terms) > 60
    for t in terms:
        assert g.value(t, RDFS.label) is not None, t
        assert g.value(t, RDFS.comment) is not None, t
    for prop in g.subjects(RDF.type, OWL.ObjectProperty):
        if str(prop).startswith(DKB):
            assert g.value(prop, RDFS.domain) is not None or g.value(prop, RDFS.range) is not None \
                or str(prop) in (DKB + "concerns",), prop
    classes = [c for c in g.subjects(RDF.type, OWL.Class) if str(c).startswith(DKB)]
    assert all(g.value(c, RDFS.subClassOf) is not None for c in classes)


def test_every_term_the_kb_uses_is_declared(project, built):
    g = load(project)
    declared = {str(s) for s in g.subjects(RDF.type, None)}
    _, result = built
    used = {str(p) for _, p, _ in result.compiled.triples if str(p).startswith(DKB)}
    used |= {str(o) for _, p, o in result.compiled.triples
             if str(p) == str(RDF.type) and str(o).startswith(DKB)}
    assert used - declared == set()


def test_every_kind_is_a_skos_concept_and_event_kinds_carry_cameo_codes(project):
    g = load(project)
    schemes = set(g.subjects(RDF.type, SKOS.ConceptScheme))
    assert len(schemes) >= 8
    event_kinds = rdflib.URIRef("https://w3id.org/diplokb/vocab/event-kind")
    coded = [c for c in g.subjects(SKOS.inScheme, event_kinds) if g.value(c, DKBNS.cameoCode)]
    assert len(coded) >= 10
    assert str(g.value(rdflib.URIRef("https://w3id.org/diplokb/vocab/event-kind/courtesy-call"), DKBNS.cameoCode)) == "042"
