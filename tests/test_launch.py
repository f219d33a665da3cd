"""launch.py: the console script's click-free fast path for `diplokb --help` and `diplokb query`
(issue 18). Whatever the fast path answers must be byte for byte what the click CLI prints
(stdout, stderr, exit code), and whatever it does not handle must reach click unchanged."""
from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from diplokb import launch

ROOT = Path(__file__).resolve().parents[1]
# Both paths run as a user runs them, with the program name 'diplokb'; the file named by
# $LAUNCH_REPORT receives 'click' if the process imported the click CLI (it took that path).
RUN = ("import os, sys\n"
       "sys.argv[0] = 'diplokb'\n"
       "def report():\n"
       "    with open(os.environ['LAUNCH_REPORT'], 'w') as f:\n"
       "        f.write('click' if 'diplokb.cli' in sys.modules else 'fast')\n"
       "import atexit; atexit.register(report)\n"
       "from diplokb.{module} import main\n"
       "sys.exit(main())\n")
SRC = "SELECT ?p ?n WHERE { ?p a dkb:Person ; rdfs:label ?n } ORDER BY ?p"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A copy of the project (ontology, queries, KB, exports), the exports newer than the KB."""
    root = tmp_path_factory.mktemp("launch")
    for part in ("ontology", "queries", "kb", "exports"):
        shutil.copytree(ROOT / part, root / part)
    for path in (root / "kb").rglob("*"):
        os.utime(path, (1_000_000_000, 1_000_000_000))
    (root / "a-file").write_text("not a folder\n")
    return root


def start(module: str, args: list[str], cwd: Path, tmp_path: Path, env: dict | None = None):
    report = tmp_path / f"report-{module}"
    report.unlink(missing_ok=True)
    environ = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    environ.update(env or {}, LAUNCH_REPORT=str(report))
    proc = subprocess.Popen([sys.executable, "-c", RUN.format(module=module), *args], cwd=cwd, env=environ,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return proc, report


def finish(started):
    proc, report = started
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out, err, report.read_text() if report.exists() else None


def both(args, cwd, tmp_path, env=None):
    """(exit code, stdout, stderr, path taken) of the fast entry point, after checking that the
    click CLI gives the same exit code, stdout and stderr (the two run side by side)."""
    started = start("launch", args, cwd, tmp_path, env), start("cli", args, cwd, tmp_path, env)
    fast, slow = finish(started[0]), finish(started[1])
    assert slow[3] == "click"
    assert fast[:3] == slow[:3], args
    return fast


# (arguments, whether the fast path answers them itself)
CASES = [
    (["query", "02-who-met-whom"], True),
    (["query", "01-timeline", "--format", "csv"], True),
    (["query", "--format=json", "01-timeline"], True),
    (["query", "01-timeline", "--format", "tsv", "--format", "xml"], True),
    (["query", "03-posts-of-person", "-p", "person=hun-sen"], True),
    (["query", "03-posts-of-person", "-pperson=hun-sen", "--format", "csv"], True),
    (["query", "03-posts-of-person", "--param=person=Hun Sen"], True),
    (["query", "03-posts-of-person", "--param", "person=prak-sokhonn", "--format", "json"], True),
    (["query", SRC], True),
    (["query", SRC, "--format", "xml"], True),
    (["query", "ASK { ?s a dkb:Person }"], True),
    (["query", "ASK { ?s a dkb:Person }", "--format", "csv"], True),
    (["query", "CONSTRUCT { ?p a dkb:Person } WHERE { ?p a dkb:Person }"], True),
    (["query", "CONSTRUCT { ?p a dkb:Person } WHERE { ?p a dkb:Person }", "--format", "nt"], True),
    (["query", "DESCRIBE id:hun-sen", "--format", "jsonld"], True),
    (["query", 'SELECT ?x WHERE { BIND ("\\u001B[31mred\\u001B[0m" AS ?x) }', "--format", "csv"], True),
    (["query", "SELECT (COUNT(*) AS ?n) FROM <https://w3id.org/diplokb/id/graph/src-001> WHERE { ?s ?p ?o }"], True),
    (["query", "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", "--default-graph",
      "https://w3id.org/diplokb/id/graph/src-002"], True),
    (["query", "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g", "--named-graph",
      "https://w3id.org/diplokb/id/graph/src-001", "--named-graph=https://w3id.org/diplokb/id/graph/src-002"], True),
    (["query", "02-who-met-whom", "--out", "exports"], True),
    (["--help"], True),
    (["-h"], True),
    # errors and shapes the fast path leaves to click
    (["query", "SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }"], False),
    (["query", "INSERT { ?s a dkb:Person } WHERE { SELECT ?s WHERE { ?s a dkb:Person } }"], False),
    (["query", "SELECT * FROM <https://example.org/g> WHERE { ?s ?p ?o }"], False),
    (["query", SRC, "--default-graph", "https://example.org/g"], False),
    (["query", "SELECT ?x WHERE { ?x"], False),
    (["query", SRC, "--format", "ttl"], False),
    (["query", "01-timelin"], False),
    (["query", "no-such-query"], False),
    (["query"], False),
    (["query", "--list"], False),
    (["query", "02-who-met-whom", "--format", "bogus"], False),
    (["query", "02-who-met-whom", "--format"], False),
    (["query", "02-who-met-whom", "--format="], False),
    (["query", "02-who-met-whom", "--out", "no-such-folder"], False),
    (["query", "02-who-met-whom", "--out", "a-file"], False),
    (["query", "02-who-met-whom", "extra"], False),
    (["query", "--", "02-who-met-whom"], False),
    (["query", "02-who-met-whom", "--help"], False),
    (["query", "02-who-met-whom", "--forma", "csv"], False),
    (["query", "03-posts-of-person", "-p", "person"], False),
    (["query", "03-posts-of-person", "-p", "person=nobody-at-all"], False),
    (["query", "03-posts-of-person", "-p", "nobody=hun-sen"], False),
    (["query", "02-who-met-whom", "--endpoint", "http://127.0.0.1:9/sparql"], False),
    (["query", "-f", "queries/01-timeline.rq"], False),
    (["--version"], False),
    (["query", "--help"], False),
    (["entities", "--class", "person"], False),
]


@pytest.mark.parametrize("args,fast", CASES, ids=[" ".join(a)[:60] for a, _ in CASES])
def test_fast_path_prints_what_click_prints(site, tmp_path, args, fast):
    code, out, err, took = both(args, site, tmp_path)
    assert took == ("fast" if fast else "click"), (args, out, err)
    if fast:
        assert code == 0 and out and not err


def test_help_at_every_width(site, tmp_path):
    for columns in ("30", "50", "61", "79", "80", "200", "x"):
        code, out, err, took = both(["--help"], site, tmp_path, env={"COLUMNS": columns})
        assert took == "fast" and code == 0 and out.startswith(b"Usage: diplokb [OPTIONS] COMMAND")


def test_stale_exports_warning_is_the_same(site, tmp_path):
    stale = tmp_path / "stale"
    for part in ("ontology", "queries", "kb", "exports"):
        shutil.copytree(site / part, stale / part)
    edited = next((stale / "kb").rglob("*.yaml"))
    later = (stale / "exports" / "diplokb.trig").stat().st_mtime + 60
    os.utime(edited, (later, later))
    code, out, err, took = both(["query", "01-timeline", "--format", "csv"], stale, tmp_path)
    assert took == "fast" and code == 0 and err.startswith(b"Warning: kb/") and b"changed after" in err


def test_streams_the_fast_path_leaves_to_click(site, tmp_path):
    """An ASCII stdout (click re-wraps it), shell completion: click's path, same output."""
    for env in ({"PYTHONIOENCODING": "ascii"}, {"_DIPLOKB_COMPLETE": "bash_source"}):
        code, out, err, took = both(["query", "02-who-met-whom"], site, tmp_path, env=env)
        assert took == "click", env


