"""export.py: deterministic, round-tripping exports, replaced atomically."""
from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys

import pytest
import rdflib
from rdflib.compare import isomorphic

from diplokb import BuildError, Project
from diplokb.export import ExportFormat

EXPECTED_FILES = {"diplokb.ttl", "diplokb.nt", "diplokb.jsonld", "diplokb.trig", "context.jsonld",
                  "ontology.ttl", "vocabularies.ttl", "shapes.ttl", "void.ttl"}


def test_every_export_is_written(built):
    p, _ = built
    assert {f.name for f in p.out.iterdir()} == EXPECTED_FILES


def test_exports_round_trip_and_agree(built):
    p, result = built
    ttl = rdflib.Graph().parse(p.out / "diplokb.ttl", format="turtle")
    nt = rdflib.Graph().parse(p.out / "diplokb.nt", format="nt")
    jsonld = rdflib.Graph().parse(p.out / "diplokb.jsonld", format="json-ld")
    ds = rdflib.Dataset()
    ds.parse(p.out / "diplokb.trig", format="trig")
    union = rdflib.Graph()
    for s, pr, o, _ in ds.quads((None, None, None, None)):
        union.add((s, pr, o))
    assert len(ttl) == len(result.compiled.triples)
    assert isomorphic(ttl, nt)
    assert isomorphic(ttl, jsonld)
    assert isomorphic(ttl, union)
    for name in ("ontology.ttl", "vocabularies.ttl", "shapes.ttl", "void.ttl"):
        assert len(rdflib.Graph().parse(p.out / name, format="turtle")) > 0


def test_trig_has_one_graph_per_source(built):
    p, _ = built
    ds = rdflib.Dataset()
    ds.parse(p.out / "diplokb.trig", format="trig")
    names = {str(g.identifier) for g in ds.graphs() if len(g)}
    assert names == {f"https://w3id.org/diplokb/id/graph/{n}" for n in
                     ("entities", "src-000", "src-001", "src-002", "src-003", "src-004")}


def test_jsonld_uses_readable_keys(built):
    p, _ = built
    import json
    doc = json.loads((p.out / "diplokb.jsonld").read_text(encoding="utf-8"))
    node = next(n for n in doc["@graph"] if n["@id"] == "courtesy-call-2023-07-24")
    assert node["@type"] == "Event"
    assert node["date"] == {"@value": "2023-07-24", "@type": "xsd:date"}
    assert node["host"] == "prak-sokhonn"
    assert node["subEventOf"] == "qian-hongshan-election-observation-visit-2023"


def test_void_counts_match(built):
    p, result = built
    g = rdflib.Graph().parse(p.out / "void.ttl", format="turtle")
    void = rdflib.Namespace("http://rdfs.org/ns/void#")
    ds = rdflib.URIRef("https://w3id.org/diplokb/id/dataset")
    assert int(g.value(ds, void.triples)) == len(result.compiled.triples)


def test_build_is_byte_identical_across_runs_and_hash_seeds(built, tmp_path):
    p, _ = built
    # a second build in another process, with another hash seed and the KB files copied in
    # shuffled order (so directory order cannot leak into the output)
    kb = tmp_path / "kb"
    files = [f for f in p.kb.rglob("*") if f.is_file()]
    random.Random(7).shuffle(files)
    for f in files:
        target = kb / f.relative_to(p.kb)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, target)
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONHASHSEED="12345")
    subprocess.run([sys.executable, "-m", "diplokb", "build", "--kb", str(kb), "--out", str(out)],
                   cwd=p.root, env=env, check=True, capture_output=True)
    for name in EXPECTED_FILES:
        assert (out / name).read_bytes() == (p.out / name).read_bytes(), name


def test_committed_exports_are_up_to_date(project):
    result = project.build(check=True)
    assert result.stale == (), "run 'diplokb build' and commit exports/"


def test_failed_build_leaves_exports_untouched(built, tmp_path):
    p, _ = built
    out = tmp_path / "out"
    shutil.copytree(p.out, out)
    before = {f.name: f.read_bytes() for f in out.iterdir()}
    kb = tmp_path / "kb"
    shutil.copytree(p.kb, kb)
    src = kb / "sources" / "000_2314cb523628f110.yaml"
    src.write_text(src.read_text(encoding="utf-8").replace("kind: courtesy-call", "kind: courtesy-cal"),
                   encoding="utf-8")
    with pytest.raises(BuildError):
        Project(root=p.root, kb=kb, out=out).build()
    assert {f.name: f.read_bytes() for f in out.iterdir()} == before


def test_export_formats_carry_extension_and_media_type():
    assert ExportFormat.TURTLE.extension == "ttl"
    assert ExportFormat.JSONLD.media_type == "application/ld+json"
    assert {f.extension for f in ExportFormat} == {"ttl", "nt", "jsonld", "trig"}


