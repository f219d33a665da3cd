"""SHACL validation with pySHACL, results mapped back to the YAML that produced them."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .errors import SourceLocation
from .rdf import curie

SH = "http://www.w3.org/ns/shacl#"


@dataclass(frozen=True, order=True)
class ValidationResult:
    location: SourceLocation
    severity: str  # 'Violation', 'Warning' or 'Info'
    message: str
    focus: str
    path: str = ""
    value: str = ""
    shape: str = ""  # the node shape that reported it, e.g. 'dkbs:EventShape'
    component: str = ""  # the constraint component, e.g. 'sh:MinCountConstraintComponent'

    def render(self) -> str:
        extra = [f"focus {curie(self.focus) or self.focus}"]
        if self.path:
            extra.append(f"path {self.path}")
        if self.value:
            extra.append(f"value {self.value}")
        return f"{self.location}: {self.severity}: {self.message} ({', '.join(extra)})"

    def as_json(self) -> dict:
        return {"file": self.location.file, "line": self.location.line,
                "column": self.location.column, "severity": self.severity,
                "message": self.message, "focus": self.focus, "path": self.path or None,
                "value": self.value or None, "shape": self.shape or None,
                "component": self.component or None}


@dataclass(frozen=True)
class ValidationReport:
    results: tuple  # ValidationResult, sorted by location

    @property
    def violations(self) -> tuple:
        return tuple(r for r in self.results if r.severity == "Violation")

    @property
    def warnings(self) -> tuple:
        return tuple(r for r in self.results if r.severity == "Warning")

    @property
    def conforms(self) -> bool:
        """SHACL's sh:conforms: no validation results at all (a Warning is a result too)."""
        return not self.results

    @property
    def no_violations(self) -> bool:
        """No result of severity Violation (Warnings and Infos may remain): what passes a build."""
        return not self.violations

    def summary(self) -> str:
        state = "conforms" if self.conforms else "no violations" if self.no_violations else "does not conform"
        infos = len(self.results) - len(self.violations) - len(self.warnings)
        return (f"{state}: {len(self.violations)} violation(s), {len(self.warnings)} warning(s)"
                + (f", {infos} info(s)" if infos else ""))


def to_rdflib(triples):
    """An rdflib Graph of our triples."""
    import rdflib

    from .export import triples_of

    g = rdflib.Graph()
    for s, p, o in (triples_of(triples) if isinstance(triples, dict) else triples):
        if isinstance(o, str):  # an IRI (terms come in either form: rdf.py)
            obj = rdflib.URIRef(o)
        else:
            value, datatype, lang = o
            obj = rdflib.Literal(value, lang=lang, datatype=rdflib.URIRef(datatype) if datatype else None)
        g.add((rdflib.URIRef(s), rdflib.URIRef(p), obj))
    return g


def _short(term) -> str:
    import rdflib

    if isinstance(term, rdflib.URIRef):
        return curie(str(term)) or f"<{term}>"
    return str(term)


ENGINES = ("fast", "pyshacl")


def validate(triples, locations, shapes_file: Path, ontology_files: list[Path], *,
             engine: str = "pyshacl", focus: set | None = None) -> ValidationReport:
    """Validates the KB's triples (or the KB in the grouped form, export.by_subject) against the
    shapes, with the ontology and vocabularies mixed into a throw-away rdflib graph (the
    compiled KB itself is never changed).
    `locations` maps a subject IRI to its SourceLocation (anything with .get). The fast engine
    can check only the `focus` nodes given."""
    if engine == "fast":
        from .shacl import validate_fast

        return validate_fast(triples, locations, shapes_file, ontology_files, focus)
    if focus is not None:
        raise ValueError("only the fast engine checks a subset of focus nodes")
    if engine != "pyshacl":
        raise ValueError(f"unknown validation engine '{engine}' (one of: {', '.join(ENGINES)})")
    import pyshacl
    import rdflib

    # A fresh graph of our triples plus the ontology and vocabularies (pySHACL's own
    # ont_graph mixing copies class axioms only, not the SKOS concepts the shapes check).
    data = to_rdflib(triples)
    for f in ontology_files:
        data.parse(f, format="turtle")
    shapes = rdflib.Graph().parse(shapes_file, format="turtle")
    refuse_service(shapes)
    _, report, _ = pyshacl.validate(data, shacl_graph=shapes, inference="none",
                                    advanced=True, allow_warnings=True, inplace=True)
    return _results(report, locations, shapes)


