"""Shared fixtures: the real project, and one build of it (exports in a temp folder)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from diplokb import Project

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def project() -> Project:
    return Project.find(ROOT)


@pytest.fixture(scope="session")
def built(project, tmp_path_factory):
    """The real KB built once into a temporary exports folder."""
    out = tmp_path_factory.mktemp("exports")
    p = Project(root=project.root, kb=project.kb, out=out)
    result = p.build()
    return p, result


@pytest.fixture(scope="session")
def store(built):
    p, _ = built
    return p.store()


@pytest.fixture()
def kb(tmp_path, monkeypatch) -> Path:
    """A copy of the real KB in tmp_path/kb, with tmp_path as the working folder (for tests
    that edit or break it; test_incremental.py has a synthetic one of the same name)."""
    shutil.copytree(ROOT / "kb", tmp_path / "kb")
    monkeypatch.chdir(tmp_path)
    return tmp_path / "kb"