def test_the_writers_take_the_plain_form_of_terms_too(project):
    """The build renders from its units, whose terms are plain (rdf.py: an IRI as str, a literal
    as a tuple): every writer gives the same text for them as for term objects."""
    from diplokb import export, jsonld, rdf

    from diplokb.rdf import DKB, ID, XSD, IRI, Literal

    extra = [(IRI(ID + "x"), IRI(DKB + "summary"), Literal("say \"hi\"\n", None, "en")),
             (IRI(ID + "x"), IRI(DKB + "ordinal"), Literal("3", XSD + "integer"))]
    triples = sorted(project.compile().triples) + extra
    plain = [tuple(str(t) if isinstance(t, str) else tuple(t) for t in triple) for triple in triples]
    triples = [tuple(IRI(t) if isinstance(t, str) else Literal(*t) for t in triple) for triple in triples]
    literals = [o for _, _, o in plain if type(o) is tuple]
    assert any(lang for _, _, lang in literals) and any(dt for _, dt, _ in literals)  # every kind is written
    assert any(not dt and not lang for _, dt, lang in literals)
    texts = []
    for form in (triples, plain):
        export._TERMS.clear(), [c.clear() for c in export._NT.values()], jsonld._FORMS.clear(), rdf.curie.cache_clear()  # afresh
        texts.append((export.to_ntriples(form), export.to_turtle(form),
                      export.to_jsonld(form, project.object_properties())))
    assert texts[0] == texts[1]


def test_strings_are_escaped_exactly_where_n_triples_requires_it():
    """Quotes, backslashes and control characters are escaped (controls without a short form as
    \\uXXXX); every other character, including non-ASCII text, is written as it is."""
    from diplokb.rdf import escape

    assert escape('a "b" \\ c\n\r\t\b\f') == 'a \\"b\\" \\\\ c\\n\\r\\t\\b\\f'
    assert escape("x\x00y\x1fz\x7f") == "x\\u0000y\\u001Fz\\u007F"
    kept = "".join(chr(c) for c in range(0x20, 0x3000) if chr(c) not in '"\\\x7f')
    assert escape(kept) == kept
    assert escape("សម្តេច 洪森") == "សម្តេច 洪森"


def test_the_jsonld_text_is_what_json_dumps_gives(project):
    """The JSON-LD writer spells its text itself (json.dumps with an indent is slow): it must be
    the same bytes json.dumps(indent=1) gives for the same document, with values of every
    shape (one or several, IRIs, typed and language-tagged literals, coerced or not)."""
    import json

    from diplokb import export
    from diplokb.rdf import DKB, ID, XSD, IRI, Literal, RDF_TYPE

    triples = sorted(project.compile().triples) + [
        (IRI(ID + "x"), IRI(RDF_TYPE), IRI(DKB + "Event")),
        (IRI(ID + "x"), IRI(RDF_TYPE), IRI("https://schema.org/Event")),
        (IRI(ID + "x"), IRI(DKB + "summary"), Literal("a \"b\"\n", None, "en")),
        (IRI(ID + "x"), IRI(DKB + "summary"), Literal("c", None, "km")),
        (IRI(ID + "x"), IRI(DKB + "ordinal"), Literal("3", XSD + "integer")),
        (IRI(ID + "x"), IRI(DKB + "participant"), IRI(ID + "y")),
        (IRI(ID + "x"), IRI(DKB + "participant"), IRI(ID + "z")),
        (IRI(ID + "x"), IRI("https://example.org/unknown"), Literal("u")),
        (IRI(ID + "x"), IRI("https://example.org/unknown"), IRI(ID + "y"))]
    text = export.to_jsonld(triples, project.object_properties())
    assert text == json.dumps(json.loads(text), ensure_ascii=False, indent=1) + "\n"
    node = next(n for n in json.loads(text)["@graph"] if n["@id"] == "x")
    assert sorted(node["@type"]) == ["Event", "schema:Event"] and len(node["https://example.org/unknown"]) == 2


# ---- terms from outside the KB (SPARQL CONSTRUCT results): regressions of issue 14 -----------

def _turtle_spelling(term) -> str:
    from diplokb import export

    return export.to_turtle([("http://example.org/s", "http://example.org/p", term)]).rsplit("\n\n", 1)[1].split(" ", 2)[2][:-3]


