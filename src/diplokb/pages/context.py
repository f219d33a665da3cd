"""What every page reads: the store and indexes built once from it (labels, classes, names)."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from ..rdf import ID, curie
from .html import DKB, RDFS, SKOS

FACT_CLASSES = frozenset(DKB + c for c in ("Statement", "PostAttestation", "Figure", "Evidence",
                                            "Participation", "Claim"))


@dataclass(frozen=True)
class PageContext:
    """The store, the named queries, the downloads, where the archived texts are, and
    whether pages are written for the static site. Indexes are built on first use and kept."""

    store: object
    named: dict = field(default_factory=dict)
    downloads: tuple = ()
    kb: Path | None = None  # the KB folder, where the archived texts (kb/sources/*.txt) are
    static: bool = False
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    def q(self, sparql: str):
        return self.store.query(sparql)

    def _cached(self, key, make):
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    # -- labels and classes ------------------------------------------------------------
    @property
    def labels(self) -> dict[str, str]:
        def make():
            out: dict[str, str] = {}
            pref: dict[str, str] = {}
            for sol in self.q("SELECT ?s ?l ?p WHERE { VALUES ?p { rdfs:label skos:prefLabel } ?s ?p ?l }"):
                s, label = sol["s"].value, sol["l"].value
                target = out if sol["p"].value == RDFS + "label" else pref
                if s not in target or label < target[s]:
                    target[s] = label
            return {**pref, **out}
        return self._cached("labels", make)

    def label(self, iri: str) -> str:
        return self.labels.get(iri) or curie(iri) or iri

    @property
    def types(self) -> dict[str, tuple[str, ...]]:
        def make():
            out: dict[str, list] = {}
            for sol in self.q("SELECT ?s ?c WHERE { ?s a ?c } ORDER BY ?s ?c"):
                out.setdefault(sol["s"].value, []).append(sol["c"].value)
            return {k: tuple(v) for k, v in out.items()}
        return self._cached("types", make)

    def is_a(self, iri: str, cls: str) -> bool:
        return DKB + cls in self.types.get(iri, ())

    @property
    def subclasses(self) -> dict[str, set[str]]:
        """class -> itself and every class below it (rdfs:subClassOf*, from the ontology)."""
        def make():
            parent: dict[str, set] = {}
            for sol in self.q("SELECT ?c ?p WHERE { ?c rdfs:subClassOf ?p }"):
                parent.setdefault(sol["c"].value, set()).add(sol["p"].value)
            out: dict[str, set] = {}
            for c in parent:
                seen, todo = set(), [c]
                while todo:
                    x = todo.pop()
                    for p in parent.get(x, ()):
                        if p not in seen:
                            seen.add(p)
                            todo.append(p)
                for p in seen:
                    out.setdefault(p, {p}).add(c)
            return out
        return self._cached("subclasses", make)

    def instance_of(self, iri: str, cls: str) -> bool:
        """Whether `iri` is a dkb:`cls` or of a subclass of it."""
        klass = DKB + cls
        kinds = self.subclasses.get(klass, {klass})
        return any(t in kinds for t in self.types.get(iri, ()))

    def class_label(self, cls: str) -> str:
        return self.labels.get(cls) or cls.rsplit("#", 1)[-1]

    def main_class(self, iri: str) -> str | None:
        """The most specific dkb class of `iri` (one that no other of its classes is below)."""
        ts = [t for t in self.types.get(iri, ()) if t.startswith(DKB) or t == SKOS + "Concept"
              or t == SKOS + "ConceptScheme"]
        for t in ts:
            if not any(o != t and o in self.subclasses.get(t, ()) for o in ts):
                return t
        return ts[0] if ts else None

    @property
    def prop_labels(self) -> dict[str, str]:
        def make():
            return {sol["p"].value: sol["l"].value for sol in self.q(
                "SELECT ?p ?l WHERE { VALUES ?k { owl:ObjectProperty owl:DatatypeProperty owl:AnnotationProperty } "
                "?p a ?k ; rdfs:label ?l }")}
        return self._cached("props", make)

    def prop_label(self, p: str) -> str:
        return PLAIN.get(p) or self.prop_labels.get(p) or curie(p) or p

    # -- archived texts ----------------------------------------------------------------
    def text_of(self, source: str) -> tuple[str | None, str | None]:
        """(the archived text of a source, None) once its SHA-256 matches the KB's, else
        (None, why it cannot be shown)."""
        def make():
            out = {}
            for sol in self.q("SELECT ?s ?f ?h WHERE { ?s dkb:archivedText ?f OPTIONAL { ?s dkb:sha256 ?h } }"):
                out[sol["s"].value] = (sol["f"].value, sol["h"].value if sol["h"] else None)
            return out
        files = self._cached("texts", make)
        if source not in files:
            return None, "the KB names no archived text for this source"
        name, digest = files[source]
        if self.kb is None:
            return None, f"the archived text ({name}) is not available here: the pages were started without the KB folder"
        path = self._text_files().get(name)
        if path is None:
            return None, f"the archived text {name} is not in {self.kb}"
        data = path.read_bytes()
        if digest and hashlib.sha256(data).hexdigest() != digest:
            return None, (f"the archived text {path} does not match the SHA-256 recorded in the KB "
                          f"({digest}): it has changed since the KB was built, so it is not shown")
        return data.decode("utf-8"), None

    def _text_files(self) -> dict[str, Path]:
        def make():
            out: dict[str, Path] = {}
            for p in sorted(Path(self.kb).rglob("*.txt")):
                out.setdefault(p.name, p)
            return out
        return self._cached("text_files", make)

    def is_entity(self, iri: str) -> bool:
        """A thing one looks up by name (not a statement, attestation, quote...)."""
        ts = self.types.get(iri, ())
        return bool(ts) and not any(t in FACT_CLASSES for t in ts) and iri.startswith(ID)


# Properties as a reader says them (the ontology's labels are used for the others).
PLAIN = {
    RDFS + "label": "Name", SKOS + "prefLabel": "Preferred name", SKOS + "altLabel": "Also known as",
    "https://schema.org/honorificPrefix": "Honorifics", "https://schema.org/givenName": "Given name",
    "https://schema.org/familyName": "Family name", DKB + "abbreviation": "Abbreviations",
    SKOS + "editorialNote": "Curator's note", SKOS + "definition": "Definition", SKOS + "inScheme": "In scheme",
    SKOS + "broader": "Broader", SKOS + "notation": "Code", "http://purl.org/dc/terms/title": "Title",
    "http://purl.org/dc/terms/publisher": "Publisher", "http://purl.org/dc/terms/language": "Language",
    "http://purl.org/dc/terms/description": "Description", "http://www.w3.org/ns/org#postIn": "Post in",
    "http://www.w3.org/ns/org#subOrganizationOf": "Part of", "http://www.w3.org/1999/02/22-rdf-syntax-ns#type": "Class",
}
