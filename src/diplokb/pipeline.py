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
from functools import cached_property
from pathlib import Path

from typing import TYPE_CHECKING

from .errors import BuildError, DiplokbError, Problem
from .export_write import differs as _differs  # noqa: F401 - (a name tests use)

if TYPE_CHECKING:
    from .compiled import CompiledKB
    from .validate import ValidationReport, ValidationResult

# The steps are imported where they are used, so that commands that only read the exports
# (`query`, `show`) do not import the compiler, the loader and the SHACL engine.

ONTOLOGY_FILES = ("diplokb.ttl", "vocabularies.ttl")
SHAPES_FILE = "diplokb-shapes.ttl"
# Names of the ontology, vocabularies and shapes among the exports.
EXPORTED_ONTOLOGY = ("ontology.ttl", "vocabularies.ttl", "shapes.ttl")
CACHE_DIR = ".diplokb-cache"


@dataclass(frozen=True)
class Project:
    """Where a KB's parts live. `kb` and `out` may point elsewhere (e.g. a synthetic KB)."""

    root: Path
    kb: Path
    out: Path
    cache: Path | None = None  # the build cache's folder; None: every build is a clean build

    @classmethod
    def find(cls, start: str | Path | None = None, *, kb: str | Path | None = None,
             out: str | Path | None = None, cache: str | Path | None | bool = True) -> "Project":
        """The nearest folder at or above `start` (default: cwd) holding ontology/diplokb.ttl,
        else the folder this package was installed from. The build cache is kept in
        `.diplokb-cache/` there, unless `cache` names another folder (False: no cache)."""
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
        kb_dir = Path(kb) if kb else root / "kb"
        if cache is True:  # beside the KB folder: a KB elsewhere keeps its cache elsewhere
            cache = kb_dir.resolve().parent / CACHE_DIR
        return cls(root=root, kb=kb_dir, out=Path(out) if out else root / "exports",
                   cache=Path(cache) if cache else None)

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
        from .compiled import compile_kb
        from .loader import load

        timings = {} if timings is None else timings
        t0 = time.perf_counter()
        kb = load(self.kb, self.ontology_files[1], base=Path.cwd())
        t1 = time.perf_counter()
        compiled = compile_kb(kb)
        t2 = time.perf_counter()
        timings.update(load=t1 - t0, compile=t2 - t1)
        return compiled

    def validate(self, compiled: CompiledKB | None = None, *, engine: str = "fast") -> ValidationReport:
        """SHACL validation: `engine` 'fast' (diplokb's own) or 'pyshacl' (the reference)."""
        from .validate import validate

        compiled = compiled or self.compile()
        report = _with_advice(validate(compiled.triples, compiled.locations, self.shapes_file,
                                       self.ontology_files, engine=engine), self.kb)
        return _with_fidelity(report, compiled)

    def object_properties(self) -> set[str]:
        """Local names of the ontology's object properties (IRI-valued in JSON-LD)."""
        text = self.ontology_files[0].read_text(encoding="utf-8")
        import re
        return set(re.findall(r"^dkb:(\w+) a owl:ObjectProperty", text, re.M))

    def build(self, *, check: bool = False, write: bool = True, engine: str = "fast",
              jobs: int | None = None) -> "BuildResult":
        """Loads, compiles, validates and (unless `check`) writes the exports atomically.

        Raises BuildError when the YAML has problems or SHACL finds violations; in that
        case nothing is written. With `check=True`, nothing is written and
        `result.stale` lists the export files that differ from a clean build (the cache is
        neither read nor written: a damaged cache cannot make stale exports pass). With a
        `cache` folder, files unchanged since the last successful build are not read again,
        and only the focus nodes an edit can affect are validated again (incremental.py).
        `jobs`: processes to use (default: 2 where two cores are free; see workers.py); the
        results are the same with any number.
        """
        from .workers import default_jobs
        import gc

        enabled = gc.isenabled()
        gc.disable()  # a build allocates millions of small tuples and frees few: no cycles to find
        try:
            return self._build(check=check, write=write, engine=engine, jobs=jobs or default_jobs())
        finally:
            if enabled:
                _promote_all(gc)
                gc.enable()

    def _build(self, *, check: bool, write: bool, engine: str, jobs: int) -> "BuildResult":
        from . import cache

        t0 = time.perf_counter()
        start_ns = time.time_ns()  # before anything is read: the mtime of the exports it writes
        key = cache.code_key([*self.ontology_files, self.shapes_file])
        # `check` compares the exports with a clean build: the cache is not read (nor written)
        state_file = cache.state_path(self.cache, self.kb) if self.cache and not check else None
        state = cache.load(state_file, key) if state_file else cache.State(key=key)
        notices = [_cache_notice(state_file, w) for w in state.warnings]
        for attempt in range(3):
            if not state.complete:
                _read_whole(state, notices, state_file)
            try:
                return self._build_from(state, key, state_file, notices, t0, start_ns, check=check, write=write,
                                        engine=engine, jobs=jobs)
            except cache.Damaged as exc:  # a chunk read on demand was damaged: start again
                notices.append(_cache_notice(state_file, f"the build cache is damaged ({exc.message}); "
                                             "that part is compiled again and everything is rendered and "
                                             "validated again"))
                state = cache.load(state_file, key) if attempt == 0 else cache.State(key=key)
                state.units.pop(exc.rel, None)
                state.complete = False
        raise AssertionError("unreachable")

    def _build_from(self, state, key, state_file, notices, t0, start_ns, *, check: bool, write: bool,
                    engine: str, jobs: int) -> "BuildResult":
        from . import affected, cache, export_write, incremental_save, rebuild
        from .validate import validate

        from .incremental import Build
        from .workers import CAN_FORK, Forked

        build = Build(self.kb, self.ontology_files[1], state, Path.cwd(), self.object_properties(),
                      use_stat=state_file is not None)
        build.run(jobs=jobs)
        locations = _Locations(build)
        incremental = engine == "fast" and state.results is not None
        timings = dict(build.timings)
        timings["cache"] = time.perf_counter() - t0 - sum(v for k, v in timings.items() if "waited" not in k)

        fork = jobs > 1 and CAN_FORK
        if not incremental and not fork:  # one process: the render reuses the validation's groups
            build.grouped()

        def validate_all():
            t = time.perf_counter()
            report = validate(build.groups or build.grouped(), locations, self.shapes_file, self.ontology_files,
                              engine=engine)
            return [_row(r) for r in report.results], time.perf_counter() - t

        # Validating everything takes about as long as rendering everything: a second process does it
        # meanwhile (workers.py). An edit's few focus nodes are checked in-process, after the
        # render has found which subjects changed.
        full = None if incremental else Forked(validate_all, fork=fork)
        try:
            build.render()
            timings["render"] = build.timings["render"]

            t = time.perf_counter()
            if incremental:
                # (nothing changed: no focus node, and no shapes, ontology or SHACL engine to load)
                picked = affected.affected(build, self.shapes_file, self.ontology_files) \
                    if build.changed else (set(), set())
                if picked is None:  # every focus node (affected.affected says when)
                    rows, timings["validate"] = validate_all()
                else:
                    focus, reads = picked
                    found = validate(affected.triples(build, reads), locations, self.shapes_file,
                                     self.ontology_files, engine=engine, focus=focus).results if focus else ()
                    rows = [_row(r) for r in found] + [
                        (f, *row) for f, found in state.results.items() if f not in focus for row in found]
                    timings["validate"] = time.perf_counter() - t
            else:
                rows, timings["validate"] = full.result()
                timings["validate (waited)"] = time.perf_counter() - t
        finally:
            if full is not None:
                full.cancel()
        report, by_focus = _report(rows, locations)
        report = _with_advice(report, self.kb, build.advice)  # of the files not read: the cache's

        may_splice = write and not check and state_file is not None
        if may_splice and not rebuild.recorded_exports(state):
            build.load_everything()  # assembled whole: before the chunks' save forks

        def write_exports():  # the cache's chunks are saved meanwhile (_beside)
            t = time.perf_counter()
            kb = rebuild.texts(build, state, self.out, may_splice)
            timings["assemble"] = time.perf_counter() - t
            t = time.perf_counter()
            if write and not check:
                try:
                    kb, files, stale, digests = export_write.write(self, kb, build, state, may_splice, start_ns)
                except OSError as exc:
                    raise DiplokbError(f"cannot write the exports in {self.out}: {exc.strerror or exc}"
                                       + (f" ({exc.filename})" if exc.filename else "")
                                       + "; the exports were left as they were") from exc
            else:
                files, stale, digests = export_write.stale_of(self, kb, build, state)
            if kb.notice:
                notices.append(_cache_notice(state_file, kb.notice))
            timings["write"] = time.perf_counter() - t
            return kb, files, stale, digests

        if state_file:
            results = {f: tuple(found) for f, found in by_focus.items()} if engine == "fast" else None
            full = state.meta is None or not state.complete

            def save_chunks():
                names, chunks, meta, maps = incremental_save.chunks(build, results, full)
                cache.write_chunks(state_file, chunks, every=full)
                return names, meta, maps

            (kb, files, stale, digests), parts = _beside(
                write_exports, lambda: _save(save_chunks), fork and full, timings, notices, state_file)
            if parts is not None:
                t = time.perf_counter()
                names, meta, maps = parts

                def save_index():
                    exports = rebuild.recorded(self.out, files, kb.layout, start_ns, digests) if write else None
                    if exports is not None:
                        cache.write_chunks(state_file, kb.chunks, every=full)
                    cache.save(state_file, incremental_save.state(build, key, names, meta, exports, maps), build.old)

                failed, _ = _save(save_index)
                if failed:
                    notices.append(_cache_notice(state_file, failed))
                timings["save index"] = time.perf_counter() - t
        else:
            kb, files, stale, _ = write_exports()
        timings["total"] = time.perf_counter() - t0
        figures, counts = kb.figures
        shown = {n: rebuild.Unchanged(self.out / n, None, rebuild.size_of(data)) if type(data) is not bytes else data
                 for n, data in files.items()}  # a spliced export is read from disk when asked for
        return BuildResult(project=self, report=report, files=rebuild.ExportFiles(shown), stale=tuple(stale),
                           timings=timings, counts=counts, triples=figures["triples"],
                           recompiled=tuple(build.compiled), notices=tuple(notices))

    def _files(self, texts: dict, figures: dict, counts: dict, source_ids, void_found=None,
               digests: dict | None = None) -> dict:
        """Every export file's name and bytes (or, for the KB exports, files.Splice or
        rebuild.Unchanged). void.ttl is `void_found(key)` where that finds it on disk (the key
        of what it is made of, rebuild.void_key, put in `digests`)."""
        import json

        from . import export

        from .rebuild import size_of

        files = {n: c.encode("utf-8") if type(c) is str else c for n, c in texts.items()}
        files["context.jsonld"] = (json.dumps({"@context": export.jsonld_context(self.object_properties())},
                                              indent=1) + "\n").encode("utf-8")
        for name, f in zip(EXPORTED_ONTOLOGY, (*self.ontology_files, self.shapes_file)):
            files[name] = f.read_text(encoding="utf-8").encode("utf-8")  # newlines as read_text gives them
        media = {"nt": "application/n-triples", "ttl": "text/turtle", "trig": "application/trig",
                 "jsonld": "application/ld+json"}
        sizes = {n: (media[n.rsplit(".", 1)[1]], size_of(data)) for n, data in files.items()}
        if void_found is not None:
            from .rebuild import void_key

            digests["void.ttl"] = key = void_key(figures, counts, source_ids, sizes)
            found = void_found(key)
            if found is not None:
                files["void.ttl"] = found
                return files
        files["void.ttl"] = export.void_description(figures, counts, source_ids, sizes).encode("utf-8")
        return files

    def store(self, *, fresh: bool = False):
        """A query store over the exports (building them in memory first if `fresh`)."""
        from .query import Store

        names = ("diplokb.trig", *EXPORTED_ONTOLOGY[:2])
        if fresh:  # the store loads everything at once, so the files need not outlive it
            import tempfile

            from . import files as _files
            files = self.build(write=False).files
            with tempfile.TemporaryDirectory(prefix="diplokb-") as tmp:
                _files.write_atomically(Path(tmp), {n: files[n] for n in names})
                return Store([Path(tmp) / n for n in names])
        if not (self.out / names[0]).is_file():
            raise DiplokbError(f"no exports in {self.out}: run 'diplokb build' first")
        return Store([self.out / n for n in names])


