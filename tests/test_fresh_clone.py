"""`make run` on a fresh clone sets everything up and rebuilds the committed exports exactly.

It creates a virtual environment and installs from the package index, so it runs in CI only
(CI=true), where .ci/run sets that.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(os.environ.get("CI") != "true", reason="slow (installs packages); runs in CI")
def test_make_run_on_a_fresh_clone(tmp_path):
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    python = os.environ.get("PYTHON") or shutil.which("python3.11") or "python3"
    result = subprocess.run(["make", "run", f"PYTHON={python}"], cwd=clone, capture_output=True,
                            text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "triples from 5 sources" in result.stdout
    status = subprocess.run(["git", "status", "--porcelain", "exports"], cwd=clone, capture_output=True,
                            text=True, check=True)
    assert status.stdout == "", "make run changed the committed exports"
