"""One build, file by file: reuse what the cache (cache.py) holds for unchanged files, compile
the others, re-render only the subjects whose triples they touch, and re-validate only the
focus nodes those subjects can affect.

A clean build is the same code with an empty cache, so the two cannot drift apart; tests
check that an edited build gives byte for byte what a clean build of the same files gives.

(What SHACL results an edit can change, and what their checks read: affected.py.)
"""
from __future__ import annotations

import os
import time
from collections import defaultdict
from pathlib import Path

from . import cache, export, incremental_maps, workers
from .advice import advice_of_bytes
from . import model as m  # (index.py imports it too)
from .index import defines
from .errors import BuildError, Problem, SourceLocation
from .files import MAX_TEXT_BYTES, FileRefused, read_regular
from .kbfiles import _display, kb_files, read_kb_file, stray_files
from .vocabularies import load_vocabularies
from .rdf import RDF_TYPE

RACY_NS = 2_000_000_000  # a stat this close to a build's start is not recorded (Build._settled)
SPLIT_MIN = 64  # files to load from which a build with two jobs loads them in two processes


def _grouped(pairs) -> dict:
    """predicate -> set of objects from (predicate, object) pairs (in the plain form: rdf.py)."""
    preds: dict = {}
    for p, o in pairs:
        objs = preds.get(p)
        if objs is None:
            preds[p] = {o}
        else:
            objs.add(o)
    return preds