def _promote_all(gc) -> None:
    """Moves every object the collector tracks to its oldest generation, without a collection.
    With the collector off, everything a build made (millions of objects) is still in the
    youngest generation, so the first collection once it is on again would go through all of
    it (~0.1 s at 100k triples, for nothing where the caller is about to end; the CLI's
    build turns the collector off itself, so this is for library callers). `freeze` then `unfreeze` moves them in two list splices; cyclic garbage among them
    is still found by the next full collection. Not done where the caller has frozen objects
    itself (unfreezing would undo that)."""
    if gc.get_freeze_count() == 0:
        gc.freeze()
        gc.unfreeze()


def _cache_notice(state_file, message: str) -> Problem:
    from .errors import SourceLocation

    return Problem(SourceLocation(str(state_file)), message, severity="warning")


def _read_whole(state, notices: list, state_file) -> None:
    """A state whose rendered texts or results cannot be used: every chunk read (a damaged one's
    file is compiled again), and every subject rendered and validated again."""
    dropped = state.load_all()
    if dropped:
        notices.append(_cache_notice(state_file, f"the build cache is damaged (the chunk of {', '.join(dropped)} "
                                     "failed its digest or shape check); that part is compiled again and "
                                     "everything is rendered and validated again"))
    state.rendered.clear()
    state.trig.clear()