def test_broken_pipe_exits_as_click_does(site, tmp_path):
    results = []
    for module in ("launch", "cli"):
        read, write = os.pipe()
        os.close(read)  # nobody reads: the first write fails with EPIPE
        report = tmp_path / f"report-{module}"
        proc = subprocess.run([sys.executable, "-c", RUN.format(module=module), "query", "02-who-met-whom"],
                              cwd=site, env={**os.environ, "LAUNCH_REPORT": str(report)}, stdout=write,
                              stderr=subprocess.PIPE, timeout=120)
        os.close(write)
        results.append((proc.returncode, proc.stderr, report.read_text()))
    assert results[0][2] == "fast" and results[0][:2] == results[1][:2] == (1, b"")


def test_fast_paths_import_neither_click_nor_rdflib(site):
    """What the fast paths cost is mostly what they import: not click, not rdflib (a query that
    names no dataset or SERVICE needs no parse to be checked), not dataclasses/inspect, pathlib,
    typing or re."""
    script = ROOT / "src" / "diplokb" / "__main__.py"
    for args in (["--help"], ["query", "02-who-met-whom"], ["query", "01-timeline", "--format", "json"]):
        proc = subprocess.run([sys.executable, "-X", "importtime", "-c",
                               "import sys; sys.argv[0] = 'diplokb'; from diplokb.launch import main; sys.exit(main())",
                               *args], cwd=site, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if "|" in line}
        assert "diplokb.launch" in imported
        for module in ("click", "rdflib", "pyparsing", "dataclasses", "inspect", "pathlib", "typing",
                       "diplokb.cli", "diplokb.pipeline", "threading"):
            assert module not in imported, (args, module)
        if "json" not in args:  # (the json module imports re)
            for module in ("re", "json", "diplokb.rdf", "collections", "functools", "diplokb.errors"):
                assert module not in imported, (args, module)
        if args[0] == "query":
            assert "pyoxigraph" in imported
    assert script.is_file()


