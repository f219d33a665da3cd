"""The allowed values of the KB's kinds (the SKOS schemes of ontology/vocabularies.ttl) and the
hint given when a value is not one of them: by meaning first (a concept's alternative and
hidden labels: 'expressed-gratitude' -> 'thanked'), then by spelling, then the list."""
from __future__ import annotations

from pathlib import Path

from .errors import did_you_mean


class Vocabularies(dict):
    """scheme id -> {concept id: label}; `synonyms`: scheme id -> {folded label: concept id}
    from the concepts' skos:altLabel and skos:hiddenLabel (for 'did you mean' by meaning)."""

    synonyms: dict = {}


def load_vocabularies(path: Path) -> Vocabularies:
    """scheme id -> {concept id: label} from ontology/vocabularies.ttl."""
    import pyoxigraph as ox

    base = "https://w3id.org/diplokb/vocab/"
    store = ox.Store()
    store.load(path=str(path), format=ox.RdfFormat.TURTLE)
    rows = store.query(
        "PREFIX skos: <http://www.w3.org/2004/02/skos/core#> "
        "SELECT ?c ?s ?l WHERE { ?c skos:inScheme ?s ; skos:prefLabel ?l }"
    )
    out = Vocabularies()
    for c, s, label in rows:
        out.setdefault(s.value.removeprefix(base), {})[c.value.rsplit("/", 1)[1]] = label.value
    out.synonyms = {}
    for c, s, label in store.query(
            "PREFIX skos: <http://www.w3.org/2004/02/skos/core#> "
            "SELECT ?c ?s ?l WHERE { ?c skos:inScheme ?s ; skos:altLabel|skos:hiddenLabel ?l }"):
        folded = " ".join(label.value.replace("-", " ").casefold().split())
        out.synonyms.setdefault(s.value.removeprefix(base), {})[folded] = c.value.rsplit("/", 1)[1]
    return out


def vocab_hint(text: str, scheme: str, concepts: dict, synonyms: dict) -> str:
    """'did you mean' by meaning (a concept's hidden or alternative labels) or by spelling,
    then the allowed values."""
    allowed = f"allowed: {', '.join(sorted(concepts))}"
    key = " ".join(text.replace("-", " ").replace("_", " ").casefold().split())
    meant = synonyms.get(scheme, {}).get(key)
    if meant is None and key.replace(" ", "-") in concepts:
        meant = key.replace(" ", "-")
    hint = f"did you mean '{meant}'?" if meant else did_you_mean(text, concepts)
    return f"{hint} {allowed}" if hint else allowed
