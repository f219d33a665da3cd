"""shapes/: every shape accepts a conforming graph and rejects a minimal violating one.

A typo in a shape (say `sh:mincount`) is silently ignored by SHACL engines, so the shapes
file is also checked against the SHACL vocabulary.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import rdflib

from diplokb.validate import validate

ROOT = Path(__file__).resolve().parents[1]
SHAPES = ROOT / "shapes" / "diplokb-shapes.ttl"
ONTOLOGY = [ROOT / "ontology" / "diplokb.ttl", ROOT / "ontology" / "vocabularies.ttl"]

PREFIXES = """
@prefix dkb: <https://w3id.org/diplokb/ontology#> .
@prefix id: <https://w3id.org/diplokb/id/> .
@prefix v: <https://w3id.org/diplokb/vocab/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix org: <http://www.w3.org/ns/org#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
"""

BASE = PREFIXES + """
id:kh a dkb:Place, dkb:Country ; rdfs:label "Cambodia" ; dkb:placeKind <https://w3id.org/diplokb/vocab/place-kind/country> .
id:p a dkb:Person ; rdfs:label "P" ; skos:prefLabel "P" ; dkb:nationality id:kh .
id:o a dkb:Organization ; rdfs:label "O" ; dkb:organizationKind <https://w3id.org/diplokb/vocab/organization-kind/ministry> .
id:post a dkb:Post ; rdfs:label "Post" ; org:postIn id:o .
id:side a dkb:Side ; rdfs:label "the side" ; dkb:sideOf id:kh .
id:s a dkb:SourceDocument ; rdfs:label "S" ; dkb:date "2023-07-24"^^xsd:date ;
    dkb:sourceKind <https://w3id.org/diplokb/vocab/source-kind/news-item> ; dkb:archivedText "s.txt" ;
    dkb:sha256 "0000000000000000000000000000000000000000000000000000000000000000" .
id:ev a dkb:Evidence ; dkb:source id:s ; dkb:quote "a quote" .
id:e a dkb:Event ; rdfs:label "E" ; dkb:date "2023-07-24"^^xsd:date ; dkb:evidence id:ev ;
    dkb:eventKind <https://w3id.org/diplokb/vocab/event-kind/meeting> ;
    dkb:status <https://w3id.org/diplokb/vocab/event-status/took-place> ;
    dkb:participant id:p ; dkb:participation id:part .
id:part a dkb:Participation ; dkb:agent id:p ; dkb:onSideOf id:kh .
id:st a dkb:Statement ; dkb:speaker id:side ; dkb:evidence id:ev ; dkb:topic <https://w3id.org/diplokb/vocab/topic/trade> ;
    dkb:statementKind <https://w3id.org/diplokb/vocab/statement-kind/agreed> .
id:att a dkb:PostAttestation ; dkb:holder id:p ; dkb:post id:post ; dkb:asNamed "Post" ;
    dkb:date "2023-07"^^xsd:gYearMonth ; dkb:evidence id:ev .
id:fig a dkb:Figure ; dkb:about id:e ; dkb:measure <https://w3id.org/diplokb/vocab/measure/voter-turnout> ;
    dkb:value "84"^^xsd:decimal ; dkb:evidence id:ev .
id:y a dkb:ThemedYear ; rdfs:label "Y" ; dkb:year "2023"^^xsd:gYear ;
    dkb:thingKind <https://w3id.org/diplokb/vocab/thing-kind/themed-year> .
id:d a dkb:Difference ; dkb:concerns id:p ; dcterms:description "D" ; dkb:claim id:c1, id:c2 ;
    dkb:aspect <https://w3id.org/diplokb/vocab/difference-aspect/name> .
id:c1 a dkb:Claim ; dkb:source id:s ; dkb:says "one" ; dkb:evidence id:ev .
id:c2 a dkb:Claim ; dkb:source id:s2 ; dkb:says "two" ; dkb:evidence id:ev2 .
id:s2 a dkb:SourceDocument ; rdfs:label "S2" ; dkb:date "2023-07-26"^^xsd:date ;
    dkb:sourceKind <https://w3id.org/diplokb/vocab/source-kind/news-item> ; dkb:archivedText "s2.txt" ;
    dkb:sha256 "1111111111111111111111111111111111111111111111111111111111111111" .
