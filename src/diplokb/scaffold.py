"""`diplokb new`: archive a document's text and start its source YAML.

The text is copied byte for byte into kb/sources/ as NNN_<first 16 hex of its SHA-256>.txt,
beside NNN_<...>.yaml: a skeleton that builds (with Warnings for what is still to do), holding
the source's metadata fields to fill (each marked `# TODO`), the known entities whose names
occur in the text (with their ids and the sentence, as suggestions), a commented template of
each kind of record and, at the end, every sentence of the text as a comment with its line.
"""
from __future__ import annotations

import hashlib
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

from . import model as m
from .errors import DiplokbError, Problem
from .stats import sentences

_NUMBERED = re.compile(r"^(\d{3,})_")
_SRC_ID = re.compile(r"^src-(\d+)$")
_DATE_WORDS = re.compile(
    r"\b(\d{1,2}\s+(?:January|February|March|April|May|June|July|August|September|October|November|December)"
    r"\s+\d{4}|(?:January|February|March|April|May|June|July|August|September|October|November|December)"
    r"\s+\d{1,2},\s+\d{4}|\d{4}-\d{2}-\d{2})\b")
_MONTHS = {name: i for i, name in enumerate(("January", "February", "March", "April", "May", "June", "July",
                                             "August", "September", "October", "November", "December"), 1)}


@dataclass(frozen=True)
class Mention:
    """A known entity named in the text: its id, kind, the name found and where."""

    id: str
    kind: str
    name: str
    line: int
    sentence: str


@dataclass(frozen=True)
class Scaffold:
    """What `new` wrote."""

    source_id: str
    yaml_path: Path
    text_path: Path
    sha256: str
    sentences: int
    mentions: tuple


def known_entities(kb_dir: Path, vocabularies) -> tuple[list, list[Problem]]:
    """Every entity record of kb/entities (those that load), and the problems of the others."""
    from .loader import load_file

    problems: list[Problem] = []
    records = []
    for path in sorted((Path(kb_dir) / "entities").glob("*.yaml")):
        records += [r for r in load_file(path, str(path), problems, vocabularies, False)
                    if not isinstance(r, (m.Unchecked, m.Difference))]
    return records, problems


def mentions(text: str, entities) -> list[Mention]:
    """The entities whose name, variants or abbreviations occur in `text` as whole words
    (names and variants in any case, abbreviations as written), first occurrence each."""
    from .compile import normalize_ws
    from .quotes import original_position

    found = []
    flat = normalize_ws(text)
    text_spans = spans(text)
    for rec in entities:
        names = [(n, re.I) for n in (rec.name, *rec.variants)] + [(a, 0) for a in getattr(rec, "abbreviations", ())]
        best = None
        for name, flags in names:
            words = name.split()
            if not words:
                continue
            pattern = r"(?<!\w)" + r"\s+".join(re.escape(w) for w in words) + r"(?!\w)"
            hit = re.search(pattern, flat, flags)
            if hit and (best is None or hit.start() < best[1].start()):
                best = (name, hit)
        if best is None:
            continue
        name, hit = best
        found.append(Mention(rec.id, m.REF_KIND[type(rec)], hit.group(), original_position(text, hit.start())[0],
                             _sentence_at(text_spans, hit.start(), hit.group())))
    return sorted(found, key=lambda x: (x.line, x.id))


def spans(text: str) -> list[tuple[int, int, int, str, bool]]:
    """(start, end, line, sentence, is it a heading) of each sentence (stats.sentences), with
    start and end in the whitespace-normalised text and line in `text`."""
    from .compile import normalize_ws
    from .quotes import original_position

    flat = normalize_ws(text)
    out, pos = [], 0
    for sentence, heading in sentences(text):
        i = flat.find(sentence, pos)
        if i == -1:
            i = flat.find(sentence)
        pos = max(pos, i + len(sentence))
        out.append((i, i + len(sentence), original_position(text, i)[0], sentence, heading))
    return out


