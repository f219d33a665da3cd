"""export.subject_all: a subject's N-Triples, Turtle and JSON-LD in one pass, the same texts
(or the same error) as export.subject_texts and JsonLdNodes.node_text apart."""
import pytest

from diplokb import export
from diplokb.rdf import DKB, ID, RDF_TYPE, XSD, TermError

RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
OBJECT_PROPERTIES = {"participant", "location"}

SUBJECTS = {
    "usual": {RDF_TYPE: {DKB + "Event", DKB + "Meeting"}, RDFS_LABEL: {("Talks", None, "en"), ("会谈", None, "zh")},
              DKB + "participant": {ID + "hun-sen", ID + "xi-jinping"}, DKB + "date": {("2024-12-02", XSD + "date", None)},
              DKB + "ordinal": {("3", XSD + "integer", None)}, DKB + "note": {('a "quoted"\nline', None, None)}},
    "values out of their key's kind": {DKB + "participant": {("not an IRI", None, None)},
                                       DKB + "ordinal": {("3", XSD + "decimal", None), ("4", None, "en")},
                                       DKB + "note": {ID + "an-iri", ("x", XSD + "string", None)}},
    "IRIs without a compact form": {"http://example.org/p": {"http://example.org/a", ID + "Label"},
                                    RDF_TYPE: {"http://example.org/C"}},
    "a literal as a type (the node in full)": {RDF_TYPE: {("not a class", None, None), DKB + "Event"}},
    "a coerced key with values of other kinds": {DKB + "value": {("1.5", XSD + "decimal", None), ("2", None, None)}},
}


@pytest.mark.parametrize("name", sorted(SUBJECTS))
def test_one_pass_gives_the_texts_of_the_writers_apart(name):
    preds, s = SUBJECTS[name], ID + "subject-" + str(len(name))
    in_order = export.ordered(preds)
    nodes = export.JsonLdNodes(OBJECT_PROPERTIES)
    lines, block, n = export.subject_texts(s, in_order)
    expected = (lines, block, export.JsonLdNodes(OBJECT_PROPERTIES).node_text(s, preds, in_order), n)
    assert export.subject_all(s, in_order, nodes) == expected
    assert export.subject_all(s, in_order, nodes) == expected  # with every spelling cached


def test_a_bad_term_raises_what_the_writers_apart_raise():
    in_order = export.ordered({DKB + "note": {("x", None, "not a tag!")}})
    with pytest.raises(TermError) as apart:
        export.subject_texts(ID + "s", in_order)
    with pytest.raises(TermError) as one:
        export.subject_all(ID + "s", in_order, export.JsonLdNodes(OBJECT_PROPERTIES))
    assert str(one.value) == str(apart.value)