id:ev2 a dkb:Evidence ; dkb:source id:s2 ; dkb:quote "another quote" .
"""

# (shape expected to fire, SPARQL update that breaks the base graph, severity)
CASES = {
    "person without label": ("OneLabel", "DELETE WHERE { id:p rdfs:label ?l }", "Violation"),
    "person without nationality": ("PersonShape", "DELETE WHERE { id:p dkb:nationality ?c }", "Warning"),
    "nationality not a country": ("PersonShape", "DELETE { id:p dkb:nationality id:kh } INSERT { id:p dkb:nationality id:o } WHERE {}", "Violation"),
    "organization kind from wrong scheme": ("OrganizationShape", "DELETE { id:o dkb:organizationKind ?k } INSERT { id:o dkb:organizationKind <https://w3id.org/diplokb/vocab/event-kind/meeting> } WHERE { id:o dkb:organizationKind ?k }", "Violation"),
    "place without kind": ("PlaceShape", "DELETE WHERE { id:kh dkb:placeKind ?k }", "Violation"),
    "side of nothing": ("SideShape", "DELETE WHERE { id:side dkb:sideOf ?c }", "Violation"),
    "post in two organizations": ("PostShape", "INSERT DATA { id:post org:postIn id:kh }", "Violation"),
    "thing with two years": ("NamedThingShape", "INSERT DATA { id:y dkb:year \"2024\"^^xsd:gYear }", "Violation"),
    "themed year without year": ("ThemedYearShape", "DELETE WHERE { id:y dkb:year ?y }", "Violation"),
    "source with bad digest": ("SourceDocumentShape", "DELETE { id:s dkb:sha256 ?h } INSERT { id:s dkb:sha256 \"xyz\" } WHERE { id:s dkb:sha256 ?h }", "Violation"),
    "event without evidence": ("Evidence", "DELETE WHERE { id:e dkb:evidence ?ev }", "Violation"),
    "event date as plain string": ("Date", "DELETE { id:e dkb:date ?d } INSERT { id:e dkb:date \"24 July\" } WHERE { id:e dkb:date ?d }", "Violation"),
    "undated event": ("EventDateShape", "DELETE WHERE { id:e dkb:date ?d }", "Warning"),
    "announced event in the past": ("EventShape", "DELETE { id:e dkb:status ?s ; dkb:date ?d } INSERT { id:e dkb:status <https://w3id.org/diplokb/vocab/event-status/announced> ; dkb:date \"2023-07-01\"^^xsd:date } WHERE { id:e dkb:status ?s ; dkb:date ?d }", "Violation"),
    "end before start": ("DateRangeShape", "DELETE { id:e dkb:date ?d } INSERT { id:e dkb:startDate \"2023-07-24\"^^xsd:date ; dkb:endDate \"2023-07-20\"^^xsd:date } WHERE { id:e dkb:date ?d }", "Violation"),
    "date and range": ("RangeOrDateShape", "INSERT DATA { id:e dkb:startDate \"2023-07\"^^xsd:gYearMonth ; dkb:endDate \"2023-08\"^^xsd:gYearMonth }", "Violation"),
    "participation without agent": ("ParticipationShape", "DELETE WHERE { id:part dkb:agent ?a }", "Violation"),
    "statement without speaker": ("StatementShape", "DELETE WHERE { id:st dkb:speaker ?s }", "Violation"),
    "statement without topic": ("StatementShape", "DELETE WHERE { id:st dkb:topic ?t }", "Warning"),
    "statement topic from wrong scheme": ("StatementShape", "INSERT DATA { id:st dkb:topic <https://w3id.org/diplokb/vocab/measure/voter-turnout> }", "Violation"),
    "attestation after its source": ("PostAttestationShape", "DELETE { id:att dkb:date ?d } INSERT { id:att dkb:date \"2024\"^^xsd:gYear } WHERE { id:att dkb:date ?d }", "Violation"),
    "figure without value": ("FigureShape", "DELETE WHERE { id:fig dkb:value ?v }", "Violation"),
    "evidence without quote": ("EvidenceShape", "DELETE WHERE { id:ev dkb:quote ?q }", "Violation"),
    "difference with one claim": ("DifferenceClaimsShape", "DELETE WHERE { id:d dkb:claim id:c2 }", "Warning"),
    "difference without claims": ("DifferenceShape", "DELETE WHERE { id:d dkb:claim ?c }", "Violation"),
    "claim without says": ("ClaimShape", "DELETE WHERE { id:c1 dkb:says ?s }", "Violation"),
    "bound without its pair, on a dated event": ("BoundsShape", "INSERT DATA { id:e dkb:notBefore \"2023-07-20\"^^xsd:date }", "Violation"),
    "bounds outside the parent event": ("BoundsShape", "INSERT DATA { id:e2 dkb:subEventOf id:e ; dkb:notBefore \"2023-07-01\"^^xsd:date ; dkb:notAfter \"2023-07-30\"^^xsd:date }", "Violation"),
    "inferred value without a note": ("InferredShape", "INSERT DATA { id:y dkb:inferred \"year\" }", "Violation"),
    "two wordings for one speaker": ("SpeakerAsNamedShape", "INSERT DATA { id:st dkb:speakerAsNamed \"China\", \"He\" }", "Violation"),
    "area of cooperation from the topic scheme": ("CooperationAreaShape", "INSERT DATA { id:st dkb:cooperationArea <https://w3id.org/diplokb/vocab/topic/trade> }", "Violation"),
    "attestation dated after the event naming it": ("AttestedAtShape", "DELETE { id:att dkb:date ?d } INSERT { id:att dkb:attestedAt id:e ; dkb:date \"2023-07-26\"^^xsd:date } WHERE { id:att dkb:date ?d }", "Warning"),
}


def run(update: str | None, engine: str = "pyshacl"):
    g = rdflib.Graph().parse(data=BASE, format="turtle")
    if update:
        g.update(PREFIXES.replace("@prefix", "PREFIX").replace(" .\n", "\n") + update)
    from diplokb.rdf import IRI, Literal

    triples = set()
    for s, p, o in g:
        obj = IRI(o) if isinstance(o, rdflib.URIRef) else Literal(
            str(o), str(o.datatype) if o.datatype else None, o.language)
        triples.add((IRI(s), IRI(p), obj))
    return validate(triples, {}, SHAPES, ONTOLOGY, engine=engine)


ENGINES = ["pyshacl", "fast"]


@pytest.mark.parametrize("engine", ENGINES)
def test_base_graph_conforms_without_warnings(engine):
    report = run(None, engine)
    assert report.results == ()


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", sorted(CASES))
def test_minimal_violation_is_caught(name, engine):
    shape, update, severity = CASES[name]
    report = run(update, engine)
    assert (f"dkbs:{shape}", severity) in {(r.shape, r.severity) for r in report.results}, \
        [(r.shape, r.render()) for r in report.results]


@pytest.mark.parametrize("name", sorted(CASES))
def test_engines_agree(name):
    _, update, _ = CASES[name]
    ref, fast = run(update, "pyshacl"), run(update, "fast")
    assert sorted((r.focus, r.path, r.severity, r.shape) for r in fast.results) == \
        sorted((r.focus, r.path, r.severity, r.shape) for r in ref.results)


def test_every_node_shape_has_a_violating_case():
    g = rdflib.Graph().parse(SHAPES, format="turtle")
    sh = rdflib.Namespace("http://www.w3.org/ns/shacl#")
    targets = (sh.targetClass, sh.targetSubjectsOf, sh.targetObjectsOf, sh.targetNode)
    node_shapes = {str(s).rsplit("#", 1)[1] for s in g.subjects(rdflib.RDF.type, sh.NodeShape)
                   if any(g.value(s, t) is not None for t in targets)}
    assert node_shapes <= {shape for shape, _, _ in CASES.values()}


SHACL_TERMS = {
    "NodeShape", "PropertyShape", "targetClass", "targetSubjectsOf", "targetObjectsOf", "targetNode",
    "property", "path", "minCount", "maxCount", "datatype", "class", "node", "in", "hasValue",
    "pattern", "minLength", "maxLength", "minInclusive", "maxInclusive", "message", "severity",
    "Warning", "Violation", "Info", "or", "and", "not", "sparql", "select", "prefixes", "declare",
    "prefix", "namespace", "nodeKind", "IRI", "Literal",
}


def test_shapes_use_only_real_shacl_terms():
    g = rdflib.Graph().parse(SHAPES, format="turtle")
    used = {str(t).removeprefix("http://www.w3.org/ns/shacl#") for triple in g for t in triple
            if isinstance(t, rdflib.URIRef) and str(t).startswith("http://www.w3.org/ns/shacl#")}
    assert used <= SHACL_TERMS, used - SHACL_TERMS