def refuse_service(shapes) -> None:
    """Raises ShapeError if any SPARQL text in the shapes graph (an rdflib Graph) may contain
    SERVICE: pySHACL would send the request; no validation may reach the network."""
    import rdflib

    from .shacl_shapes import ShapeError
    from .shacl_sparql import uses_service

    for s, p, o in shapes:
        if isinstance(o, rdflib.Literal) and str(p).startswith(SH) and uses_service(str(o)):
            raise ShapeError(f"<{s}> sh:{str(p)[len(SH):]}: a SPARQL query in the shapes uses SERVICE (a request "
                             "to another server while validating): refused before anything runs")


def path_tuple(graph, node):
    """A SHACL path node of an rdflib graph as shacl.py's path tuple."""
    import rdflib
    from rdflib.collection import Collection

    sh = rdflib.Namespace(SH)
    if isinstance(node, rdflib.URIRef):
        return ("p", str(node))
    if (node, rdflib.RDF.first, None) in graph:
        return ("seq", tuple(path_tuple(graph, p) for p in Collection(graph, node)))
    inner = graph.value(node, sh.alternativePath)
    if inner is not None:
        return ("alt", tuple(path_tuple(graph, p) for p in Collection(graph, inner)))
    for key, kind in (("inversePath", "inv"), ("zeroOrMorePath", "zom"), ("oneOrMorePath", "oom"),
                      ("zeroOrOnePath", "zoo")):
        inner = graph.value(node, sh[key])
        if inner is not None:
            return (kind, path_tuple(graph, inner))
    raise ValueError(f"not a SHACL path: {node}")


def _path(report, path) -> str:
    """A result path as SPARQL property-path text ('dkb:topic/skos:inScheme')."""
    from .shacl import path_text

    return "" if path is None else path_text(path_tuple(report, path))


def _results(report, locations: dict, shapes) -> ValidationReport:
    import rdflib

    sh = rdflib.Namespace(SH)
    out = []
    for res in report.subjects(rdflib.RDF.type, sh.ValidationResult):
        if (None, sh.detail, res) in report:
            continue  # a nested result (of sh:node) explaining a top-level one
        shape = report.value(res, sh.sourceShape)
        owner = shapes.value(None, sh.property, shape) if isinstance(shape, rdflib.BNode) else None
        shape = owner if owner is not None else shape
        if isinstance(shape, rdflib.BNode):  # a sh:sparql constraint: its node shape holds it
            shape = shapes.value(None, sh.sparql, shape) or shape
        focus = report.value(res, sh.focusNode)
        severity = str(report.value(res, sh.resultSeverity)).removeprefix(SH)
        messages = sorted(str(m) for m in report.objects(res, sh.resultMessage))
        path = report.value(res, sh.resultPath)
        value = report.value(res, sh.value)
        loc = locations.get(str(focus), SourceLocation("<kb>"))
        component = report.value(res, sh.sourceConstraintComponent)
        out.append(ValidationResult(
            location=loc, severity=severity, message=messages[0] if messages else "constraint not met",
            focus=str(focus), path=_path(report, path), value="" if value is None else _short(value),
            shape=str(shape).replace("https://w3id.org/diplokb/shapes#", "dkbs:"),
            component="" if component is None else "sh:" + str(component).removeprefix(SH)))
    return ValidationReport(results=tuple(sorted(out)))
