"""The pipeline as one library API: load -> compile -> validate -> export.

    >>> from diplokb import Project
    >>> project = Project.find()          # the folder holding ontology/, shapes/, kb/
    >>> result = project.build()         # raises BuildError listing every problem
    >>> result.summary()["triples"] > 0
    True
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from . import export
from .compile import CompiledKB, compile_kb
from .errors import BuildError, DiplokbError, Problem
from .loader import load
from .validate import ValidationReport, validate

ONTOLOGY_FILES = ("diplokb.ttl", "vocabularies.ttl")
SHAPES_FILE = "diplokb-shapes.ttl"
# Names of the ontology, vocabularies and shapes among the exports.
EXPORTED_ONTOLOGY = ("ontology.ttl", "vocabularies.ttl", "shapes.ttl")


@dataclass(frozen=True)
class Project:
    """Where a KB's parts live. `kb` and `out` may point elsewhere (e.g. a synthetic KB)."""

    root: Path
    kb: Path
    out: Path

    @classmethod
    def find(cls, start: str | Path | None = None, *, kb: str | Path | None = None,
             out: str | Path | None = None) -> "Project":
        """The nearest folder at or above `start` (default: cwd) holding ontology/diplokb.ttl,
        else the folder this package was installed from."""
        here = Path(start or Path.cwd()).resolve()
        root = None
        for d in (here, *here.parents):
            if (d / "ontology" / ONTOLOGY_FILES[0]).is_file():
                root = d
                break
        if root is None:
            root = Path(__file__).resolve().parents[2]
            if not (root / "ontology" / ONTOLOGY_FILES[0]).is_file():
                raise DiplokbError("no diplokb project here: ontology/diplokb.ttl not found "
                                   "in this folder or above it")
        return cls(root=root, kb=Path(kb) if kb else root / "kb", out=Path(out) if out else root / "exports")

    @property
    def ontology_files(self) -> list[Path]:
        return [self.root / "ontology" / f for f in ONTOLOGY_FILES]

    @property
    def shapes_file(self) -> Path:
        return self.root / "shapes" / SHAPES_FILE

    @property
    def queries_dir(self) -> Path:
        return self.root / "queries"

    # -- pipeline steps ------------------------------------------------------------------
    def compile(self, timings: dict | None = None) -> CompiledKB:
        timings = {} if timings is None else timings
        t0 = time.perf_counter()
        kb = load(self.kb, self.ontology_files[1], base=Path.cwd())
        t1 = time.perf_counter()
        compiled = compile_kb(kb)
        t2 = time.perf_counter()
        timings.update(load=t1 - t0, compile=t2 - t1)
        return compiled

    def validate(self, compiled: CompiledKB | None = None, *, engine: str = "fast",
                 nt_text: str | None = None) -> ValidationReport:
        """SHACL validation: `engine` 'fast' (diplokb's own) or 'pyshacl' (the reference)."""
        compiled = compiled or self.compile()
        return validate(compiled.triples, compiled.locations, self.shapes_file, self.ontology_files,
                        engine=engine, nt_text=nt_text)

    def render(self, compiled: CompiledKB, timings: dict | None = None,
               nt_text: str | None = None) -> dict[str, bytes]:
        """Every export file's name and bytes."""
        timings = {} if timings is None else timings
        triples = compiled.triples
        files: dict[str, str] = {}
        files["diplokb.nt"] = nt_text if nt_text is not None else export.to_ntriples(triples)
        t = time.perf_counter()
        blocks = export.turtle_blocks(triples)  # shared by Turtle and TriG
        files["diplokb.ttl"] = export.to_turtle(triples, blocks=blocks)
        timings["export ttl"] = time.perf_counter() - t
        t = time.perf_counter()
        files["diplokb.trig"] = export.to_trig(compiled.quads, blocks=blocks)
        timings["export trig"] = time.perf_counter() - t
        t = time.perf_counter()
        object_properties = self.object_properties()
        files["diplokb.jsonld"] = export.to_jsonld(triples, object_properties)
        timings["export jsonld"] = time.perf_counter() - t
        import json
        files["context.jsonld"] = json.dumps({"@context": export.jsonld_context(object_properties)},
                                             indent=1) + "\n"
        for name, f in zip(EXPORTED_ONTOLOGY, (*self.ontology_files, self.shapes_file)):
            files[name] = f.read_text(encoding="utf-8")
        media = {"nt": "application/n-triples", "ttl": "text/turtle", "trig": "application/trig",
                 "jsonld": "application/ld+json"}
        sizes = {n: (media[n.rsplit(".", 1)[1]], len(c.encode("utf-8"))) for n, c in files.items()}
        files["void.ttl"] = export.void_description(triples, compiled.counts, compiled.sources, sizes)
        return {n: c.encode("utf-8") for n, c in files.items()}

    def object_properties(self) -> set[str]:
        """Local names of the ontology's object properties (IRI-valued in JSON-LD)."""
        text = self.ontology_files[0].read_text(encoding="utf-8")
        import re
        return set(re.findall(r"^dkb:(\w+) a owl:ObjectProperty", text, re.M))

    def build(self, *, check: bool = False, write: bool = True, engine: str = "fast") -> "BuildResult":
        """Loads, compiles, validates and (unless `check`) writes the exports atomically.

        Raises BuildError when the YAML has problems or SHACL finds violations; in that
        case nothing is written. With `check=True`, nothing is written and
        `result.stale` lists the export files that differ from a fresh build.
        """
        timings: dict = {}
        t0 = time.perf_counter()
        compiled = self.compile(timings)
        t = time.perf_counter()
        nt_text = export.to_ntriples(compiled.triples)
        timings["export nt"] = time.perf_counter() - t
        t = time.perf_counter()
        report = self.validate(compiled, engine=engine, nt_text=nt_text)
        timings["validate"] = time.perf_counter() - t
        if not report.conforms:
            raise BuildError([Problem(r.location, r.message + f" (focus {r.focus}"
                                      + (f", path {r.path}" if r.path else "") + ")",
                                      severity="violation") for r in report.violations])
        files = self.render(compiled, timings, nt_text=nt_text)
        stale = sorted(n for n, data in files.items()
                       if not (self.out / n).is_file() or (self.out / n).read_bytes() != data)
        if write and not check:
            t = time.perf_counter()
            export.write_atomically(self.out, {n: files[n] for n in stale})
            timings["write"] = time.perf_counter() - t
        timings["total"] = time.perf_counter() - t0
        return BuildResult(compiled=compiled, report=report, files=files, stale=tuple(stale),
                           timings=timings)

    def store(self, *, fresh: bool = False):
        """A query store over the exports (building them in memory first if `fresh`)."""
        from .query import Store

        names = ("diplokb.trig", *EXPORTED_ONTOLOGY[:2])
        if fresh:  # the store loads everything at once, so the files need not outlive it
            import tempfile
            files = self.build(write=False).files
            with tempfile.TemporaryDirectory(prefix="diplokb-") as tmp:
                export.write_atomically(Path(tmp), {n: files[n] for n in names})
                return Store([Path(tmp) / n for n in names])
        if not (self.out / names[0]).is_file():
            raise DiplokbError(f"no exports in {self.out}: run 'diplokb build' first")
        return Store([self.out / n for n in names])


@dataclass(frozen=True)
class BuildResult:
    compiled: CompiledKB
    report: ValidationReport
    files: dict = field(repr=False)
    stale: tuple = ()
    timings: dict = field(default_factory=dict)

    def summary(self) -> dict:
        c = self.compiled.counts
        people = c.get("Person", 0)
        orgs = c.get("Organization", 0)
        places = c.get("Place", 0)
        things = sum(n for k, n in c.items() if k in (
            "Agreement", "PartnershipFramework", "Mechanism", "Initiative", "Project",
            "ThemedYear", "Anniversary", "EventSeries", "NamedThing"))
        return {"entities": people + orgs + places + c.get("Post", 0) + things + c.get("Side", 0),
                "people": people, "organizations": orgs, "places": places, "posts": c.get("Post", 0),
                "named things": things, "events": c.get("Event", 0),
                "statements": c.get("Statement", 0), "post attestations": c.get("PostAttestation", 0),
                "sources": c.get("SourceDocument", 0), "evidence quotes": c.get("Evidence", 0),
                "triples": len(self.compiled.triples),
                "warnings": len(self.report.warnings)}


