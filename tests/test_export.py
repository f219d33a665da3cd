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
        export._TERMS.clear(), export._NT.clear(), jsonld._FORMS.clear(), rdf.curie.cache_clear()  # afresh
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