def _sentence_at(found_spans: list, at: int, name: str) -> str:
    """The sentence around position `at` of the normalised text, cut to about 110 characters
    around the name found there."""
    for start, end, _, sentence, _ in found_spans:
        if start <= at < end:
            if len(sentence) <= 110:
                return sentence
            i = at - start
            lo, hi = max(0, i - 40), min(len(sentence), i + len(name) + 50)
            return ("…" if lo else "") + sentence[lo:hi] + ("…" if hi < len(sentence) else "")
    return name


def next_number(sources_dir: Path) -> int:
    numbers = [int(mt.group(1)) for p in sources_dir.glob("*") if (mt := _NUMBERED.match(p.name))]
    return max(numbers, default=-1) + 1


def _guess_date(text: str) -> str | None:
    hit = _DATE_WORDS.search(text[:2000])
    if not hit:
        return None
    words = hit.group(1).replace(",", "").split()
    if len(words) == 1:
        return words[0]
    if words[0].isdigit():
        day, month, year = words
    else:
        month, day, year = words
    return f"{year}-{_MONTHS[month]:02d}-{int(day):02d}"


def _comment(text: str, prefix: str = "# ", width: int = 96, indent: str | None = None) -> list[str]:
    return textwrap.wrap(text, width, initial_indent=prefix, subsequent_indent=indent or prefix + "    ",
                         break_long_words=False, break_on_hyphens=False) or [prefix.rstrip()]


def _template(cls, section: str) -> list[str]:
    """A commented example item of a section: its required fields, then the others."""
    from .docgen import field_rows

    out = [f"# {section}:"]
    first = True
    for name, kind, required, doc in field_rows(cls):
        if not required:
            continue
        lead = "#   - " if first else "#     "
        first = False
        out.append(f"{lead}{name}:    # {kind}" + (f"; {doc}" if doc else ""))
    optional = [name for name, _, required, _ in field_rows(cls) if not required]
    if optional:
        out += _comment("optional: " + ", ".join(optional), "#     # ")
    return out


def render(source_id: str, text_name: str, sha: str, text: str, origin: str, found: list[Mention],
           vocabularies) -> str:
    """The skeleton YAML of a new source."""
    kinds = sorted(vocabularies.get("source-kind", {}))
    guess = _guess_date(text)
    first_line = next((ln.strip().strip("*#“”\"") for ln in text.splitlines() if ln.strip()), "")
    dateline_no, dateline = next(((n, ln.strip()) for n, ln in enumerate(text.splitlines()[:60], 1)
                                  if _DATE_WORDS.search(ln)), (0, ""))
    dateline = dateline.split(" – ")[0].split(" - ")[0].strip("* ")[:80] if dateline else ""
    place = next((x.id for x in found if x.kind == "place" and x.line == dateline_no), "")
    lines = [
        f"# Started by 'diplokb new' from {origin}.",
        f"# The archived text is {text_name}, copied byte for byte (SHA-256 below): never edit it.",
        "# Fill in every line marked TODO and delete the TODO; 'diplokb build' lists those left.",
        "# Then add events, statements, posts and figures, each with a quote copied from the text",
        f"# ('diplokb coverage {source_id}' lists the sentences no quote covers yet). Field reference:",
        "# docs/yaml-format.md; allowed values: 'diplokb vocab'; entity ids: 'diplokb entities'.",
        "source:",
        f"  id: {source_id}",
        f"  kind: news-item  # TODO: check the kind of document; one of: {', '.join(kinds)}",
        f"  # title: {first_line[:100]}  # TODO: the title as printed; leave out if it has none",
        "  # publisher:   # TODO: the id of the organization that issued it ('diplokb entities --class organization')",
        f"  # place: {place}  # TODO: the id of the dateline's place",
        f"  # date: {guess or 'YYYY-MM-DD'}  # TODO: the dateline's date, at the precision printed",
        f"  # dateline: {dateline}  # TODO: the dateline as printed",
        "  language: en",
        f"  text_file: {text_name}",
        f"  sha256: {sha}",
        "",
    ]
    if found:
        lines.append("# Known entities named in the text (ids to use in references; check each one):")
        for x in found:
            lines += _comment(f"{x.id} ({x.kind}) as '{x.name}', line {x.line}: {x.sentence}", "#   ")
        lines.append("")
    lines.append("# One item of each section, to copy (required fields first):")
    for section, cls in m.SOURCE_SECTIONS.items():
        lines += _template(cls, section)
    lines += ["", f"# The text, sentence by sentence (line numbers in {text_name}):"]
    for _, _, line, sentence, heading in spans(text):
        lines += _comment(("(heading) " if heading else "") + sentence, f"# {line:>4}: ", indent="#         ")
    return "\n".join(lines) + "\n"


