"""compile.py: references resolved, IRIs derived from content, dates typed by precision."""
from __future__ import annotations

from diplokb.rdf import DKB, ID, XSD, IRI, Literal


def test_no_blank_nodes_and_every_subject_under_the_id_space(built):
    _, result = built
    for s, p, o in result.compiled.triples:  # terms in their plain form (rdf.py)
        assert type(s) is str and s.startswith(ID), s
        assert type(o) is str or (type(o) is tuple and len(o) == 3), o


def test_dates_keep_source_precision(built):
    _, result = built
    t = result.compiled.triples
    assert (IRI(ID + "src-003"), IRI(DKB + "date"), Literal("2022-11", XSD + "gYearMonth")) in t
    assert (IRI(ID + "action-plan-signing-2019"), IRI(DKB + "date"), Literal("2019", XSD + "gYear")) in t
    visit = IRI(ID + "li-keqiang-official-visit-2022")
    assert (visit, IRI(DKB + "startDate"), Literal("2022-11-08", XSD + "date")) in t
    assert (visit, IRI(DKB + "endDate"), Literal("2022-11-11", XSD + "date")) in t


def test_one_node_per_person_whatever_the_spelling(built):
    _, result = built
    t = result.compiled.triples
    alt = IRI("http://www.w3.org/2004/02/skos/core#altLabel")
    holders = {s for s, p, o in t if p == alt and o == Literal("PRAK Sokhonn")}
    assert holders == {IRI(ID + "prak-sokhonn")}


def test_every_subject_has_a_yaml_location(built):
    _, result = built
    subjects = {s for s, _, _ in result.compiled.triples}
    missing = [s for s in subjects if s not in result.compiled.locations]
    assert missing == []
    loc = result.compiled.locations[IRI(ID + "courtesy-call-2023-07-24")]
    assert loc.file.endswith("kb/sources/000_2314cb523628f110.yaml") and loc.line > 1


def test_named_graph_per_source_holds_its_records(built):
    _, result = built
    graphs = {q.g for q in result.compiled.quads if q.s == IRI(ID + "courtesy-call-2023-07-24")}
    assert graphs == {IRI(ID + "graph/src-000")}
    # the election is defined in 002; 000 and 001 add their evidence in their own graphs
    ev_graphs = {q.g for q in result.compiled.quads
                 if q.s == IRI(ID + "cambodia-general-election-2023") and q.p == IRI(DKB + "evidence")}
    assert ev_graphs == {IRI(ID + "graph/src-000"), IRI(ID + "graph/src-001"), IRI(ID + "graph/src-002")}
