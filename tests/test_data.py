"""The curated data's quality gates (issue: curate all five sources completely)."""
from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

import pytest

from diplokb.compile import normalize_ws
from diplokb.rdf import DKB, ID, RDF_TYPE, IRI
from diplokb.show import fold
from diplokb.stats import coverage

SKOS = "http://www.w3.org/2004/02/skos/core#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
SEEDS = Path(os.environ.get("DIPLOKB_SEEDS", Path(__file__).resolve().parents[2] / "shared" / "seeds"))
ENTITY_CLASSES = {"Person", "Organization", "Place", "Post", "Side", "Agreement", "PartnershipFramework",
                  "Mechanism", "Initiative", "Project", "ThemedYear", "Anniversary", "EventSeries"}


def by_subject(triples):
    out = defaultdict(lambda: defaultdict(set))
    for s, p, o in triples:
        out[s][p].add(o)
    return out


def test_every_fact_has_evidence(built):
    _, result = built
    subj = by_subject(result.compiled.triples)
    facts = [s for s, props in subj.items()
             if {IRI(DKB + c) for c in ("Event", "Statement", "PostAttestation", "Figure", "Claim")} & props[RDF_TYPE]]
    assert len(facts) > 100
    assert [s for s in facts if not subj[s][DKB + "evidence"]] == []


def test_every_quote_occurs_verbatim_in_its_archived_source(built):
    p, result = built
    subj = by_subject(result.compiled.triples)
    texts = {s.id: normalize_ws((p.kb / "sources" / s.text_file).read_text(encoding="utf-8"))
             for s in result.compiled.sources}
    checked = 0
    for s, props in subj.items():
        if IRI(DKB + "Evidence") in props[RDF_TYPE]:
            (src,) = props[DKB + "source"]
            (quote,) = props[DKB + "quote"]
            assert normalize_ws(quote[0]) in texts[src.removeprefix(ID)], quote[0]
            checked += 1
    assert checked == result.compiled.counts["Evidence"]


@pytest.mark.skipif(not SEEDS.is_dir(), reason="shared/seeds is not beside the checkout")
def test_archived_texts_are_byte_for_byte_the_seeds(project):
    for seed in sorted(SEEDS.glob("*.txt")):
        assert (project.kb / "sources" / seed.name).read_bytes() == seed.read_bytes(), seed.name


def test_archived_text_digest_is_recorded(built):
    import hashlib
    p, result = built
    t = result.compiled.triples
    for s in result.compiled.sources:
        digest = hashlib.sha256((p.kb / "sources" / s.text_file).read_bytes()).hexdigest()
        assert any(tr[0] == ID + s.id and tr[1] == DKB + "sha256" and tr[2][0] == digest for tr in t)


def test_no_two_entities_share_a_label_without_a_note(built):
    _, result = built
    subj = by_subject(result.compiled.triples)
    owners = defaultdict(set)
    for s, props in subj.items():
        if not {c.removeprefix(DKB) for c in props[RDF_TYPE]} & ENTITY_CLASSES:
            continue
        for p in (RDFS + "label", SKOS + "prefLabel", SKOS + "altLabel", DKB + "abbreviation"):
            for label in props[p]:
                owners[fold(label[0])].add(s)
    clashes = {label: ids for label, ids in owners.items() if len(ids) > 1}
    unexplained = {}
    for label, ids in clashes.items():
        notes = " ".join(n[0] for s in ids for n in subj[s][SKOS + "editorialNote"])
        if not all(s.removeprefix(ID) in notes for s in ids):
            unexplained[label] = sorted(ids)
    assert unexplained == {}


def test_people_keep_their_name_variants(built):
    _, result = built
    subj = by_subject(result.compiled.triples)
    alt = {o[0] for o in subj[IRI(ID + "hun-sen")][SKOS + "altLabel"]}
    assert {"Samdech Techo Hun Sen", "Samdech Akka Moha Sena Padei Techo Hun Sen"} <= alt
    assert {o[0] for o in subj[IRI(ID + "qian-hongshan")][SKOS + "altLabel"]} >= {"QIAN Hongshan"}
    people = [s for s, props in subj.items() if IRI(DKB + "Person") in props[RDF_TYPE]]
    assert len(people) >= 15


def test_sentence_coverage_of_every_source(built):
    _, result = built
    rows = {r.source: r for r in coverage(result.compiled)}
    assert set(rows) == {"src-000", "src-001", "src-002", "src-003", "src-004"}
    for r in rows.values():  # every sentence that can state a fact is backed by a quote
        assert (r.source, r.covered) == (r.source, r.sentences)
        assert r.headings <= 6
