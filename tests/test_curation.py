"""Curating a new document: new, coverage, vocab, entities, the curation warnings, the checked
query parameters and the generated field reference, each through the CLI on a temporary copy
of the real KB (and on broken files), with exact output."""
from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from diplokb import docgen
from diplokb import model as m
from diplokb.cli import main
from diplokb.coverage import gaps
from diplokb.stats import coverage as stats_coverage

ROOT = Path(__file__).resolve().parents[1]
TEXT = """Phnom Penh, 3 March 2025

Samdech Hun Sen received Mao Ning at the Senate on 3 March 2025.

The two sides agreed to deepen the Cambodia-China Friendship Year exchanges.
"""
NAME = "005_3ac7fccca36285d1"


@pytest.fixture
def curator(tmp_path, monkeypatch):
    """A copy of the project (KB, ontology, shapes, queries) as the current folder."""
    for part in ("kb", "ontology", "shapes", "queries"):
        shutil.copytree(ROOT / part, tmp_path / part)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "doc.txt").write_bytes(TEXT.encode("utf-8"))
    return tmp_path


def run(*args):
    return CliRunner().invoke(main, list(args))


def test_new_archives_the_text_and_writes_a_skeleton_that_builds(curator):
    r = run("new", "doc.txt")
    assert r.exit_code == 0, r.output
    sha = hashlib.sha256(TEXT.encode()).hexdigest()
    assert r.stdout == (
        f"archived kb/sources/{NAME}.txt (SHA-256 {sha})\n"
        f"wrote kb/sources/{NAME}.yaml: source src-005, 3 sentences, 8 known entities named in the text\n"
        "next: fill in the lines marked TODO, add records with quotes, run 'diplokb build' and "
        "'diplokb coverage src-005'\n")
    assert (curator / "kb/sources" / f"{NAME}.txt").read_bytes() == (curator / "doc.txt").read_bytes()
    yaml_text = (curator / "kb/sources" / f"{NAME}.yaml").read_text(encoding="utf-8")
    lines = yaml_text.splitlines()
    assert lines[lines.index("source:"):lines.index("source:") + 11] == [
        "source:",
        "  id: src-005",
        "  kind: news-item  # TODO: check the kind of document; one of: joint-communique, news-article, "
        "news-item, press-release",
        "  # title: Phnom Penh, 3 March 2025  # TODO: the title as printed; leave out if it has none",
        "  # publisher:   # TODO: the id of the organization that issued it ('diplokb entities --class organization')",
        "  # place: phnom-penh  # TODO: the id of the dateline's place",
        "  # date: 2025-03-03  # TODO: the dateline's date, at the precision printed",
        "  # dateline: Phnom Penh, 3 March 2025  # TODO: the dateline as printed",
        "  language: en",
        f"  text_file: {NAME}.txt",
        f"  sha256: {sha}",
    ]
    assert "#   mao-ning (person) as 'Mao Ning', line 3: Samdech Hun Sen received Mao Ning at the Senate on" in lines
    assert "#   friendship-year-2023 (thing) as 'Cambodia-China Friendship Year', line 5: The two sides" in lines
    assert lines[-3:] == [
        "#    1: (heading) Phnom Penh, 3 March 2025",
        "#    3: Samdech Hun Sen received Mao Ning at the Senate on 3 March 2025.",
        "#    5: The two sides agreed to deepen the Cambodia-China Friendship Year exchanges.",
    ]
    r = run("build", "--out", "exports")
    assert r.exit_code == 0, r.output
    mine = [line for line in r.stderr.splitlines() if NAME in line]
    assert mine == [
        f"kb/sources/{NAME}.yaml:1:1: Warning: source has no quotes yet: no record cites its text (focus id:src-005)",
        f"kb/sources/{NAME}.yaml:9:20: Warning: still to do: check the kind of document; one of: joint-communique, "
        "news-article, news-item, press-release (focus id:src-005)",
        f"kb/sources/{NAME}.yaml:10:38: Warning: still to do: the title as printed; leave out if it has none "
        "(focus id:src-005)",
        f"kb/sources/{NAME}.yaml:11:18: Warning: still to do: the id of the organization that issued it "
        "('diplokb entities --class organization') (focus id:src-005)",
        f"kb/sources/{NAME}.yaml:12:24: Warning: still to do: the id of the dateline's place (focus id:src-005)",
        f"kb/sources/{NAME}.yaml:13:23: Warning: still to do: the dateline's date, at the precision printed "
        "(focus id:src-005)",
        f"kb/sources/{NAME}.yaml:14:41: Warning: still to do: the dateline as printed (focus id:src-005)",
    ]
    assert "from 6 sources" in r.stdout

    # the curator's first record: one sentence covered, the warnings about it gone
    path = curator / "kb/sources" / f"{NAME}.yaml"
    text = path.read_text(encoding="utf-8").replace(
        "  kind: news-item  # TODO", "  kind: news-item  # checked,").replace("\n\n# Known", (
            "\nstatements:\n  - speaker: both-sides\n    kind: agreed\n    topics: [friendship-and-anniversaries]\n"
            '    quote: "The two sides agreed to deepen the Cambodia-China Friendship Year exchanges."\n\n# Known'), 1)
    path.write_text(text, encoding="utf-8")
    r = run("build", "--out", "exports")
    assert r.exit_code == 0, r.output
    assert "no quotes yet" not in r.stderr and "check the kind" not in r.stderr
    assert "still to do: the title as printed" in r.stderr  # a cached build reads them again
    r = run("coverage", "src-005")
    assert r.exit_code == 0, r.output
    assert r.stdout == (f"src-005 ({NAME}.txt): 1 of 2 sentences not covered by a quote\n"
                        f"  {NAME}.txt:3:1: Samdech Hun Sen received Mao Ning at the Senate on 3 March 2025.\n")


