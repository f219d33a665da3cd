"""loader.py: YAML -> typed records, strictly and safely."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from diplokb import model
from diplokb.loader import load_file
from diplokb.vocabularies import load_vocabularies

ROOT = Path(__file__).resolve().parents[1]
VOCAB = load_vocabularies(ROOT / "ontology" / "vocabularies.ttl")


def read(tmp_path, text: str, is_source: bool = False):
    path = tmp_path / "f.yaml"
    path.write_text(text, encoding="utf-8")
    (tmp_path / "t.txt").write_text("text", encoding="utf-8")
    problems = []
    records = load_file(path, "f.yaml", problems, VOCAB, is_source)
    return records, [p.render() for p in problems]


def test_plain_scalars_stay_strings_no_yaml11_surprises(tmp_path):
    # YAML 1.1 would read `no` as False, `1.10` as 1.1 and 2023-05-01 as a date object.
    records, problems = read(tmp_path, "people:\n  - {id: p, name: no, variants: [yes, 1.10, on]}\n")
    assert problems == []
    person = records[0]
    assert person.name == "no"
    assert person.variants == ("yes", "1.10", "on")


def test_numbers_are_read_exactly(tmp_path):
    text = ("source: {id: s, kind: news-item, text_file: t.txt}\n"
            "figures:\n  - {about: e, measure: voter-turnout, value: 84.10, quote: text}\n"
            "  - {about: e, measure: voter-turnout, value: about 84, quote: text}\n")
    records, problems = read(tmp_path, text, is_source=True)
    assert records[1].value == "84.10"
    assert problems == ["f.yaml:4:47: error: 'value' must be a number written with digits, got 'about 84'"]


def test_ordinals_are_whole_numbers(tmp_path):
    records, problems = read(tmp_path, "things:\n  - {id: t, name: T, kind: anniversary, ordinal: 6.5}\n")
    assert problems == ["f.yaml:2:50: error: 'ordinal' must be a whole number, got '6.5'"]


def test_dates_keep_their_precision(tmp_path):
    text = ("source: {id: s, kind: news-item, text_file: t.txt, date: 2023-07}\n"
            "events:\n  - {id: e, kind: visit, title: V, status: took-place, date: 2024/2024-12-02, quote: text}\n")
    records, problems = read(tmp_path, text, is_source=True)
    assert problems == []
    source, event = records
    assert source.date == model.Period(model.Date("2023-07"))
    assert source.date.start.precision == "month"
    assert event.date == model.Period(model.Date("2024"), model.Date("2024-12-02"))
    assert event.date.start.precision == "year"


def test_alias_bomb_is_refused_quickly(tmp_path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i-1}"] * 9) + "]")
    lines.append("people: *a9")
    t0 = time.perf_counter()
    records, problems = read(tmp_path, "\n".join(lines) + "\n")
    assert time.perf_counter() - t0 < 2
    assert records == []
    assert problems and all("alias" in p for p in problems)
    assert problems[0].startswith("f.yaml:2:")


def test_every_problem_of_a_file_is_reported(tmp_path):
    text = ("people:\n"
            "  - {id: Bad Id, name: X}\n"
            "  - {id: ok, name: Y, nickname: Z}\n"
            "  - {id: ok2}\n")
    _, problems = read(tmp_path, text)
    assert problems == [
        "f.yaml:2:10: error: 'Bad Id' is not a valid id (use lower-case letters, digits and single hyphens, e.g. 'hun-sen')",
        "f.yaml:3:23: error: unknown field 'nickname' in person (did you mean 'name'?)",
        "f.yaml:4:5: error: person is missing required field 'name'",
    ]


def test_empty_required_value_is_named(tmp_path):
    _, problems = read(tmp_path, "people:\n  - id: p\n    name:\n")
    assert problems == ["f.yaml:3:10: error: required field 'name' of person is empty"]


def test_top_level_must_be_a_mapping(tmp_path):
    _, problems = read(tmp_path, "- just\n- a list\n")
    assert problems == ["f.yaml:1:1: error: a KB file must be a mapping (key: value lines)"]


def test_vocabularies_are_read_from_the_ontology():
    assert "courtesy-call" in VOCAB["event-kind"]
    assert VOCAB["statement-kind"]["reaffirmed-support"] == "reaffirmed support"


def test_records_made_by_the_reader_are_the_data_classes_own():
    """reader._make sets a record's fields at once, not through the frozen data class's
    __init__: the records must be the same (fields, order, equality, hash, repr, frozen)."""
    import dataclasses

    from diplokb import model
    from diplokb.errors import SourceLocation
    from diplokb.reader import _make

    loc = SourceLocation("kb/x.yaml", 3, 5)
    classes = (model.Person, model.Statement, model.Event, model.Source, model.Participation,
               model.PostAttestation, model.Figure, model.Difference, model.Claim, model.Thing)
    for cls in classes:
        values = {"loc": loc}
        for f in dataclasses.fields(cls)[:3]:
            values[f.name] = f"value of {f.name}"
        made, plain = _make(cls, dict(values)), cls(**values)
        assert type(made) is cls and made == plain and hash(made) == hash(plain) and repr(made) == repr(plain)
        assert list(vars(made).items()) == list(vars(plain).items())
        with pytest.raises(dataclasses.FrozenInstanceError):
            made.loc = None
    with pytest.raises(TypeError):  # a value for no field: the class's __init__ says so
        _make(model.Person, {"id": "x", "no_such_field": 1})
    assert _make(model.KB, {"root": "kb"}).vocabularies == {}  # a field without a default, a default_factory


def test_a_record_class_with_a_post_init_is_made_by_its_init():
    """reader._make skips __init__, so a class with a __post_init__ must go through it."""
    import dataclasses

    from diplokb.reader import _make

    @dataclasses.dataclass(frozen=True)
    class Checked:
        name: str = ""

        def __post_init__(self):
            if not self.name:
                raise ValueError("a name is required")

    with pytest.raises(ValueError):
        _make(Checked, {})
    assert _make(Checked, {"name": "x"}) == Checked("x")