@pytest.mark.filterwarnings("ignore:Parsing weird boolean")  # rdflib, reading "abc"^^xsd:boolean
def test_only_canonical_integers_are_written_as_bare_numbers():
    """'--5'^^xsd:integer was written as the token --5, which no parser reads. A bare number is
    read with itself as the lexical form, so only the canonical form is written so; every other
    lexical form (ill-typed or not) is written in the long form, and so is every boolean."""
    from roundtrip import round_trip_problems

    from diplokb.rdf import XSD

    integer, boolean = XSD + "integer", XSD + "boolean"
    for value in ("5", "-12", "0", "1234567890123456789"):
        assert _turtle_spelling((value, integer, None)) == value
    for value in ("--5", "+5", "05", "-0", "٣", " 5", "5.0", "abc", ""):
        assert _turtle_spelling((value, integer, None)) == f'"{value}"^^xsd:integer'
    for value in ("abc", "true", "1"):
        assert _turtle_spelling((value, boolean, None)) == f'"{value}"^^xsd:boolean'
    triples = [("http://example.org/s", "http://example.org/p", (v, dt, None))
               for v in ("--5", "+5", "05", "٣", "abc", "5") for dt in (integer, boolean)]
    assert round_trip_problems(triples) == []


def test_construct_results_with_blank_nodes_go_through_every_writer():
    """A CONSTRUCT with blank nodes (in the terms pyoxigraph gives, as the server has them):
    every writer writes them, and each format reads back as the same graph."""
    import pyoxigraph as ox
    from roundtrip import from_ox, round_trip_problems

    from diplokb import export
    from diplokb.rdf import DKB, ID

    store = ox.Store()
    store.load(f"<{ID}a> <{DKB}name> \"A\" .\n<{ID}b> <{DKB}name> \"B\"@en .\n".encode(), ox.RdfFormat.N_TRIPLES)
    result = store.query(f"CONSTRUCT {{ ?s <{DKB}named> [ <{DKB}text> ?n ; a _:kind ] }} WHERE {{ ?s <{DKB}name> ?n }}")
    triples = [tuple(from_ox(x) for x in (t.subject, t.predicate, t.object)) for t in result]
    assert len(triples) == 6 and any(o.startswith("_:") for _, _, o in triples if isinstance(o, str))
    assert round_trip_problems(triples) == []
    for text in (export.to_ntriples(triples), export.to_turtle(triples), export.to_jsonld(triples, set())):
        assert "_:" in text


def test_blank_node_labels_are_written_one_to_one():
    """Labels that are not letters and digits are spelt anew (in hex), never two as one."""
    from roundtrip import round_trip_problems

    from diplokb.rdf import bnode_label

    labels = ["b0", "a-b", "a.b", "x_612d62", "é", "_", "a_b", "-"]
    assert len({bnode_label("_:" + label) for label in labels}) == len(labels)
    assert bnode_label("_:b0") == "b0"
    assert round_trip_problems([("_:" + label, "http://example.org/p", "_:" + label) for label in labels]) == []


def _jsonld_node(triples, object_properties=frozenset()):
    import json

    from diplokb import export

    doc = json.loads(export.to_jsonld(triples, set(object_properties)))
    assert len(doc["@graph"]) == 1
    return doc["@graph"][0]


def test_jsonld_keys_that_the_context_reads_otherwise_are_written_in_full():
    """dkb:label as 'label' would be read as rdfs:label (a term of the context), dkb:xsd as the
    prefix xsd, dkb:@id as a keyword; 'label' redefined as an object property no longer means
    rdfs:label. Each is written as its full IRI."""
    from roundtrip import round_trip_problems

    from diplokb.rdf import DKB, ID

    rdfs_label = "http://www.w3.org/2000/01/rdf-schema#label"
    for p in (DKB + "label", DKB + "xsd", DKB + "@id", DKB + "value", DKB + ""):
        node = _jsonld_node([(ID + "x", p, ("v", None, None))])
        assert node.get(p) == "v" or p == DKB + "value", node  # value: its term coerces to xsd:decimal
        assert round_trip_problems([(ID + "x", p, ("v", None, None))]) == []
    assert _jsonld_node([(ID + "x", DKB + "value", ("v", None, None))])["value"] == {"@value": "v", "@type": XSD_STRING}
    assert _jsonld_node([(ID + "x", rdfs_label, ("v", None, None))])["label"] == "v"
    assert _jsonld_node([(ID + "x", rdfs_label, ("v", None, None))], {"label"})[rdfs_label] == "v"


XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def test_jsonld_ids_are_relative_only_where_they_resolve_back():
    """'a/../b' relative to @base is 'b', '/x' is the host's root, 'label' or '@x' could be
    taken as a term or keyword: such ids are written in full."""
    from roundtrip import round_trip_problems

    from diplokb.rdf import DKB, ID

    assert _jsonld_node([(ID + "a/b", DKB + "p", ("v", None, None))])["@id"] == "a/b"
    for rest in ("a/../b", "./b", "../b", "a/.", "/x", "//x", "@x", "label", "?q", "#f", ""):
        node = _jsonld_node([(ID + rest, DKB + "host", ID + rest)], {"host"})
        assert node["@id"] == ID + rest and node["host"] == ID + rest, node
        assert round_trip_problems([(ID + rest, DKB + "host", ID + rest)]) == []


