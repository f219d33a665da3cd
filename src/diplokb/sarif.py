"""Problems and validation results as SARIF 2.1.0, for GitHub code scanning: each one at its
YAML file:line:col, so that a pull request shows it on the line that caused it.

    sarif.log(problems=build_error.problems, results=report.results, root=project.root)

The output is deterministic (no timestamps, results sorted by location), and paths are
relative to `root` (the repository), as code scanning expects.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {"error": "error", "violation": "error", "Violation": "error", "warning": "warning",
          "Warning": "warning", "note": "note", "Info": "note", "info": "note"}
RULES = {  # rule id -> its short description
    "kb": "The KB's YAML could not be read or resolved (syntax, fields, values, ids, references, quotes).",
    "shacl": "A SHACL shape of shapes/diplokb-shapes.ttl reported a result.",
    "curation": "Something a curator still has to do (a TODO left, a source with no quotes yet).",
}


def _uri(file: str, root: Path) -> str:
    path = Path(file)
    if not path.is_absolute():
        path = Path.cwd() / path
    try:
        rel = os.path.relpath(path, root)
    except ValueError:
        return path.as_posix()
    return Path(rel).as_posix() if not rel.startswith("..") else path.as_posix()


def _location(loc, root: Path) -> dict:
    physical: dict = {"artifactLocation": {"uri": _uri(loc.file, root)}}
    if loc.line:
        physical["region"] = {"startLine": loc.line, "startColumn": max(loc.column, 1)}
    return {"physicalLocation": physical}


def log(*, problems=(), results=(), root: str | Path = ".", version: str = "") -> dict:
    """The SARIF log (a dict) of `problems` (errors.Problem) and `results`
    (validate.ValidationResult)."""
    root = Path(root).resolve()
    out = []
    for p in problems:
        rule = "shacl" if p.severity == "violation" else "kb"
        text = p.message + (f" ({p.hint})" if p.hint else "")
        out.append((p.location, rule, LEVELS.get(p.severity, "error"), text))
    for r in results:
        rule = "curation" if r.shape.startswith("diplokb:") else "shacl"
        text = r.message + (f" (focus {r.focus}" + (f", path {r.path}" if r.path else "") + ")" if rule == "shacl" else "")
        out.append((r.location, rule, LEVELS.get(r.severity, "warning"), text))
    out.sort(key=lambda x: (x[0].file, x[0].line, x[0].column, x[1], x[3]))
    rule_ids = sorted(RULES)
    driver = {"name": "diplokb", "informationUri": "https://w3id.org/diplokb",
              "rules": [{"id": rid, "shortDescription": {"text": RULES[rid]}} for rid in rule_ids]}
    if version:
        driver["version"] = version
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": driver},
            "results": [{"ruleId": rule, "ruleIndex": rule_ids.index(rule), "level": level,
                         "message": {"text": text}, "locations": [_location(loc, root)]}
                        for loc, rule, level, text in out],
        }],
    }


def dumps(sarif: dict) -> str:
    return json.dumps(sarif, indent=1, ensure_ascii=False) + "\n"


def package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("diplokb")
    except PackageNotFoundError:
        return ""
