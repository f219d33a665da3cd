"""SARIF 2.1.0 output (`validate --format sarif`, `build --sarif FILE`): valid against the
official schema (vendored: tests/sarif-schema-2.1.0.json, from the MIT-licensed npm package
@microsoft/sarif-multitool-linux 5.7.0), each problem at its YAML file:line:col."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from diplokb.cli import main

HERE = Path(__file__).parent
SCHEMA = json.loads((HERE / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
CASE = HERE / "cases" / "kind-and-reference"


def check(sarif: dict) -> None:
    jsonschema.Draft202012Validator(SCHEMA).validate(sarif)


def where(sarif: dict) -> list:
    return [(r["level"], r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
             r["locations"][0]["physicalLocation"].get("region", {}).get("startLine"),
             r["locations"][0]["physicalLocation"].get("region", {}).get("startColumn"), r["message"]["text"])
            for r in sarif["runs"][0]["results"]]


def test_the_schema_check_can_fail():
    bad = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [
        {"message": {"text": "m"}, "locations": [{"physicalLocation": {"region": {"startLine": 0}}}]}]}]}
    with pytest.raises(jsonschema.ValidationError):
        check(bad)


def test_validate_sarif_of_a_broken_kb_gives_every_problem_at_its_line(monkeypatch):
    monkeypatch.chdir(CASE)
    r = CliRunner().invoke(main, ["validate", "--kb", "kb", "--format", "sarif"])
    assert r.exit_code == 1
    sarif = json.loads(r.stdout)
    check(sarif)
    uri = "tests/cases/kind-and-reference/kb/sources/a.yaml"
    assert [w[:5] for w in where(sarif)] == [
        ("error", "kb", uri, 7, 14), ("error", "kb", uri, 8, 11), ("error", "kb", uri, 9, 14), ("error", "kb", uri, 10, 14),
        ("error", "kb", uri, 11, 12)]
    assert where(sarif)[1][5].startswith("unknown statement-kind 'expressed-gratitude' (did you mean 'thanked'?")
    assert r.stdout == CliRunner().invoke(main, ["validate", "--kb", "kb", "--format", "sarif"]).stdout  # deterministic


def test_validate_sarif_of_the_real_kb_holds_its_warnings():
    r = CliRunner().invoke(main, ["validate", "--format", "sarif"])
    assert r.exit_code == 0, r.output
    sarif = json.loads(r.stdout)
    check(sarif)
    found = where(sarif)
    assert [(w[0], w[1], w[2], w[3], w[4]) for w in found] == [
        ("warning", "shacl", "kb/sources/003_c5e96078c84a1ccd.yaml", 87, 5),
        ("warning", "shacl", "kb/sources/003_c5e96078c84a1ccd.yaml", 94, 5)]
    assert found[0][5].startswith("event that took place has no date")


def test_build_writes_sarif_beside_its_usual_output(tmp_path, monkeypatch):
    monkeypatch.chdir(CASE)
    out = tmp_path / "ks.sarif"
    r = CliRunner().invoke(main, ["build", "--kb", "kb", "--out", str(tmp_path / "exports"), "--no-cache",
                                  "--sarif", str(out)])
    assert r.exit_code == 1 and "error: unknown statement-kind 'expressed-gratitude'" in r.stderr
    sarif = json.loads(out.read_text(encoding="utf-8"))
    check(sarif)
    assert len(sarif["runs"][0]["results"]) == 5
