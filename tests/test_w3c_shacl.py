"""The W3C SHACL test suite (core + SHACL-SPARQL, ../shared/w3c/data-shapes-test-suite/tests/
beside the repository) against both engines.

Each test either gives the expected report (sh:conforms and the set of focus node, path,
constraint component and severity of its results) -> PASS, or is refused with a ShapeError
that names the unsupported term and the shape -> REFUSED, or gives another report -> FAIL
(a silent wrong answer), or raises anything else -> CRASH. A test whose expected result is
sht:Failure (an ill-formed shapes graph) passes when the engine refuses it.
The default engine must have no FAIL and no CRASH; pySHACL's known failures are listed."""
from __future__ import annotations

import logging
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT.parent / "shared" / "w3c" / "data-shapes-test-suite" / "tests"
MF = "http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#"
SHT = "http://www.w3.org/ns/shacl-test#"
SH = "http://www.w3.org/ns/shacl#"
XSD = "http://www.w3.org/2001/XMLSchema#"

# pySHACL 0.40 gets these wrong (the issue counted 118 of 120 passed).
PYSHACL_KNOWN = {
    "core/property/uniqueLang-002": "FAIL",  # takes "1"^^xsd:boolean for true (rdflib normalises it)
    "sparql/pre-binding/shapesGraph-001": "CRASH",  # NotImplementedError for $shapesGraph
}
# What the default engine refuses, and why (SHACL features it does not evaluate).
# What the default engine refuses: the term its error must name (and why it is refused).
REFUSED_KNOWN = {
    "core/node/qualified-001": "sh:qualifiedMinCount",  # on a node shape, without sh:qualifiedValueShape
    "core/path/path-strange-001": "sh:path",  # a path node both a list and an inverse path
    "core/path/path-strange-002": "sh:path",
    "core/property/qualifiedValueShape-001": "sh:nodeShape",  # not a SHACL term
    "core/property/uniqueLang-002": "sh:uniqueLang",  # "1"^^xsd:boolean: only true is SHACL
    "sparql/component/optional-001": "sh:optional",  # a parameter of a SPARQL-based constraint component
    "sparql/component/propertyValidator-select-001": "sh:labelTemplate",
    "sparql/component/validator-001": "owl:imports",  # of DASH
    "sparql/node/prefixes-001": "owl:imports",
    "sparql/pre-binding/pre-binding-007": "VALUES",  # SHACL forbids it in constraints
    "sparql/pre-binding/shapesGraph-001": "$shapesGraph",
}


def entries():
    import rdflib
    from rdflib.collection import Collection

    if not SUITE.is_dir():
        pytest.fail(f"the W3C SHACL test suite is missing: expected it at {SUITE} (a checkout of "
                    "w3c/data-shapes' data-shapes-test-suite beside the repository, as ../shared/w3c/)")
    mf = rdflib.Namespace(MF)
    out, todo, seen = [], [SUITE / "manifest.ttl"], set()
    while todo:
        f = todo.pop(0)
        if f in seen:
            continue
        seen.add(f)
        g = rdflib.Graph().parse(f, format="turtle", publicID=f.as_uri())
        for m in g.subjects(rdflib.RDF.type, mf.Manifest):
            for inc in g.objects(m, mf.include):
                todo.append(Path(rdflib.URIRef(inc).replace("file://", "")))
            for lst in g.objects(m, mf.entries):
                for e in Collection(g, lst):
                    out.append((f, g, e))
    return out


def graph_of(iri, cache):
    import rdflib

    path = Path(str(iri).replace("file://", ""))
    if path not in cache:
        cache[path] = rdflib.Graph().parse(path, format="turtle", publicID=path.as_uri())
        cache[path].path = path
    return cache[path]


def key(t):
    """A term of an rdflib graph as the plain form of rdf.py (blank nodes as '_:id')."""
    import rdflib

    if isinstance(t, rdflib.URIRef):
        return str(t)
    if isinstance(t, rdflib.BNode):
        return "_:"  # blank nodes of the report are not those of the data: compared as "a blank node"
    dt = str(t.datatype) if t.datatype else None
    return (str(t), None if dt in (XSD + "string", None) or t.language else dt, t.language)


def report_results(report, node) -> tuple:
    """(sh:conforms, the sorted (focus, path, component, severity) of each result) of the
    validation report `node` in the graph `report`."""
    import rdflib

    from diplokb.validate import path_tuple

    sh = rdflib.Namespace(SH)
    results = []
    for r in report.objects(node, sh.result):
        path = report.value(r, sh.resultPath)
        results.append((key(report.value(r, sh.focusNode)), None if path is None else path_tuple(report, path),
                        str(report.value(r, sh.sourceConstraintComponent)), str(report.value(r, sh.resultSeverity))))
    return report.value(node, sh.conforms).toPython(), sorted(results, key=repr)