class Build:
    def __init__(self, kb_dir: Path, vocabularies_file: Path, state: cache.State, base: Path,
                 object_properties: set, use_stat: bool = True):
        self.kb_dir = Path(kb_dir)
        self.vocabularies_file = vocabularies_file
        self.old = state
        self.started_ns = time.time_ns()  # before any file is looked at (_settled)
        self.base = base
        self.timings: dict = {}
        self.files = kb_files(self.kb_dir)
        self.paths = {rel: (path, is_source) for rel, path, is_source in self.files}
        self.removed = {rel for rel in state.units if rel not in self.paths}
        self.problems: list[Problem] = []
        self.records: dict = {}  # rel -> records, for the files loaded in this build
        self.broken: set = set()
        self._vocabularies = None
        self.jsonld = export.JsonLdNodes(object_properties)
        self.groups: dict = {}  # subject -> its triples grouped, once grouped() ran
        # The bytes of each file as read (and hashed) once: what is compiled is what was hashed,
        # even if a file changes during the build. rel -> YAML bytes (None: unreadable, reported),
        # and rel -> (text_file, its bytes) for the archived texts read to check a cached unit.
        self.data: dict = {}
        self.text_data: dict = {}
        # Files whose stat (size, mtime_ns, inode) and their text's are those the cache recorded
        # are not read (`skipped`); rel -> stat taken before reading, for the others.
        self.use_stat = use_stat
        self.restated: set = set()  # unchanged files whose new stat the next index records
        self.skipped: set = set()
        self.stats: dict = {}
        self.text_stats: dict = {}
        self.rendered = state.rendered  # filled as the cache's chunks are read
        self.trig = state.trig
        self.old_rows: dict = {}  # touched subject -> its rendered row before this build
        self.old_graph_sets: dict = {}  # touched subject -> the graphs it was in
        self.link_delta: dict = {}  # changed subject -> (objects it linked to, links to now)
        self.old_pairs: dict = {}  # changed subject there before -> its (p, o) pairs before (affected.py)
        self.old_primary: dict = {}  # touched subject -> the file whose chunk held it
        self._displays: dict = {}  # rel -> the path shown in messages
        self._kb_rel: str | None | bool = False  # the KB folder relative to `base` (False: not yet)
        # rel -> advice.file_advice of the bytes read (of a file not read: the cache's, recorded
        # with the same YAML digest); the next index records it
        self.advice: dict = {}
        self.read_log: dict = {}  # rel -> subject -> graph -> pairs, as graphs_of read them
        self.read_subjects: set = set()  # the subjects graphs_of was asked for

    # -- loading -------------------------------------------------------------------------
    @property
    def vocabularies(self) -> dict:
        if self._vocabularies is None:
            self._vocabularies = load_vocabularies(self.vocabularies_file)
        return self._vocabularies

    def display(self, rel: str) -> str:
        found = self._displays.get(rel)  # asked for each file more than once (os.path.relpath is slow)
        if found is None:
            kb = self._kb_display()
            found = self._displays[rel] = (os.path.normpath(os.path.join(kb, rel)) if kb is not None
                                           else _display(self.paths[rel][0], self.base))
        return found

    def _kb_display(self) -> str | None:
        """The KB folder relative to `base`, from which a file's display path (relative to
        `base` too) is that joined with the file's path in the KB, where that is what
        os.path.relpath gives: unless `base` is inside the KB folder (or on another drive)."""
        if self._kb_rel is False:
            try:
                kb = os.path.relpath(self.kb_dir, self.base)
            except ValueError:
                kb = None
            self._kb_rel = kb if kb is not None and (kb == "." or os.path.basename(kb) != os.pardir) else None
        return self._kb_rel

    def load_unit(self, rel: str, problems: list | None = None) -> list:
        if rel not in self.records:
            path, is_source = self.paths[rel]
            if rel in self.skipped:
                self._read_skipped(rel)
            data = self.data.pop(rel, None)
            if data is None:  # unreadable: reported when it was read (run)
                self.records[rel] = []
                return self.records[rel]
            from .loader import load_file  # (a build where nothing changed imports no YAML loader)

            self.records[rel] = load_file(Path(path), self.display(rel), self.problems if problems is None else problems,
                                          self.vocabularies, is_source, self.broken, data=data, root=self.kb_dir,
                                          text_data=self.text_data.pop(rel, None))
        return self.records[rel]

    def _read_skipped(self, rel: str) -> None:
        """Reads a file the build took as unchanged by its stat (its records are needed): its
        bytes must be those the cache recorded, else it changed during the build: an error."""
        self.skipped.discard(rel)
        path = self.paths[rel][0]
        data = read_kb_file(path, self.kb_dir, self.display(rel), self.problems)
        if data is not None and not self.unchanged(rel, data):
            self.problems.append(Problem(SourceLocation(self.display(rel)),
                                         "the file changed during the build; build again"))
            data = None
        self.data[rel] = data

    def _stat_unchanged(self, rel: str, path: str) -> bool:
        """Whether the file and its text have the stat the cache recorded (then it is not read)."""
        old = self.old.units.get(rel)
        st = _stat(path)
        self.stats[rel] = st
        if old is None or st is None or old["stat"] != st or not self.old.complete:
            return False
        if old["text"]:
            tst = _stat(os.path.join(os.path.dirname(path), old["text"]))
            return tst is not None and old["text_stat"] == tst
        return True

    def unchanged(self, rel: str, data: bytes) -> bool:
        old = self.old.units.get(rel)
        if old is None or old["yaml"] != cache.digest(data):
            return False
        if old["text"]:
            text_path = os.path.join(os.path.dirname(self.paths[rel][0]), old["text"])
            self.text_stats[rel] = _stat(text_path)
            try:
                raw = read_regular(text_path, self.kb_dir, MAX_TEXT_BYTES)
            except (OSError, FileRefused):
                return False  # loading it reports why
            self.text_data[rel] = (old["text"], raw)
            return old["text_digest"] == _text_digest(raw)
        return True

    # -- the build -----------------------------------------------------------------------
    def run(self, jobs: int = 1) -> None:
        """Loads and compiles what changed, and takes the rest from the cache (raises
        BuildError with every problem found). `render()` comes next. With `jobs` > 1 and many
        files to load, a second process loads and compiles every other one of them
        (`_helper`); the two swap the ids their files define in between, since compiling a
        file looks up ids defined anywhere."""
        t = time.perf_counter()
        digests, to_load = {}, []
        use_stat = self.use_stat
        old_advice = None
        for rel, path, is_source in self.files:
            if use_stat and self._stat_unchanged(rel, path):
                self.skipped.add(rel)
                digests[rel] = self.old.units[rel]["yaml"]
                if old_advice is None:
                    old_advice = self.old.advice  # (a state used by its stat has the whole record)
                self.advice[rel] = old_advice.get(rel)
                continue
            data = self.data[rel] = read_kb_file(path, self.kb_dir, self.display(rel), self.problems)
            digests[rel] = cache.digest(data) if data is not None else ""
            self.advice[rel] = advice_of_bytes(data, is_source) if data is not None else None
            if data is None or not self.unchanged(rel, data):
                to_load.append(rel)
            elif rel in self.old.units:  # unchanged, checked by its bytes: its new stat is recorded
                self._restat(rel)
        self.problems += stray_files(self.kb_dir, self.base)
        self.theirs: frozenset = frozenset()
        peer = None
        if jobs > 1 and len(to_load) >= SPLIT_MIN and workers.CAN_FORK:
            self.theirs = frozenset(to_load[1::2])
            peer = workers.Peer(lambda channel: self._helper(channel, digests))
            to_load = to_load[::2]
        try:
            for rel in to_load:
                self.load_unit(rel)
            self.timings["load"] = time.perf_counter() - t

            t = time.perf_counter()
            mine = {rel: defines(self.records[rel]) for rel in to_load}
            if peer is not None:
                w = time.perf_counter()
                theirs, broken, problems = peer.receive()
                self.timings["load (waited)"] = time.perf_counter() - w
                peer.send((mine, self.broken))
                self.broken |= broken
                self.problems += problems
                mine.update(theirs)
            self._index(mine)
            for rel in incremental_maps.to_compile_again(self, self.index):  # an entry looked up changed
                self.load_unit(rel)
            own = [rel for rel, _, _ in self.files if rel in self.records]
            outputs = self._compile(own)
            new_units = {rel: self._unit(rel, out, self._defines(rel, mine), digests[rel]) for rel, out in outputs.items()}
            their_units = {}
            if peer is not None:
                w = time.perf_counter()
                self.problems += peer.receive()
                self.timings["compile (waited)"] = time.perf_counter() - w
                their_units = {rel: cache.new_unit(rel, u) for rel, u in peer.receive().items()}
        finally:
            if peer is not None:
                peer.close()
        new_units.update(their_units)
        self.compiled = [rel for rel, _, _ in self.files if rel in new_units]
        if self.problems:
            raise BuildError(self.problems)
        self.timings["compile"] = time.perf_counter() - t

        t = time.perf_counter()
        touched: set = set()
        for rel in self.removed:
            touched.update(self.old.units[rel]["subjects"])
        for rel in self.compiled:
            if rel in self.old.units:
                touched.update(self.old.units[rel]["subjects"])
            touched.update(new_units[rel]["contrib"])
        self.units = {rel: new_units[rel] if rel in new_units else self.old.units[rel] for rel, _, _ in self.files}
        if not self.old.complete:  # the cache's rendered texts were thrown away: render everything
            for unit in self.units.values():
                touched.update(unit["subjects"])
        self.changed_files = set(self.compiled) | self.removed
        self.owners = incremental_maps.owners(self, self.changed_files, new_units)
        self.touched = touched
        self.timings["units"] = time.perf_counter() - t

    def _index(self, loaded: dict) -> None:
        """The id index of every file (`loaded`: rel -> defines() of the files loaded in this
        build; the others' come from the cache: its map of ids, else every file's entry), and
        the duplicate-id problems (incremental_maps.index)."""
        if self.old.delta:
            changed = set(loaded) | self.removed
        else:
            loaded = {rel: self._defines(rel, loaded) for rel, _, _ in self.files}
            changed = set(loaded)
        self.index, dup_problems = incremental_maps.index(self, loaded, changed)
        self.problems += dup_problems

    def _defines(self, rel: str, loaded: dict) -> list:
        """A file's defines(): loaded in this build, else from its entry in the cache."""
        found = loaded.get(rel)
        if found is None:
            disp = self.display(rel)
            found = [(rid, entry, SourceLocation(disp, line, col)) for rid, entry, line, col in self.old.units[rel]["defines"]]
        return found

    def _source_of(self, sid: str):
        """The Source record of an id (loading its file if need be), for quotes and dates."""
        rel = self.index.owner(sid)
        if rel is None:
            return None
        # the other process reports the problems of its files; here they would be twice
        records = self.load_unit(rel, [] if rel in self.theirs else None)
        return next((r for r in records if isinstance(r, m.Source) and r.id == sid), None)

    def _compile(self, rels: list) -> dict:
        outputs = {}
        for rel in rels:
            from .compile import compile_unit  # (a build where nothing changed compiles nothing)

            out = compile_unit(self.records[rel], self.index, self._source_of, self.vocabularies,
                               frozenset(self.broken))
            self.problems += out.problems
            outputs[rel] = out
        return outputs

    def _helper(self, peer, digests: dict) -> None:
        """The second process of `run()`: loads and compiles the files in `self.theirs`, and
        sends back their ids, then their units (what the cache keeps of a file)."""
        self.problems = []
        theirs = [rel for rel, _, _ in self.files if rel in self.theirs]
        for rel in theirs:
            self.load_unit(rel)
        loaded = {rel: defines(self.records[rel]) for rel in theirs}
        peer.send((loaded, self.broken, self.problems))
        mine, broken = peer.receive()
        self.broken |= broken
        everything = {**loaded, **mine}
        self._index(everything)
        self.theirs = frozenset(mine)  # now the parent's files are the other process's
        self.problems = []
        outputs = self._compile(theirs)
        peer.send(self.problems)
        peer.send({rel: dict(self._unit(rel, outputs[rel], self._defines(rel, everything), digests[rel]))
                   for rel in theirs}, plain=True)

    def render(self) -> None:
        """Renders the subjects the compiled (or removed) files touch."""
        t = time.perf_counter()
        self.changed = self._render(self.touched)
        self.timings["render"] = time.perf_counter() - t

    def _unit(self, rel: str, out, unit_defines, yaml_digest: str) -> dict:
        text_file, text_digest = "", ""
        for r in self.records[rel]:
            if isinstance(r, m.Source):
                text_file, text_digest = r.text_file, cache.digest(r.text.encode("utf-8"))
        return cache.new_unit(rel, {
            "yaml": yaml_digest, "stat": self._settled(self.stats.get(rel)), "text": text_file,
            "text_digest": text_digest,
            "text_stat": self._text_stat(rel, text_file, text_digest),
            "defines": tuple((rid, entry, loc.line, loc.column) for rid, entry, loc in unit_defines),
            "sources": tuple(rid for rid, entry, _ in unit_defines if entry[0] == "source"),
            "lookups": out.lookups, "subjects": frozenset(out.contrib), "chunk": "", "rchunk": "", "entry": "",
            "contrib": out.contrib,  # in the plain form already (compile.py)
            "locations": {s: (loc.line, loc.column) for s, loc in out.locations.items()},
            "rendered": {}, "trig": {},
        })

    def _text_stat(self, rel: str, text_file: str, text_digest: str):
        """The stat of a compiled file's text, taken and then checked by reading the text again
        (its bytes must be those compiled); None (the next build hashes it) otherwise."""
        if not text_file or not self.use_stat:  # no cache to record it in
            return None
        path = os.path.join(os.path.dirname(self.paths[rel][0]), text_file)
        st = _stat(path)
        try:
            raw = read_regular(path, self.kb_dir, MAX_TEXT_BYTES)
        except (OSError, FileRefused):
            return None
        return self._settled(st) if _text_digest(raw) == text_digest else None

    def _settled(self, st: tuple | None) -> tuple | None:
        """A stat the next build may trust, or None (it hashes the file): not one whose mtime is
        within RACY_NS of this build's start, since an edit in the same tick of the file system's
        clock, after this build read the file, could keep the size and the mtime (and so pass
        for no edit: the "racy" case git's index has)."""
        return st if st is not None and st[1] < self.started_ns - RACY_NS else None

    def _restat(self, rel: str) -> None:
        unit = self.old.units[rel]
        stat, text_stat = self._settled(self.stats.get(rel)), self._settled(self.text_stats.get(rel))
        if unit["stat"] != stat or (unit["text"] and unit["text_stat"] != text_stat):
            dict.update(unit, stat=stat, text_stat=text_stat if unit["text"] else None)
            self.restated.add(rel)

    # -- subjects ------------------------------------------------------------------------
    def graphs_of(self, s: str) -> dict:
        """graph -> set of (p, o) of a subject, over every file."""
        out: dict = defaultdict(set)
        self.read_subjects.add(s)
        for rel in self.owners.get(s, ()):
            for g, pairs in self._contrib_of(rel, s).items():
                out[g].update(pairs)
        return out

    def _contrib_of(self, rel: str, s: str) -> dict:
        """graph -> pairs of a subject in one file: from the file's chunk if read (or compiled
        in this build), else from what the last validation read of it, if that is of the same
        chunk (cache.State.read_cached), else from its chunk, read now. Remembered in
        `read_log`, which the next state records."""
        unit = self.units[rel]
        found = None
        if not dict.__contains__(unit, "contrib"):
            found = self.old.read_cached(rel, unit.get("chunk", ""), s)
        if found is None:
            found = unit["contrib"][s]
        log = self.read_log.get(rel)
        if log is None:
            log = self.read_log[rel] = {}
        log[s] = found
        return found

    def _render(self, touched: set) -> set:
        """Renders the touched subjects again; returns those whose triples changed (and
        remembers what those that were there before link to, before and after, in `self.links`)."""
        old_owners = incremental_maps.old_owners(self, touched)
        for s, units in old_owners.items():
            self.old_primary[s] = units[0].rel  # reads their chunks: old triples, rendered texts
            for unit in units:
                unit["contrib"]
            units[0]["rendered"]
            self.old_rows[s] = self.rendered.get(s)
        for key in [k for k in self.trig if k[1] in touched]:
            del self.trig[key]
        changed = set()
        self.links: dict = {}
        # The usual case in a clean build, on a short path: a subject new in this build, from
        # one file (so one compiled in this build) and in one graph (so no TriG block of its own).
        owners, render, groups = self.owners, self._render_preds, self.groups
        for rel in self.compiled:
            for s, graphs in self.units[rel]["contrib"].items():
                if len(graphs) == 1 and len(owners[s]) == 1 and s not in old_owners:
                    (pairs,) = graphs.values()
                    self.rendered[s] = render(s, groups.get(s) or _grouped(pairs))
                    changed.add(s)  # what it links to is looked up when needed (affected.links)
                    self.old_graph_sets[s] = ()
        for s in touched:
            if s in changed:
                continue
            old_graphs: dict = defaultdict(set)
            for unit in old_owners.get(s, ()):
                for g, pairs in unit["contrib"][s].items():
                    old_graphs[g].update(pairs)
            new_graphs = self.graphs_of(s)
            old_union = set().union(*old_graphs.values())
            new_union = set().union(*new_graphs.values())
            self.old_graph_sets[s] = tuple(old_graphs)
            if old_union != new_union:
                changed.add(s)
                old_links = {o for _, o in old_union if type(o) is str}
                new_links = {o for _, o in new_union if type(o) is str}
                self.links[s] = old_links | new_links
                self.link_delta[s] = (old_links, new_links)
                self.old_pairs[s] = old_union
            if old_graphs == new_graphs and s in self.rendered:
                self._keep_trig(s, new_graphs, new_union)
                continue
            if not new_union:
                self.rendered.pop(s, None)
                continue
            self.rendered[s] = self._render_subject(s, new_graphs, new_union)
        return changed

    def _keep_trig(self, s: str, graphs: dict, union: set) -> None:
        for g, pairs in graphs.items():
            if pairs != union:
                self.trig[(g, s)] = self._block(s, pairs)

    def _block(self, s: str, pairs) -> str:
        return export.turtle_block(s, _grouped(pairs))

    def _render_subject(self, s: str, graphs: dict, union: set) -> tuple:
        self._keep_trig(s, graphs, union)
        return self._render_preds(s, self.groups.get(s) or _grouped(union))

    def _render_preds(self, s: str, preds: dict) -> tuple:
        """(N-Triples, Turtle block, JSON-LD node, number of triples, predicates, classes)."""
        in_order = export.ordered(preds)  # rdf:type first, objects sorted (IRIs as strs)
        lines, block, n = export.subject_texts(s, in_order)
        types = tuple(in_order[0][1]) if in_order and in_order[0][0] == RDF_TYPE else ()
        return lines, block, self.jsonld.node_text(s, preds, in_order), n, tuple(sorted(preds)), types

    # -- validation ----------------------------------------------------------------------
    def location(self, s: str) -> SourceLocation:
        for rel in self.owners.get(s, ()):
            found = self.units[rel]["locations"].get(s)
            if found:
                return SourceLocation(self.display(rel), *found)
        return SourceLocation("<kb>")

    def grouped(self) -> dict:
        """Every subject's triples in the grouped form (export.by_subject), over all files and
        graphs: what the full validation reads; the render then takes each subject's group
        from here instead of grouping it again."""
        out: dict = {}
        owners = self.owners
        for unit in self.units.values():
            for s, graphs in unit["contrib"].items():
                if len(graphs) == 1 and len(owners[s]) == 1:
                    (pairs,) = graphs.values()
                    out[s] = _grouped(pairs)
                elif s not in out:
                    out[s] = _grouped(set().union(*self.graphs_of(s).values()))
        self.groups = out
        return out

    # -- exports (assembled whole: rebuild.py) ---------------------------------------------
    def load_everything(self) -> None:
        """Reads every chunk of the cache this build has not read (raises cache.Damaged)."""
        for unit in self.units.values():
            unit["contrib"]
            unit["rendered"]

    def source_ids(self) -> list[str]:
        return sorted(rid for unit in self.units.values() for rid in unit["sources"])



def _text_digest(raw: bytes) -> str:
    """The digest of an archived text as compiled: its line breaks made "\n" (loader.decode)."""
    return cache.digest(raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n") if b"\r" in raw else raw)


def _stat(path) -> tuple | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns, st.st_ino