def test_new_refuses_what_it_cannot_do_exactly(curator):
    archived = next((curator / "kb/sources").glob("000_*.txt"))
    shutil.copy(archived, curator / "again.txt")
    r = run("new", "again.txt")
    assert r.exit_code == 1
    assert r.stderr == f"Error: again.txt: this text is already archived as {archived}\n"
    r = run("new", "doc.txt", "--id", "src-003")
    assert (r.exit_code, r.stderr) == (1, "Error: the id 'src-003' is already used by a source; choose another\n")
    r = run("new", "doc.txt", "--id", "Src 5")
    assert r.exit_code == 1 and "'Src 5' is not a valid id" in r.stderr
    (curator / "latin1.txt").write_bytes("Phnom Penh caf\xe9".encode("latin-1"))
    r = run("new", "latin1.txt")
    assert r.exit_code == 1 and "latin1.txt: not UTF-8 text" in r.stderr
    assert sorted(p.name for p in (curator / "kb/sources").iterdir()) == sorted(
        p.name for p in (ROOT / "kb/sources").iterdir()), "a refused 'new' writes nothing"


def test_an_archived_text_with_no_yaml_warns_and_new_adopts_it(curator):
    orphan = curator / "kb/sources/010_orphan.txt"
    orphan.write_bytes(TEXT.encode("utf-8"))
    r = run("build", "--out", "exports")
    assert r.exit_code == 0, r.output
    assert ("kb/sources/010_orphan.txt: Warning: archived text with no source YAML (no 'text_file' names it): "
            "run 'diplokb new kb/sources/010_orphan.txt' to start one, or delete it "
            "(focus kb/sources/010_orphan.txt)") in r.stderr.splitlines()
    r = run("new", "kb/sources/010_orphan.txt")
    assert r.exit_code == 0, r.output
    assert (curator / "kb/sources/010_orphan.yaml").is_file() and orphan.read_bytes() == TEXT.encode()
    assert "orphan" not in run("build", "--out", "exports").stderr.replace("010_orphan.yaml", "")


def test_a_changed_archived_text_fails_against_its_recorded_sha256(curator):
    assert run("new", "doc.txt").exit_code == 0
    (curator / "kb/sources" / f"{NAME}.txt").write_bytes(TEXT.replace("3 March", "4 March").encode())
    r = run("build", "--out", "exports")
    assert r.exit_code == 1
    actual = hashlib.sha256(TEXT.replace("3 March", "4 March").encode()).hexdigest()
    assert r.stderr.splitlines()[0] == (
        f"kb/sources/{NAME}.yaml:17:11: error: archived text '{NAME}.txt' has SHA-256 {actual}, not the one "
        "recorded: the text changed since it was archived (archived texts stay byte for byte as received; "
        "restore it, or archive the new version as a new source)")


def test_coverage_agrees_with_stats_and_gives_lines(project):
    compiled = project.compile()
    by_source = {g.source: g for g in gaps(compiled)}
    for row in stats_coverage(compiled):
        assert by_source[row.source].sentences == row.sentences
        assert row.sentences - len(by_source[row.source].uncovered) == row.covered
    for g in by_source.values():
        src = next(s for s in compiled.sources if s.id == g.source)
        lines = src.text.splitlines()
        for u in g.uncovered:  # the line and column point at the sentence's first word
            assert lines[u.line - 1][u.column - 1:].startswith(u.sentence.split()[0])


def test_coverage_of_an_unknown_source():
    r = run("coverage", "src-0003")
    assert r.exit_code == 1
    assert r.stderr == ("Error: no source 'src-0003'; did you mean 'src-003'? "
                        "(sources: src-000, src-001, src-002, src-003, src-004)\n")


