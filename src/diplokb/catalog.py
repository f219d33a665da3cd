"""What a curator may write: the vocabularies' concepts (`diplokb vocab`) and the known
entities (`diplokb entities`), read from the ontology and the YAML as they are now."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import model as m
from .errors import DiplokbError, Problem, did_you_mean

VOCAB = "https://w3id.org/diplokb/vocab/"
SKOS = "http://www.w3.org/2004/02/skos/core#"


@dataclass(frozen=True, order=True)
class Concept:
    scheme: str
    id: str
    label: str
    definition: str = ""
    synonyms: tuple = ()  # alternative and hidden labels: what it may also be called


@dataclass(frozen=True, order=True)
class Entity:
    kind: str  # person, organization, place, post, thing, side
    id: str
    name: str
    variants: tuple = ()
    file: str = ""
    line: int = 0


def concepts(vocabularies_file: str | Path, scheme: str | None = None) -> list[Concept]:
    """Every concept (of `scheme` only, if given), sorted by scheme and id. An unknown scheme
    raises DiplokbError naming the schemes."""
    import pyoxigraph as ox

    store = ox.Store()
    store.load(path=str(vocabularies_file), format=ox.RdfFormat.TURTLE)
    rows = store.query(
        f"SELECT ?c ?s ?l ?d (GROUP_CONCAT(?syn; separator='\\u001f') AS ?syns) WHERE {{ "
        f"?c <{SKOS}inScheme> ?s ; <{SKOS}prefLabel> ?l . OPTIONAL {{ ?c <{SKOS}definition> ?d }} "
        f"OPTIONAL {{ ?c <{SKOS}altLabel>|<{SKOS}hiddenLabel> ?syn }} }} GROUP BY ?c ?s ?l ?d")
    out = []
    for sol in rows:
        syns = sol["syns"].value if sol["syns"] is not None else ""
        out.append(Concept(sol["s"].value.removeprefix(VOCAB), sol["c"].value.rsplit("/", 1)[1], sol["l"].value,
                           sol["d"].value if sol["d"] is not None else "",
                           tuple(sorted(x for x in syns.split("\x1f") if x))))
    out.sort()
    if scheme is not None:
        schemes = {c.scheme for c in out}
        if scheme not in schemes:
            hint = did_you_mean(scheme, schemes)
            raise DiplokbError(f"no vocabulary '{scheme}'" + (f"; {hint}" if hint else "")
                               + f" (vocabularies: {', '.join(sorted(schemes))})")
        out = [c for c in out if c.scheme == scheme]
    return out


KINDS = ("person", "organization", "place", "post", "thing", "side")


def entities(kb_dir: str | Path, vocabularies_file: str | Path, kind: str | None = None,
             base: str | Path | None = None) -> tuple[list[Entity], list[Problem]]:
    """The entities of kb/entities (of one `kind` if given), sorted by kind and id, and the
    problems of the records that could not be read (those are left out)."""
    import os

    from .loader import load_file
    from .vocabularies import load_vocabularies

    base = Path(base) if base is not None else Path.cwd()
    vocabularies = load_vocabularies(Path(vocabularies_file))
    problems: list[Problem] = []
    out = []
    for path in sorted((Path(kb_dir) / "entities").glob("*.yaml")):
        display = os.path.relpath(path, base)
        for rec in load_file(path, display, problems, vocabularies, False):
            what = m.REF_KIND.get(type(rec))
            if what in KINDS and (kind is None or what == kind):
                out.append(Entity(what, rec.id, rec.name, tuple(rec.variants), rec.loc.file, rec.loc.line))
    return sorted(out), sorted(problems)
