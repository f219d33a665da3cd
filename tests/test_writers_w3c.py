"""Every writer on the W3C RDF 1.1 test graphs and on random graphs: what it writes must be
read back, by rdflib, pyoxigraph and (JSON-LD) pyld, as the graph it was given.

The W3C suites (../shared/w3c/rdf/rdf11: rdf-turtle, rdf-trig, rdf-n-triples) are driven by
their manifests: each positive evaluation test's input is read with pyoxigraph (where the
server's CONSTRUCT results come from, with every lexical form kept) and written by each writer,
and the text is read back and compared with the test's expected result, up to blank node
names; positive syntax tests, which have no result file, are compared with their input. Each
input is also read with rdflib and that graph round-tripped on its own (rdflib rewrites the
lexical forms of literals it reads, so its graph is not compared with the expected file).
"""
from __future__ import annotations

from pathlib import Path

import pytest
import rdflib

from roundtrip import (canonical, dataset_problems, pyld_normal, rdflib_normal, read_ox, read_rdflib,
                       round_trip_problems)

ROOT = Path(__file__).resolve().parents[1]
SUITES = ROOT.parent / "shared" / "w3c" / "rdf" / "rdf11"
HOME = "https://w3c.github.io/rdf-tests/rdf/rdf11/"  # the suites' home: relative IRIs resolve against it (README)
MF = rdflib.Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
RDFT = rdflib.Namespace("http://www.w3.org/ns/rdftest#")
KINDS = {  # test type -> (input format, result format or None: the input is the result)
    RDFT.TestTurtleEval: ("ttl", "nt"), RDFT.TestTurtlePositiveSyntax: ("ttl", None),
    RDFT.TestTrigEval: ("trig", "nq"), RDFT.TestTrigPositiveSyntax: ("trig", None),
    RDFT.TestNTriplesPositiveSyntax: ("nt", None),
}


def _cases() -> list:
    cases = []
    for suite in ("rdf-turtle", "rdf-trig", "rdf-n-triples"):
        folder = SUITES / suite
        manifest = rdflib.Graph().parse(folder / "manifest.ttl", format="turtle",
                                        publicID=f"{HOME}{suite}/manifest.ttl")
        base = f"{HOME}{suite}/"
        entries = next(manifest.objects(None, MF.entries))
        for test in rdflib.collection.Collection(manifest, entries):
            kind = manifest.value(test, rdflib.RDF.type)
            if kind not in KINDS:
                continue  # a negative syntax test: nothing to write
            fmt, result_fmt = KINDS[kind]
            action = str(manifest.value(test, MF.action)).rsplit("/", 1)[1]
            result = manifest.value(test, MF.result)
            cases.append(pytest.param(folder, base, action, fmt,
                                      str(result).rsplit("/", 1)[1] if result_fmt else None, result_fmt or fmt,
                                      id=f"{suite}/{manifest.value(test, MF.name)}"))
    return cases


def test_the_w3c_suites_are_there():
    """The suites are read from ../shared; without them the tests below would test nothing."""
    assert len(_CASES) > 300, f"W3C RDF test suites not found in {SUITES}"


_CASES = _cases() if SUITES.is_dir() else []


# Inputs rdflib cannot read (its N-Triples parser wants whitespace between terms): rdflib
# still reads what the writers make of them, and is compared with its reading of the terms.
RDFLIB_CANNOT_READ = {"rdf-n-triples/minimal_whitespace.nt"}


@pytest.mark.parametrize("folder, base, action, fmt, result, result_fmt", _CASES)
def test_w3c_graphs_round_trip_through_every_writer(folder, base, action, fmt, result, result_fmt):
    text = (folder / action).read_bytes().decode("utf-8")  # as it is: read_text would turn "\r" into "\n"
    expected_file = folder / (result or action)
    expected_text = expected_file.read_bytes().decode("utf-8")
    quads = read_ox(fmt, text, base + action)
    read_back = {"pyoxigraph": read_ox(result_fmt, expected_text, base + expected_file.name)}
    read_back["pyld"] = pyld_normal(read_back["pyoxigraph"])
    rdflib_can = f"{folder.name}/{action}" not in RDFLIB_CANNOT_READ
    if rdflib_can:
        read_back["rdflib"] = read_rdflib(result_fmt, expected_text, base + expected_file.name)
    else:
        with pytest.raises(Exception):
            read_rdflib(fmt, text, base + action)
        read_back["rdflib"] = [(s, p, rdflib_normal(o), g) for s, p, o, g in read_back["pyoxigraph"]]
    # TriG: the dataset as it is
    problems = dataset_problems(quads, {name: canonical(qs) for name, qs in read_back.items()})
    # every writer: the dataset's triples, its graphs merged
    merged = {name: canonical([(s, p, o, None) for s, p, o, _ in qs]) for name, qs in read_back.items()}
    problems += round_trip_problems({(s, p, o) for s, p, o, _ in quads}, merged)
    if rdflib_can:  # rdflib's own reading of the input, round-tripped on its own
        problems += [f"(input read by rdflib) {p}" for p in
                     round_trip_problems({(s, p, o) for s, p, o, _ in read_rdflib(fmt, text, base + action)})]
    assert not problems, "\n\n".join(problems)