def new_source(text_file: str | Path, kb_dir: str | Path, vocabularies_file: str | Path, *,
               source_id: str | None = None) -> Scaffold:
    """Archives `text_file` in kb/sources/ and writes the skeleton of its YAML beside it.
    Raises DiplokbError (and writes nothing) when the text is already archived, is not UTF-8
    text, or the id is taken."""
    from .vocabularies import load_vocabularies

    src = Path(text_file)
    kb_dir = Path(kb_dir)
    sources_dir = kb_dir / "sources"
    try:
        data = src.read_bytes()
    except OSError as exc:
        raise DiplokbError(f"{src}: cannot read: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DiplokbError(f"{src}: not UTF-8 text ({exc.reason} at byte {exc.start}); "
                           "convert it to UTF-8 first, and keep the original") from None
    if not text.strip():
        raise DiplokbError(f"{src}: the text is empty")
    sha = hashlib.sha256(data).hexdigest()
    for other in sorted(sources_dir.glob("*.txt")):
        if other.resolve() != src.resolve() and hashlib.sha256(other.read_bytes()).hexdigest() == sha:
            raise DiplokbError(f"{src}: this text is already archived as {other}")
    used = {mt.group(1) for p in sources_dir.glob("*.yaml")
            for mt in [re.search(r"(?m)^\s+id:\s*['\"]?(src-[a-z0-9-]+)", p.read_text(encoding="utf-8",
                                                                                 errors="replace"))] if mt}
    number = next_number(sources_dir)
    if source_id is None:
        source_id = f"src-{number:03d}"
        while source_id in used:
            number += 1
            source_id = f"src-{number:03d}"
    elif not m.SLUG_RE.match(source_id):
        raise DiplokbError(f"'{source_id}' is not a valid id (lower-case letters, digits and single hyphens, "
                           "e.g. 'src-005')")
    elif source_id in used:
        raise DiplokbError(f"the id '{source_id}' is already used by a source; choose another")
    stem = f"{number:03d}_{sha[:16]}"
    text_path, yaml_path = sources_dir / f"{stem}.txt", sources_dir / f"{stem}.yaml"
    if src.resolve().parent == sources_dir.resolve():  # already in place (an archived text with no YAML)
        text_path, yaml_path = src, src.with_suffix(".yaml")
    for p in (text_path, yaml_path):
        if p.exists() and not (p == text_path and p.resolve() == src.resolve()):
            raise DiplokbError(f"{p} already exists")
    vocabularies = load_vocabularies(Path(vocabularies_file))
    entities, _ = known_entities(kb_dir, vocabularies)
    found = mentions(text, entities)
    skeleton = render(source_id, text_path.name, sha, text, str(src), found, vocabularies)
    sources_dir.mkdir(parents=True, exist_ok=True)
    if src.resolve() != text_path.resolve():
        text_path.write_bytes(data)
    yaml_path.write_text(skeleton, encoding="utf-8")
    return Scaffold(source_id, yaml_path, text_path, sha, len(sentences(text)), tuple(found))