def test_vocab_lists_kinds_with_definitions_and_synonyms():
    r = run("vocab", "source-kind")
    assert r.exit_code == 0
    assert r.stdout == ("source-kind:\n"
                        "  joint-communique               A communiqué issued jointly by two governments.\n"
                        "  news-article                   A news article.\n"
                        "  news-item                      A short news report.\n"
                        "  press-release                  A release issued by an official body.\n")
    r = run("vocab", "statement-kind")
    assert ("  thanked                        Expressed thanks or appreciation. (also: appreciated, "
            "expressed gratitude, expressed thanks, grateful, thanks)") in r.stdout.splitlines()
    r = run("vocab")
    assert r.exit_code == 0 and r.stdout.count(":\n") >= 11
    r = run("vocab", "statement-kinds")
    assert r.exit_code == 1 and r.stderr.startswith(
        "Error: no vocabulary 'statement-kinds'; did you mean 'statement-kind'? (vocabularies: cooperation-area, difference-aspect,")


def test_entities_lists_ids_and_names(curator):
    r = run("entities", "--class", "side")
    assert r.exit_code == 0
    assert r.stdout == (
        "side          both-sides                                   both sides (also: the two sides; the two leaders;"
        " Leaders of both sides; both countries; the two countries)\n"
        "side          cambodian-side                               the Cambodian side\n"
        "side          chinese-side                                 the Chinese side\n")
    people = curator / "kb/entities/people.yaml"
    people.write_text(people.read_text(encoding="utf-8").replace("nationality: cambodia", "nationality: [cambodia]", 1),
                      encoding="utf-8")
    r = run("entities", "--class", "person")
    assert r.exit_code == 1
    assert "error: 'nationality' must be a single value, not a list or mapping" in r.stderr
    assert r.stderr.endswith("Error: 1 problem(s) in kb/entities; the records with problems are not listed.\n")
    assert "person        xi-jinping " in r.stdout  # the others are listed


def test_query_parameters_are_checked():
    r = run("query", "03-posts-of-person", "-p", "person=hun-senn")
    assert (r.exit_code, r.stderr) == (1, "Error: parameter 'person': no Person 'hun-senn' in the KB; "
                                          "did you mean 'hun-sen'? (see 'diplokb entities')\n")
    r = run("query", "03-posts-of-person", "-p", "person=china")
    assert r.stderr == ("Error: parameter 'person': 'china' is a Country or Place, but the query expects a "
                        "Person (like its default 'prak-sokhonn')\n")
    r = run("query", "04-post-holder-on-date", "-p", "when=Dec 2024")
    assert r.stderr == ("Error: parameter 'when': 'Dec 2024' is not a date; write YYYY, YYYY-MM or YYYY-MM-DD "
                        "(e.g. 2024-12 for a month)\n")
    r = run("query", "04-post-holder-on-date", "-p", "when=2024-13")
    assert r.stderr == "Error: parameter 'when': '2024-13' is an impossible date (month must be in 1..12)\n"
    by_name = run("query", "03-posts-of-person", "-p", "person=PRAK Sokhonn", "--format", "csv")
    by_id = run("query", "03-posts-of-person", "-p", "person=prak-sokhonn", "--format", "csv")
    assert by_name.exit_code == 0 and by_name.stdout == by_id.stdout and by_id.stdout.count("\n") > 2


def test_query_and_show_warn_when_the_yaml_is_newer_than_the_exports(curator):
    assert run("build", "--out", "exports").exit_code == 0
    assert run("show", "hun-sen").stderr == ""
    people = curator / "kb/entities/people.yaml"
    later = os.stat(curator / "exports/diplokb.trig").st_mtime + 60
    os.utime(people, (later, later))
    warning = (f"Warning: {Path('kb/entities/people.yaml')} changed after exports/diplokb.trig was built: "
               "the answers may be out of date (run 'diplokb build', or query with --fresh)\n")
    assert run("show", "hun-sen").stderr == warning
    r = run("query", "01-timeline", "--format", "csv")
    assert r.exit_code == 0 and r.stderr == warning


def test_the_field_reference_is_generated_from_the_model_and_current():
    doc = (ROOT / "docs/yaml-format.md").read_text(encoding="utf-8")
    assert doc == docgen.render(doc), "docs/yaml-format.md is stale: run 'python -m diplokb.docgen'"
    reference = doc.split(docgen.BEGIN, 1)[1]
    for cls in (*m.ENTITY_SECTIONS.values(), *m.SOURCE_SECTIONS.values(), m.Source, *m.ITEM_CLASSES.values()):
        for name, _, _, meaning in docgen.field_rows(cls):
            assert f"| `{name}` |" in reference and meaning, (cls.__name__, name)
    assert "read the code" not in doc and "model.py`: each" not in doc
