"""Shared fixtures: the real project, and one build of it (exports in a temp folder)."""
from __future__ import annotations

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
