"""`diplokb diff`: the change in facts between git revisions, on a temporary git repository
holding a copy of the real KB."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from diplokb.cli import main

ROOT = Path(__file__).resolve().parents[1]


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
                   check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path, monkeypatch):
    for part in ("kb", "ontology", "shapes", "queries"):
        shutil.copytree(ROOT / part, tmp_path / part)
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "the KB")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def run(*args):
    return CliRunner().invoke(main, ["diff", *args])


def test_no_change(repo):
    r = run()
    assert (r.exit_code, r.stdout) == (0, "no change in the KB's facts between HEAD and working tree\n")


def test_facts_added_removed_and_changed_per_source(repo):
    src = next((repo / "kb/sources").glob("001_*.yaml"))
    edit(repo / "kb/entities/people.yaml", "name: Mao Ning", "name: MAO Ning")
    edit(src, "      - {who: mao-ning, side: china, role: spokesperson}\n",
         "      - {who: mao-ning, side: china, role: spokesperson}\n      - {who: chinese-foreign-ministry, side: china}\n")
    edit(src, "    status: took-place\n    place: beijing\n", "    status: took-place\n")
    edit(src, "statements:\n", "statements:\n  - id: mao-ning-praised-2023\n    speaker: mao-ning\n    kind: praised\n"
              "    topics: [bilateral-relations]\n"
              "    quote: \"China and Cambodia have become an exemplary model of friendly relations\"\n")
    r = run()
    assert r.exit_code == 0, r.output
    assert r.stdout == """changes in the KB from HEAD to working tree:
entities:
  ~ person mao-ning: MAO Ning
      + rdfs:label "MAO Ning"
      + skos:prefLabel "MAO Ning"
      - rdfs:label "Mao Ning"
      - skos:prefLabel "Mao Ning"
src-001:
  + statement mao-ning-praised-2023: MAO Ning praised: China and Cambodia have become an exemplary model of friendly relations
  ~ event chinese-foreign-ministry-press-conference-2023-07-24: Regular press conference of the Chinese Foreign Ministry
      + dkb:participant chinese-foreign-ministry
      + dkb:participation [dkb:agent chinese-foreign-ministry; dkb:onSideOf china]
      - dkb:place beijing
1 added, 2 changed, 0 removed; 4 record(s) whose labels follow a renamed entity not listed
"""
    git(repo, "commit", "-qam", "edits")
    data = json.loads(run("HEAD~1", "HEAD", "--format", "json").stdout)
    assert (data["from"], data["to"], data["summary"], data["relabelled"]) == (
        "HEAD~1", "HEAD", {"added": 1, "removed": 0, "changed": 2}, 4)
    assert [(c["source"], c["change"], c["kind"], c["id"]) for c in data["changes"]] == [
        ("entities", "changed", "person", "mao-ning"),
        ("src-001", "added", "statement", "mao-ning-praised-2023"),
        ("src-001", "changed", "event", "chinese-foreign-ministry-press-conference-2023-07-24")]
    back = json.loads(run("HEAD", "HEAD~1", "--format", "json").stdout)
    assert [(c["change"], c["id"]) for c in back["changes"]][-1] == ("removed", "mao-ning-praised-2023")


def test_a_new_quote_and_a_removed_source(repo):
    src = next((repo / "kb/sources").glob("001_*.yaml"))
    edit(src, "  - of: cambodia-general-election-2023\n    quote: \"the successful conclusion of its seventh national election\"",
         "  - of: cambodia-general-election-2023\n    quote:\n      - \"the successful conclusion of its seventh national election\"\n"
         "      - \"its seventh national election\"")
    r = run()
    assert r.stdout.splitlines()[1:4] == [
        "src-000:",  # the graph of the source that defines the event
        "  ~ event cambodia-general-election-2023: Seventh general election of Cambodia",
        "      + quote src-001: \"its seventh national election\""]
    git(repo, "commit", "-qam", "a second quote")
    (repo / "doc.txt").write_text("Phnom Penh, 3 March 2025\n\nSamdech Hun Sen received Mao Ning.\n", encoding="utf-8")
    assert CliRunner().invoke(main, ["new", "doc.txt"]).exit_code == 0
    assert run().stdout == ("changes in the KB from HEAD to working tree:\nsrc-005:\n"
                            "  + source src-005: 005_ce051c6a21786256.txt (untitled)\n1 added, 0 changed, 0 removed\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "a new source")
    assert run("HEAD", "HEAD~1").stdout.splitlines()[2] == "  - source src-005: 005_ce051c6a21786256.txt (untitled)"


def test_unknown_revision_and_a_revision_that_does_not_build(repo):
    r = run("nope")
    assert (r.exit_code, r.stderr) == (1, "Error: unknown git revision 'nope' (a commit, branch or tag, e.g. HEAD~1)\n")
    edit(repo / "kb/entities/people.yaml", "nationality: cambodia", "nationality: cambodja")
    r = run()
    assert r.exit_code == 1
    assert r.stderr.startswith("working tree: kb/entities/people.yaml:")
    assert "error: unknown place 'cambodja' (did you mean 'cambodia'?)" in r.stderr