# ---- random graphs ----------------------------------------------------------------------

from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from diplokb.rdf import DKB, ID, RDF_TYPE, VOCAB, XSD  # noqa: E402

_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_RDFS = "http://www.w3.org/2000/01/rdf-schema#"
# where IRIs start: the context's namespaces, others, and schemes that are context terms
_STARTS = [DKB, ID, VOCAB, XSD, _RDF, _RDFS, "https://schema.org/", "http://example.org/a/", "urn:x-", "xsd:",
           "dkb:", "label:", "time:", "value:", "http://example.org/a#", "tag:x@y,2024:"]
# pieces of what follows: terms and keywords of the context, dot segments, delimiters, non-ASCII
_PIECES = ["a", "Event", "label", "xsd", "value", "host", "prefLabel", "@id", "@type", ".", "..", "/", "//", "../",
           "./", ":", "#", "?q=1", "%20", "-", "_", "~", "é", "洪", "😀", "1", "5", "x.y", "a/../b", "graph/src-1"]


def _valid_iri(text: str) -> bool:
    import pyoxigraph as ox

    try:
        ox.NamedNode(text)
    except ValueError:
        return False
    return True


iris = st.builds(lambda start, pieces: start + "".join(pieces), st.sampled_from(_STARTS),
                 st.lists(st.sampled_from(_PIECES), max_size=4)).filter(_valid_iri)
bnodes = st.builds(lambda label: "_:" + label, st.text("ab0_-.é", min_size=1, max_size=3))
_TRICKY = ["--5", "+5", "05", "-0", "0", "5", "-12", "٣", "abc", "true", "1", "1e5", "NaN", "", " 5", "@id",
           "_:b", "label", "a\"b", "\\", "\n\r\t\b\f\x00\x7f"]
values = st.one_of(st.sampled_from(_TRICKY), st.text(st.characters(exclude_categories=("Cs",)), max_size=6))
datatypes = st.one_of(st.none(), st.sampled_from([XSD + t for t in ("integer", "boolean", "decimal", "double",
                                                                   "string", "date", "gYear")]),
                      st.sampled_from([DKB + "dt", ID + "dt", VOCAB + "x/../y"]), iris)
# lexical forms that are not (or not only) the canonical Turtle tokens of their datatypes
_NUMERIC = [XSD + t for t in ("integer", "boolean", "decimal", "double")]
_NOT_TOKENS = ["--5", "-+5", "+5", "05", "-0", "٣", "5", "-12", "1e5", "abc", "", " 5", "5 ", "true", "1", "1.0", "NaN"]
literals = st.one_of(st.tuples(values, datatypes, st.none()),
                     st.tuples(st.sampled_from(_NOT_TOKENS), st.sampled_from(_NUMERIC), st.none()),
                     st.tuples(values, st.none(), st.sampled_from(["en", "en-US", "zh-Hans-CN", "km", "x-private"])))
predicates = st.one_of(iris, st.sampled_from([RDF_TYPE, DKB + "label", DKB + "value", DKB + "ordinal", DKB + "year",
                                              DKB + "host", DKB + "party", _RDFS + "label", DKB + "xsd", DKB + "",
                                              "https://schema.org/givenName", "label:x", "xsd:y"]))
graphs = st.lists(st.tuples(st.one_of(iris, bnodes), predicates, st.one_of(iris, bnodes, literals, literals)),
                  min_size=1, max_size=6)


@pytest.mark.filterwarnings("ignore:Parsing weird boolean")  # rdflib, on "abc"^^xsd:boolean
@settings(max_examples=200, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(graphs)
def test_random_graphs_round_trip_through_every_writer(triples):
    """Random IRIs, blank nodes and literals, chosen to meet every way a term can be misread
    (terms and keywords of the JSON-LD context, dot segments, schemes that are prefixes,
    ill-typed literals, control characters), through every writer and back."""
    problems = round_trip_problems(triples)
    assert not problems, "\n\n".join(problems)