def _save(save) -> tuple:
    """(why it could not, None) or (None, what it returned) of `save()`, part of saving the
    cache (an optimisation: a failure is a warning)."""
    try:
        return None, save()
    except Exception as exc:  # noqa: BLE001 - the exports are written: the cache is only an optimisation
        return _not_saved(exc), None


def _not_saved(exc: Exception) -> str:
    why = (exc.strerror or exc) if isinstance(exc, OSError) else f"{type(exc).__name__}: {exc}"
    return f"the build cache was not saved ({why}); the next build is a clean build"


def _beside(main, save, fork: bool, timings: dict, notices: list, where):
    """`main()`, while `save()` (the cache) runs in a second process if `fork` (after it, if
    not); returns what `main` returned. If `main` fails, a save in a second process is still let
    finish, so that it leaves no half-written temporary file (one still to run is not run); a state never decides what is written (cache.py).
    A save that fails, whatever the reason, adds a warning to `notices`: never a failed build."""
    from .workers import Forked

    def timed():
        t = time.perf_counter()
        failed, found = save()
        return time.perf_counter() - t, (failed, found)

    saving = Forked(timed, fork=fork)
    try:
        out = main()
    except BaseException:
        if saving.pid is None:  # the save was to run after `main`, in this process: not at all
            saving.cancel()
        else:
            try:
                saving.result()
            except Exception:  # noqa: BLE001 - the error being raised is the one to report
                pass
        raise
    t = time.perf_counter()
    try:
        timings["save cache"], (failed, found) = saving.result()
    except Exception as exc:  # noqa: BLE001 - the exports are written: the cache is only an optimisation
        failed, found = _not_saved(exc), None
    timings["save cache (waited)"] = time.perf_counter() - t
    if failed:
        notices.append(_cache_notice(where, failed))
    return out, found