def test_the_checks_still_run_on_the_fast_path(site, tmp_path):
    """A query naming a dataset is parsed (rdflib) before it runs, on the fast path too; SERVICE
    and updates are refused, with click's message and exit code."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c",
                           "import sys; sys.argv[0] = 'diplokb'; from diplokb.launch import main; sys.exit(main())",
                           "query", "SELECT (COUNT(*) AS ?n) FROM <https://w3id.org/diplokb/id/graph/src-001> "
                           "WHERE { ?s ?p ?o }"], cwd=site, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "rdflib.plugins.sparql.parser" in proc.stderr and "click" not in proc.stderr
    code, out, err, _ = both(["query", "SELECT * WHERE { SERVICE <http://example.org/s> { ?s ?p ?o } }"],
                             site, tmp_path)
    assert code == 1 and b"SERVICE (federated query) is not allowed" in err and not out
    code, out, err, _ = both(["query", "DELETE { ?s a dkb:Person } WHERE { SELECT ?s WHERE { ?s a dkb:Person } }"],
                             site, tmp_path)
    assert code == 1 and b"updates are not allowed" in err


# -- the parts the fast path has of its own, against what they stand for -------------------

def test_help_table_is_current():
    """_helptext.py is what click renders from this cli.py (else: python -m diplokb.launch
    --write-help), and the fingerprint check lets the fast path use it."""
    with open(launch.HELP_TABLE, encoding="utf-8") as f:
        assert f.read() == launch.render_help_table(), "run: python -m diplokb.launch --write-help"
    assert launch.help_text("diplokb", 78) == launch.click_help("diplokb", 80)
    assert launch.help_text("diplokb", 79) is None and launch.help_text("other", 60) is None


def test_the_help_table_is_not_used_once_a_module_defining_commands_changes(tmp_path, monkeypatch):
    """Every module whose commands the top-level help lists is in the fingerprint: after an edit
    of any of them, the fast path gives None (click renders the help) until --write-help."""
    from diplokb import cli

    listed = {sys.modules[c.callback.__module__].__file__ for c in cli.main.commands.values()}
    assert {os.path.basename(f) for f in listed} == set(launch.CLI_FILES)
    here = tmp_path / "diplokb"
    here.mkdir()
    for name in launch.CLI_FILES:
        (here / name).write_bytes((ROOT / "src" / "diplokb" / name).read_bytes())
    real = launch._fingerprint()
    monkeypatch.setattr(launch, "__file__", str(here / "launch.py"))
    fresh = launch._fingerprint()
    assert fresh == real  # the same bytes
    for name in launch.CLI_FILES:
        (here / name).write_bytes((here / name).read_bytes() + b"# an edit\n")
        assert launch._fingerprint() != fresh, name
        fresh = launch._fingerprint()


def test_the_option_table_makes_the_click_options():
    from diplokb.cli import main

    params = {p.name: p for p in main.commands["query"].params}
    for flags, dest, kind, settings, fast in launch.QUERY_OPTIONS:
        assert sorted(params[dest].opts + params[dest].secondary_opts) == sorted(flags)
        assert params[dest].multiple == (kind == "multiple")
    assert list(params["fmt"].type.choices) == list(launch.QUERY_FORMATS)


def test_find_root_is_project_find(tmp_path, monkeypatch):
    from diplokb import Project

    (tmp_path / "p" / "ontology").mkdir(parents=True)
    (tmp_path / "p" / "ontology" / "diplokb.ttl").write_text("")
    (tmp_path / "p" / "a" / "b").mkdir(parents=True)
    (tmp_path / "link").symlink_to(tmp_path / "p" / "a")
    for where in (ROOT, ROOT / "kb" / "sources", tmp_path / "p", tmp_path / "p" / "a" / "b", tmp_path / "link",
                  tmp_path):
        monkeypatch.chdir(where)
        assert launch.find_root() == str(Project.find().root), where


def test_export_files_are_what_project_store_loads(monkeypatch, tmp_path):
    from diplokb import Project, query

    loaded = []
    monkeypatch.setattr(query, "Store", lambda files: loaded.extend(Path(f).name for f in files))
    (tmp_path / "diplokb.trig").write_text("")
    Project.find(ROOT, out=tmp_path).store()
    assert tuple(loaded) == launch.EXPORT_FILES


def test_program_name_and_ansi_pattern_are_clicks():
    from click import _compat, utils

    assert launch._ANSI == _compat._ansi_re.pattern
    for argv0, package in (("/usr/bin/diplokb", None), ("x/diplokb/__main__.py", "diplokb"),
                           ("x/diplokb/cli.py", "diplokb"), ("diplokb", "")):
        main = type(sys)("__main__")
        main.__package__ = package
        saved = sys.argv[0], sys.modules["__main__"]
        sys.argv[0], sys.modules["__main__"] = argv0, main
        try:
            assert launch.program_name() == utils._detect_program_name(), argv0
        finally:
            sys.argv[0], sys.modules["__main__"] = saved


def test_parse_query_args():
    parse = launch.parse_query_args
    got = parse(["q", "--format=csv", "-pa=1", "-p", "b=2", "--param=c=3", "--default-graph", "g"])
    assert got["query_or_name"] == "q" and got["fmt"] == "csv" and got["params"] == ["a=1", "b=2", "c=3"]
    assert got["default_graphs"] == ["g"] and got["named_graphs"] == [] and got["out"] is None
    assert parse(["q"])["fmt"] == "table"
    for args in (["q", "--list"], ["q", "-f", "x"], ["q", "--fresh"], ["q", "--endpoint", "u"], ["q", "r"],
                 [], ["q", "-p", "-x"], ["q", "--", "r"], ["-", "q"], [""], ["q", "-h"]):
        with pytest.raises(launch.Fallback):
            parse(args)


# -- the modules made lighter for the fast path, against what they were -----------------

def test_curie_is_the_regex_it_replaced():
    from diplokb.namespaces import PREFIXES, curie

    pn_local = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_-])?")

    def old(iri):
        for prefix, ns in PREFIXES.items():
            if iri.startswith(ns) and pn_local.fullmatch(iri[len(ns):]):
                return f"{prefix}:{iri[len(ns):]}"
        return None

    rng = random.Random(7)
    alphabet = "aZ09_.-é/#:\n "
    locals_ = ["", "a", ".", "-", "_", "a.", "a-", "a.b", "-a", ".a", "é", "a\n", "hun-sen", "x_1"]
    locals_ += ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 5))) for _ in range(3000)]
    for ns in list(PREFIXES.values()) + ["http://example.org/"]:
        for local in locals_:
            assert curie(ns + local) == old(ns + local), ns + local
    from diplokb import rdf

    assert rdf.curie.__wrapped__ is curie and rdf.curie.cache_info().maxsize == 1 << 20  # cached for the exports


def test_rows_behave_as_the_named_tuples_they_replaced():
    import pickle
    from collections import namedtuple

    from diplokb.analysis import Analysis, Refusal
    from diplokb.query import NamedQuery

    for row, fields, defaults in ((Analysis("SELECT", ("g",)), ("form", "default_graphs", "named_graphs"), ((), ())),
                                  (Refusal("update", "no"), ("kind", "message"), None),
                                  (NamedQuery("n", "t", "d", "q", "p"), ("name", "title", "description", "sparql",
                                                                           "path", "params"), ((),))):
        cls = type(row)
        twin = namedtuple(cls.__name__, fields, defaults=defaults)(*row)
        assert row == twin and hash(row) == hash(twin) and repr(row) == repr(twin)
        assert [getattr(row, f) for f in fields] == list(twin) and row._asdict() == twin._asdict()
        again = pickle.loads(pickle.dumps(row))
        assert type(again) is cls and again == row
        with pytest.raises(AttributeError):
            setattr(row, fields[0], "x")
    assert isinstance(Refusal("a", "b"), Refusal) and not isinstance(Analysis("ASK"), Refusal)


def test_nesting_is_the_regex_it_replaced():
    from diplokb import analysis

    brackets = re.compile(r"[^(){}\[\]]+")

    def old(sparql):
        depth = deepest = 0
        for ch in brackets.sub("", sparql):
            if ch in "({[":
                depth += 1
                deepest = max(deepest, depth)
            elif ch in ")}]":
                depth = max(0, depth - 1)
        return deepest

    rng = random.Random(3)
    for _ in range(3000):
        text = "".join(rng.choice("({[]})ab\u00e9\u4e2d\ud800 \"#\n") for _ in range(rng.randint(0, 40)))
        assert analysis._nesting(text) == old(text), repr(text)


def test_named_query_headers_are_the_regex_they_replaced():
    from diplokb.query import _header

    header = re.compile(r"^#\s*(title|description|param)\s*:\s*(.*)$")
    lines = ["# title: A", "#title:A", "#  param :  x = y ", "# titles: no", "# title no", "#\u00a0title\u2003: z",
             "## title: x", " # title: x", "# description:", "# param:", "#param", "# Title: x", "# title:\tx\t",
             "# description : multi word text", "#\ttitle\t:\t", "# paramx: y", "# title:: x"]
    for line in lines:
        m = header.match(line)
        assert _header(line) == (m.groups() if m else None), line


def test_stale_exports_finds_what_rglob_found(tmp_path):
    from diplokb.querycheck import _kb_files

    (tmp_path / "a" / "b").mkdir(parents=True)
    for name in ("x.yaml", "a/y.txt", "a/b/z.yaml", ".yaml", "a/.hidden.yaml", "a/b/w.yml", "a/b/v.yaml.bak",
                 "a/t.", "a/b/u.txt"):
        (tmp_path / name).write_text("")
    (tmp_path / "d.yaml").mkdir()
    (tmp_path / "a" / "loop").symlink_to(tmp_path / "a")
    expected = sorted(str(p) for p in tmp_path.rglob("*") if p.suffix in (".yaml", ".txt"))
    assert sorted(_kb_files(str(tmp_path))) == expected


def test_exit_now_skips_finalization_only_when_nothing_else_is_to_run(monkeypatch):
    """After a fast answer the process ends at once (os._exit) if no atexit handler and no
    other thread is waiting; the matrix above has an atexit handler, whose report proves the
    usual exit then."""
    import atexit
    import io

    exits = []

    class Exited(Exception):
        pass

    def fake_exit(code):
        exits.append(code)
        raise Exited

    monkeypatch.setattr(os, "_exit", fake_exit)
    monkeypatch.setattr(launch, "program_name", lambda: "diplokb")
    monkeypatch.setattr(sys, "argv", ["diplokb", "--help"])
    monkeypatch.setenv("COLUMNS", "80")
    buffer = io.BytesIO()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(buffer, encoding="utf-8"))
    monkeypatch.setattr(sys, "stderr", io.TextIOWrapper(io.BytesIO(), encoding="utf-8"))
    import threading

    monkeypatch.setattr(atexit, "_ncallbacks", lambda: 0)
    monkeypatch.setattr(threading, "active_count", lambda: 1)  # (other tests may leave threads)
    with pytest.raises(Exited):
        launch.main()
    assert exits == [0] and buffer.getvalue().decode() == launch.click_help("diplokb", 80)
    monkeypatch.setattr(threading, "active_count", lambda: 2)
    assert launch.main() == 0 and exits == [0]  # another thread: the usual exit
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    monkeypatch.setattr(atexit, "_ncallbacks", lambda: 1)
    assert launch.main() == 0 and exits == [0]  # an atexit handler: the usual exit


def test_plain_processes_exit_alike(site, tmp_path):
    """Without an atexit handler (the fast path then ends with os._exit): same bytes and code."""
    line = "import sys; sys.argv[0] = 'diplokb'; from diplokb.{} import main; sys.exit(main())"
    for args in (["query", "02-who-met-whom"], ["query", "01-timeline", "--format", "csv"], ["--help"],
                 ["query", "no-such-query"]):
        got = [subprocess.run([sys.executable, "-c", line.format(module), *args], cwd=site, capture_output=True,
                              timeout=120) for module in ("launch", "cli")]
        assert (got[0].returncode, got[0].stdout, got[0].stderr) == (got[1].returncode, got[1].stdout, got[1].stderr)


# A build process whose module teardown, if it happens, appends 'finalized' to $LAUNCH_REPORT
# (after the atexit handler wrote the path taken).
BUILD_RUN = RUN.replace("def report():\n",
                        "class Teardown:\n"
                        "    def __del__(self, open=open, environ=os.environ):\n"
                        "        with open(environ['LAUNCH_REPORT'], 'a') as f:\n"
                        "            f.write(' finalized')\n"
                        "mark = Teardown()\n"
                        "def report():\n")


@pytest.fixture(scope="module")
def buildable(tmp_path_factory):
    """A copy of what a build reads (ontology, shapes, KB)."""
    root = tmp_path_factory.mktemp("launch-build")
    for part in ("ontology", "shapes", "kb"):
        shutil.copytree(ROOT / part, root / part)
    return root


def test_a_build_ends_as_before_without_the_finalization(buildable, tmp_path):
    """`diplokb build` ends with os._exit once click is done (issue 18): same exit code, stdout,
    stderr and exports as the click CLI's usual exit, the atexit handlers run first; a
    failing build too."""
    broken = tmp_path / "broken-kb"
    shutil.copytree(buildable / "kb", broken)
    (broken / "entities" / "zz-broken.yaml").write_text("- id: [unclosed\n")
    cases = [(["build", "--no-cache", "--jobs", "1"], 0), (["build", "--no-cache"], 0),
             (["build", "--no-cache", "--kb", str(broken)], 1)]
    for args, code in cases:
        got = {}
        for module in ("launch", "cli"):
            out = tmp_path / f"exports-{module}-{len(got)}-{args[-1]}"
            report = tmp_path / f"report-{module}"
            report.unlink(missing_ok=True)
            proc = subprocess.run([sys.executable, "-c", BUILD_RUN.format(module=module), *args, "--out", str(out)],
                                  cwd=buildable, capture_output=True, timeout=300,
                                  env=dict(os.environ, LAUNCH_REPORT=str(report)))
            stdout = re.sub(rb" in \d+\.\d\ds -> \S+", b"", proc.stdout)  # the time taken and the folder
            files = {p.name: p.read_bytes() for p in out.iterdir()} if out.is_dir() else {}
            got[module] = (proc.returncode, stdout, proc.stderr, files), report.read_text()
        assert got["launch"][0] == got["cli"][0], args
        assert got["launch"][0][0] == code and (bool(got["launch"][0][3]) == (code == 0)), args
        # the handler ran, no teardown (the build ran on the click-free path: test_launch_build.py)
        assert got["cli"][1] == "click finalized" and got["launch"][1] == "fast", args


def test_a_build_called_in_a_process_that_goes_on_returns(buildable, tmp_path, monkeypatch):
    """`main` called by anything but the program's __main__ (here a test) never ends the process."""
    def no_exit(code):
        raise AssertionError("os._exit called")

    monkeypatch.setattr(os, "_exit", no_exit)
    monkeypatch.chdir(buildable)
    monkeypatch.setattr(sys, "argv", ["diplokb", "build", "--no-cache", "--jobs", "1", "--out", str(tmp_path / "o")])
    streams = [open(tmp_path / name, "w", encoding="utf-8") for name in ("stdout", "stderr")]
    monkeypatch.setattr(sys, "stdout", streams[0])  # real text files: the click-free path takes them
    monkeypatch.setattr(sys, "stderr", streams[1])
    assert launch.main() == 0 and (tmp_path / "o" / "diplokb.ttl").is_file()
    assert "built " in (tmp_path / "stdout").read_text()  # flushed as click.echo flushes
    monkeypatch.setattr(sys, "argv", [*sys.argv, "--check", "-j01"])  # '01': click's to read
    with pytest.raises(SystemExit) as exc:
        launch.main()
    assert exc.value.code == 0 and "are up to date" in (tmp_path / "stdout").read_text()
    for stream in streams:
        stream.close()