def test_jsonld_iris_in_type_positions_are_read_against_the_vocabulary():
    """@type (of a node or a value) is read against @vocab, not @base: an id-namespace class
    written 'T' would be read as dkb:T; dkb:label written 'label' as rdfs:label."""
    from roundtrip import round_trip_problems

    from diplokb.rdf import DKB, ID, RDF_TYPE

    assert _jsonld_node([(ID + "x", RDF_TYPE, DKB + "Event")])["@type"] == "Event"
    assert _jsonld_node([(ID + "x", RDF_TYPE, ID + "T")])["@type"] == ID + "T"
    assert _jsonld_node([(ID + "x", RDF_TYPE, DKB + "label")])["@type"] == "dkb:label"
    assert _jsonld_node([(ID + "x", DKB + "p", ("v", ID + "dt", None))])["p"] == {"@value": "v", "@type": ID + "dt"}
    triples = [(ID + "x", RDF_TYPE, ID + "T"), (ID + "x", RDF_TYPE, DKB + "label"), (ID + "x", RDF_TYPE, DKB + "xsd:y"),
               (ID + "x", DKB + "p", ("v", ID + "dt", None)), (ID + "x", DKB + "p", ("w", DKB + "value", None))]
    assert round_trip_problems(triples) == []


def test_jsonld_nodes_no_compact_form_carries_are_written_without_the_context():
    """The IRI 'xsd:foo' (scheme xsd, a prefix of the context) has no form under the context;
    nor has rdf:type with a blank node or literal as @type. Such a node is written with
    "@context": null and every IRI in full."""
    from roundtrip import round_trip_problems

    from diplokb.rdf import ID, RDF_TYPE

    node = _jsonld_node([("xsd:foo", "label:bar", "time:baz")])
    assert node == {"@context": None, "@id": "xsd:foo", "label:bar": {"@id": "time:baz"}}
    node = _jsonld_node([(ID + "x", RDF_TYPE, "_:t"), (ID + "x", RDF_TYPE, ("lit", None, None))])
    assert node["@context"] is None and node[RDF_TYPE] == [{"@id": "_:t"}, "lit"]
    assert round_trip_problems([("xsd:foo", "label:bar", "time:baz"), (ID + "x", RDF_TYPE, "_:t"),
                                (ID + "x", RDF_TYPE, ("lit", None, None))]) == []


def test_trig_writes_the_default_graph_and_blank_node_graph_names():
    from roundtrip import canonical, read_ox

    from diplokb import export

    quads = [("_:s", "http://example.org/p", ("v", None, "en"), None),
             ("http://example.org/s", "http://example.org/p", "_:s", "_:g"),
             ("http://example.org/s", "http://example.org/p", ("5", "http://www.w3.org/2001/XMLSchema#integer", None),
              "http://example.org/g")]
    text = export.to_trig(quads)
    assert "\n{\n" in text and "\n_:g {\n" in text
    assert canonical(read_ox("trig", text)) == canonical(quads)


@pytest.mark.parametrize("triple, message", [
    (("relative", "http://example.org/p", "http://example.org/o"), "not an absolute IRI"),
    (("http://example.org/a b", "http://example.org/p", "http://example.org/o"), "which no IRI can have"),
    (("http://example.org/s", "http://example.org/p", ("v", None, "en US")), "not a language tag"),
    (("http://example.org/s", "http://example.org/p", ("v", "http://example.org/dt", "en")), "rdf:langString"),
    (("http://example.org/s", "http://example.org/p", ("v", "dt", None)), "not an absolute IRI"),
    (("http://example.org/s", "http://example.org/p", ("\ud800", None, None)), "lone surrogate"),
    ((("v", None, None), "http://example.org/p", "http://example.org/o"), "cannot be a subject"),
    (("http://example.org/s", "_:p", "http://example.org/o"), "cannot be a predicate"),
    (("http://example.org/s", ("v", None, None), "http://example.org/o"), "cannot be a predicate"),
])
def test_terms_no_rdf_syntax_carries_are_refused_by_every_writer(triple, message):
    """Not RDF 1.1 terms: each writer refuses them with a TermError saying what is wrong,
    rather than write text that is read as another graph (or not read at all)."""
    from diplokb import export, jsonld
    from diplokb.rdf import TermError

    export._TERMS.clear(), [c.clear() for c in export._NT.values()], jsonld._FORMS.clear()
    s, p, o = triple
    writers = {"nt": lambda: export.to_ntriples([triple]), "ttl": lambda: export.to_turtle([triple]),
               "trig": lambda: export.to_trig([(s, p, o, "http://example.org/g")]),
               "jsonld": lambda: export.to_jsonld([triple], set())}
    for name, write in writers.items():
        with pytest.raises(TermError, match=message):
            write()