def _report(rows: list, locations) -> tuple[ValidationReport, dict]:
    """The validation report of result rows (`_row`), and the rows by focus node (which the
    cache keeps); raises BuildError with every violation."""
    from .validate import ValidationReport, ValidationResult

    by_focus: dict = {}
    for focus_node, *row in rows:
        by_focus.setdefault(focus_node, []).append(tuple(row))
    report = ValidationReport(results=tuple(sorted(
        ValidationResult(locations.get(f), sev, msg, f, path, value, shape, component)
        for f, found in by_focus.items() for sev, msg, path, value, shape, component in found)))
    if not report.no_violations:
        raise BuildError([Problem(r.location, r.message + f" (focus {r.focus}"
                                  + (f", path {r.path}" if r.path else "") + ")",
                                  severity="violation") for r in report.violations])
    return report, by_focus


def _with_advice(report: ValidationReport, kb: Path, known: dict | None = None) -> ValidationReport:
    """The report with the curation warnings (advice.py) among its results (`known`: those of
    some files, by path relative to the KB)."""
    from .validate import ValidationReport

    from .advice import warnings

    return ValidationReport(results=tuple(sorted((*report.results, *warnings(kb, known=known)))))


def _with_fidelity(report: ValidationReport, compiled: CompiledKB) -> ValidationReport:
    """The report with the fidelity checks that need judgement (review.findings: a speaker
    the quote's sentence does not name, a post dated after the event that names it) as
    Warnings at the YAML line of the fact. `validate` runs them; `build` does not (they read
    the whole compiled KB, which an incremental build does not hold)."""
    from .errors import SourceLocation
    from .review import findings
    from .validate import ValidationReport, ValidationResult

    found = [ValidationResult(compiled.locations.get(f.subject) or SourceLocation("kb"), "Warning", f.message,
                              f.subject, shape=f"diplokb:fidelity-{f.check}") for f in findings(compiled)]
    return ValidationReport(results=tuple(sorted((*report.results, *found)))) if found else report


def _row(r: ValidationResult) -> tuple:
    """A result without its location (which the build adds back), as plain strings."""
    return (r.focus, r.severity, r.message, r.path, r.value, r.shape, r.component)


class _Locations:
    """Subject IRI -> where in the YAML it was written, looked up on demand."""

    def __init__(self, build):
        self.build = build

    def get(self, s, default=None):
        return self.build.location(str(s))


@dataclass(frozen=True)
class BuildResult:
    project: Project = field(repr=False)
    report: ValidationReport
    files: dict = field(repr=False)
    stale: tuple = ()
    timings: dict = field(default_factory=dict)
    counts: dict = field(default_factory=dict)  # class local name -> number of instances
    triples: int = 0
    recompiled: tuple = ()  # the KB files compiled in this build (the others came from the cache)
    notices: tuple = ()  # warnings about the build itself (a damaged or unwritable cache), as Problems

    @cached_property
    def compiled(self) -> CompiledKB:
        """The KB as quads (compiled again from the YAML on first use)."""
        return self.project.compile()

    def summary(self) -> dict:
        c = self.counts
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
                "triples": self.triples,
                "warnings": len(self.report.warnings)}