def run_fast(data, shapes):
    """Our engine reads the files itself (pyoxigraph's parser, which keeps lexical forms as
    written: rdflib would turn "1"^^xsd:boolean into "true")."""
    import pyoxigraph as ox

    from diplokb.shacl import validate_graph

    def k(x):
        return x if isinstance(x, (str, tuple)) else "_:"

    def triples(path):
        return [(t.subject, t.predicate, t.object) for t in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE,
                                                                      base_iri=path.as_uri())]
    found = validate_graph(triples(data.path), triples(shapes.path))
    return not found, sorted(((k(f.focus), f.path, f.component, f.severity) for f in found), key=repr)


def run_pyshacl(data, shapes):
    import pyshacl
    import rdflib

    from diplokb.validate import refuse_service

    refuse_service(shapes)
    _, report, _ = pyshacl.validate(data, shacl_graph=shapes, inference="none", advanced=True)
    return report_results(report, next(report.subjects(rdflib.RDF.type, rdflib.Namespace(SH).ValidationReport)))


def outcome(engine, data, shapes, expected) -> tuple[str, str]:
    from diplokb.shacl_shapes import ShapeError

    try:
        got = engine(data, shapes)
    except ShapeError as exc:
        return ("PASS" if expected is None else "REFUSED"), str(exc)
    except Exception as exc:  # anything else is a crash, reported by name
        return ("PASS" if expected is None and engine is run_pyshacl else "CRASH"), f"{type(exc).__name__}: {exc}"
    if expected is None:
        return "FAIL", "validated a shapes graph that should have been rejected"
    return ("PASS" if got == expected else "FAIL"), "" if got == expected else f"expected {expected}, got {got}"


@pytest.fixture(scope="module")
def table():
    import rdflib

    logging.getLogger("rdflib").setLevel(logging.ERROR)
    mf, sht = rdflib.Namespace(MF), rdflib.Namespace(SHT)
    cache, rows = {}, {}
    for f, g, e in entries():
        name = str(e).replace(SUITE.as_uri() + "/", "")
        action = g.value(e, mf.action)
        data, shapes = graph_of(g.value(action, sht.dataGraph), cache), graph_of(g.value(action, sht.shapesGraph), cache)
        result = g.value(e, mf.result)
        expected = None if result == sht.Failure else report_results(g, result)
        rows[name] = {label: outcome(engine, data, shapes, expected)
                      for label, engine in (("fast", run_fast), ("pyshacl", run_pyshacl))}
    return rows


def render(rows) -> str:
    lines = [f"{'test':<52} {'fast':<8} pyshacl"]
    for name in sorted(rows):
        lines.append(f"{name:<52} {rows[name]['fast'][0]:<8} {rows[name]['pyshacl'][0]}")
    for engine in ("fast", "pyshacl"):
        counts = {}
        for r in rows.values():
            counts[r[engine][0]] = counts.get(r[engine][0], 0) + 1
        lines.append(f"{engine}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) + f" of {len(rows)}")
    return "\n".join(lines)


def test_the_suite_is_all_there(table, capsys):
    with capsys.disabled():
        print("\nW3C SHACL test suite (core + sparql)\n" + render(table))
    assert len(table) >= 120
    assert any(n.startswith("sparql/") for n in table) and any(n.startswith("core/") for n in table)


def test_default_engine_gives_no_wrong_answer_and_never_crashes(table):
    bad = {n: r["fast"] for n, r in table.items() if r["fast"][0] in ("FAIL", "CRASH")}
    assert not bad, "\n".join(f"{n}: {o}: {why}" for n, (o, why) in sorted(bad.items()))


def test_default_engine_refuses_by_naming_the_term_and_the_shape(table):
    for name, r in table.items():
        status, why = r["fast"]
        if status == "REFUSED":
            assert REFUSED_KNOWN.get(name, "?") in why, (name, why)
            assert why.startswith(("shape <", "shape _:", "<")), (name, why)  # the shape (or node) it is about


def test_default_engine_refuses_only_the_known_list(table):
    refused = sorted(n for n, r in table.items() if r["fast"][0] == "REFUSED")
    assert refused == sorted(REFUSED_KNOWN), "\n".join(f"{n}: {table[n]['fast'][1]}" for n in refused)


def test_pyshacl_fails_only_its_known_tests(table):
    failing = {n: r["pyshacl"][0] for n, r in table.items() if r["pyshacl"][0] != "PASS"}
    assert failing == PYSHACL_KNOWN, "\n".join(f"{n}: {table[n]['pyshacl']}" for n in sorted(failing))
