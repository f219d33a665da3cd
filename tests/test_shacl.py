"""shacl.py, the fast engine, reports what pySHACL (the reference) reports, on real and on
synthetic data with deliberately broken records. (Shape by shape: tests/test_shapes.py.)"""
from __future__ import annotations

from pathlib import Path

import pytest

from diplokb import Project
from diplokb.shacl import Engine, ShapeError
from diplokb.synth import generate

ROOT = Path(__file__).resolve().parents[1]


def key(report):
    return sorted((r.focus, r.path, r.severity, r.shape, r.location) for r in report.results)


def reports(project: Project):
    compiled = project.compile()
    from diplokb.validate import validate

    args = (compiled.triples, compiled.locations, project.shapes_file, project.ontology_files)
    return validate(*args, engine="pyshacl"), validate(*args, engine="fast")


def test_engines_agree_on_the_real_kb(project):
    ref, fast = reports(project)
    assert key(fast) == key(ref)
    assert len(ref.warnings) >= 1


def test_engines_agree_on_a_synthetic_kb_with_broken_records(tmp_path, monkeypatch):
    counts = generate(8000, tmp_path / "kb", seed=3, broken=0.01)
    assert counts["broken"] >= 1
    monkeypatch.chdir(tmp_path)
    ref, fast = reports(Project.find(ROOT, kb=tmp_path / "kb", out=tmp_path / "out"))
    assert ref.violations, "the broken records must be caught"
    assert key(fast) == key(ref)


def test_an_unsupported_shacl_term_is_an_error_not_ignored(tmp_path):
    shapes = tmp_path / "s.ttl"
    shapes.write_text("@prefix sh: <http://www.w3.org/ns/shacl#> .\n"
                      "<urn:s> a sh:NodeShape ; sh:targetClass <urn:C> ; sh:closed true .\n")
    with pytest.raises(ShapeError, match="closed"):
        Engine(shapes)
