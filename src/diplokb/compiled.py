"""The whole KB compiled at once, as one set of quads (`compile_kb`): what `diplokb review`,
`stats`, `diff` and `Project.compile` read. A build compiles file by file instead
(compile.compile_unit, incremental.py); both emit the same triples, from the same compiler.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from . import model as m
from .compile import compile_unit
from .errors import BuildError
from .index import build_index, defines
from .rdf import DKB, RDF_TYPE


@dataclass(frozen=True)
class CompiledKB:
    """The KB as quads, plus where in the YAML each subject IRI was written."""

    quads: tuple
    locations: dict  # IRI -> SourceLocation
    sources: tuple  # model.Source, sorted by id
    counts: dict  # class local name -> number of instances

    @cached_property
    def triples(self) -> frozenset:
        """The union of all graphs: each (s, p, o) once."""
        return frozenset((q.s, q.p, q.o) for q in self.quads)


def merge(outputs, sources) -> CompiledKB:
    """The KB from its files' outputs, in file order (the first file to place a subject
    gives its location)."""
    quads = tuple(dict.fromkeys(q for out in outputs for q in out.quads))
    locations: dict = {}
    for out in outputs:
        for s, loc in out.locations.items():
            locations.setdefault(s, loc)
    typed: dict = {}
    for q in quads:
        if q.p == RDF_TYPE:
            typed.setdefault(q.o.removeprefix(DKB), set()).add(q.s)
    counts = {c: len(members) for c, members in typed.items()}
    return CompiledKB(quads=quads, locations=locations,
                      sources=tuple(sorted(sources, key=lambda s: s.id)), counts=counts)


def compile_kb(kb: m.KB) -> CompiledKB:
    """Resolves references and emits quads, file by file; raises BuildError with every
    problem found."""
    by_file: dict = {}
    for rec in (*kb.sources, *kb.records):
        by_file.setdefault(rec.loc.file, []).append(rec)
    files = sorted(by_file, key=lambda f: (_is_source_file(by_file[f]), f))
    index, problems = build_index(defines(by_file[f]) for f in files)
    problems = list(kb.problems) + problems
    sources = {s.id: s for s in kb.sources}
    outputs = []
    for f in files:
        out = compile_unit(by_file[f], index, sources.get, kb.vocabularies, kb.broken_ids)
        problems += out.problems
        outputs.append(out)
    if problems:
        raise BuildError(problems)
    return merge(outputs, kb.sources)


def _is_source_file(records) -> bool:
    return any(isinstance(r, m.Source) for r in records)
