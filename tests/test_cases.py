"""Bad input: each folder of tests/cases holds a small KB and the exact messages expected.

Every message names the file, line and column; all problems of a run are reported together,
and a failed build writes nothing.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from diplokb import BuildError, Project

CASES = Path(__file__).parent / "cases"
ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.iterdir() if p.is_dir()))
def test_case_reports_expected_problems(case, tmp_path, monkeypatch):
    folder = CASES / case
    monkeypatch.chdir(folder)
    out = tmp_path / "exports"
    project = Project(root=ROOT, kb=folder / "kb", out=out)
    with pytest.raises(BuildError) as info:
        project.build()
    expected = (folder / "expected.txt").read_text(encoding="utf-8").strip()
    assert info.value.render() == expected
    assert not out.exists(), "a failed build must write nothing"
