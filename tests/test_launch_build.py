"""launch.py's click-free `diplokb build` (buildcmd.py, issue 18): for every command line, the
console script prints what the click CLI prints (stdout, stderr, exit code, byte for byte but
for the time taken) and leaves the same files (the exports, the SARIF file, the build cache),
and what the click-free path does not read goes to click unchanged."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from diplokb import buildcmd, launch
from test_launch import RUN  # both paths as a user runs them (see there)

ROOT = Path(__file__).resolve().parents[1]
OLD = 1_000_000_000  # the KB files' mtime: long settled (a stat near the build's start is not recorded)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A copy of what a build reads, a broken KB beside it, a file and a folder."""
    root = tmp_path_factory.mktemp("launch-build-matrix")
    for part in ("ontology", "shapes", "kb"):
        shutil.copytree(ROOT / part, root / part)
    shutil.copytree(root / "kb", root / "broken")
    (root / "broken" / "entities" / "zz-broken.yaml").write_text("- id: [unclosed\n")
    (root / "a-file").write_text("not a folder\n")
    (root / "a-folder").mkdir()
    for path in root.rglob("*"):
        os.utime(path, (OLD, OLD))
    return root


def _files(root: Path) -> dict:
    """Every file a build may write, by path, with its bytes; of the build cache, its folders and
    how many files each holds (its index records the stat of the exports written, whose inode
    differs from one run to the next: test_the_same_build_runs checks that both paths run the
    same build)."""
    found = {}
    for part in ("exports", "out", "report.sarif"):
        base = root / part
        paths = [base] if base.is_file() else sorted(p for p in base.rglob("*") if p.is_file())
        found.update((str(p.relative_to(root)), p.read_bytes()) for p in paths)
    if (root / ".diplokb-cache").is_dir():
        found.update((str(d.relative_to(root)), len(list(d.iterdir()))) for d in (root / ".diplokb-cache").iterdir())
    return found


def _run(module: str, args: list[str], root: Path, env: dict | None = None) -> tuple:
    report = root.parent / f"report-{root.name}"
    report.unlink(missing_ok=True)
    proc = subprocess.run([sys.executable, "-c", RUN.format(module=module), *args], cwd=root, capture_output=True,
                          timeout=300, env=dict(os.environ, LAUNCH_REPORT=str(report), COLUMNS="80", **(env or {})))
    stdout = re.sub(rb" in \d+\.\d\ds -> ", b" in -> ", proc.stdout)  # the time taken
    return (proc.returncode, stdout, proc.stderr, _files(root)), report.read_text()


def _saved(root: Path, keep: Path) -> None:
    shutil.rmtree(keep, ignore_errors=True)
    keep.mkdir()
    for part in ("exports", "out", ".diplokb-cache", "report.sarif"):
        if (root / part).exists():
            (shutil.copytree if (root / part).is_dir() else shutil.copy2)(root / part, keep / part)


def _restored(root: Path, keep: Path) -> None:
    for part in ("exports", "out", ".diplokb-cache", "report.sarif"):
        target = root / part
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
        if (keep / part).exists():
            (shutil.copytree if (keep / part).is_dir() else shutil.copy2)(keep / part, target)


def both(args: list[str], root: Path, env: dict | None = None) -> tuple:
    """Runs the console script, then (from the same files) the click CLI; checks that they give
    the same exit code, stdout, stderr and files; returns (exit code, stdout, stderr, path)."""
    keep = root.parent / f"keep-{root.name}"
    _saved(root, keep)
    fast, path = _run("launch", args, root, env)
    _restored(root, keep)
    slow, slow_path = _run("cli", args, root, env)
    assert slow_path == "click"
    assert fast[:3] == slow[:3], args
    assert fast[3].keys() == slow[3].keys(), args
    differ = [name for name in fast[3] if fast[3][name] != slow[3][name]]
    assert not differ, (args, differ)
    return (*fast[:3], path)


def twins(args: list[str], fast_root: Path, click_root: Path) -> tuple:
    """Runs the console script in `fast_root` and the click CLI in `click_root`, two copies of
    one project that have gone through the same steps (a copy made per run would give the
    exports new inodes and ctimes, which the next build rightly does not trust as its own);
    checks that they give the same exit code, stdout, stderr and files (paths written as
    <root>); returns (exit code, stdout, stderr, path)."""
    fast, path = _run("launch", args, fast_root)
    slow, slow_path = _run("cli", args, click_root)
    assert slow_path == "click"

    def rooted(run, root):
        return [x.replace(os.fsencode(root), b"<root>") for x in run[1:3]]

    assert fast[0] == slow[0] and rooted(fast, fast_root) == rooted(slow, click_root), args
    def split(found):  # a state folder is named by its KB's path: the trees' differ
        cache = sorted(v for k, v in found.items() if k.startswith(".diplokb-cache/"))
        return {k: v for k, v in found.items() if not k.startswith(".diplokb-cache/")}, cache

    (fast_files, fast_cache), (slow_files, slow_cache) = split(fast[3]), split(slow[3])
    assert fast_files.keys() == slow_files.keys(), args
    differ = [name for name in fast_files if fast_files[name] != slow_files[name]]
    assert not differ, (args, differ)
    assert fast_cache == slow_cache, args
    return (*fast[:3], path)


def _edit_title(root: Path) -> None:
    source = sorted((root / "kb" / "sources").glob("*.yaml"))[0]
    text = source.read_text(encoding="utf-8")
    title = re.search(r"^  title: .*$", text, re.M)
    source.write_text(text[:title.end()] + " (edited)" + text[title.end():], encoding="utf-8")
    os.utime(source, (OLD + 10, OLD + 10))


def test_a_build_session_prints_and_writes_what_click_does(project):
    """A clean build, a first cached build, nothing changed, a one-title edit, --check up to
    date and stale, the engines, --jobs, --kb/--out, SARIF, errors: the same on both paths."""
    steps = [
        (["build", "--no-cache", "--jobs", "1"], 0, True),
        (["build"], 0, True),
        (["build"], 0, True),  # nothing changed
        ("edit", None, None),
        (["build", "-j1"], 0, True),  # the rebuild after a one-title edit
        (["build", "--check"], 0, True),
        ("stale", None, None),
        (["build", "--check", "--jobs=2"], 1, True),
        (["build", "--jobs", "2"], 0, True),
        (["build", "--engine", "pyshacl", "--no-cache", "-j", "1"], 0, True),
        (["build", "--engine=fast", "--kb", "kb", "--out", "out", "--sarif", "report.sarif"], 0, True),
        (["build", "--kb=broken", "--out=out", "--sarif=report.sarif"], 1, True),  # YAML errors
        (["build", "--kb", "no-such-kb", "--no-cache"], 1, True),
        (["build", "--out", "a-file/below", "--no-cache", "-j1"], 1, True),  # the exports cannot be written
        (["build", "--check", "--check", "-j2", "-j1"], 0, True),  # the last of a repeated option
    ]
    trees = (project.parent / "session-fast", project.parent / "session-click")
    for tree in trees:
        shutil.rmtree(tree, ignore_errors=True)
        shutil.copytree(project, tree, symlinks=True)
    for args, code, fast in steps:
        if args == "edit":
            for tree in trees:
                _edit_title(tree)
            continue
        if args == "stale":
            for tree in trees:
                (tree / "exports" / "diplokb.nt").write_bytes(b"")
            continue
        got = twins(args, *trees)
        assert (got[0], got[3]) == (code, "fast" if fast else "click"), (args, got[2])
        assert (b"exports are stale" in got[2]) == (args == ["build", "--check", "--jobs=2"]), args


BAD = [
    ["build", "--jobs", "3"], ["build", "--jobs=0"], ["build", "-j"], ["build", "-j01"], ["build", "--jobs", " 2"],
    ["build", "--engine", "fastest"], ["build", "--engine", "FAST"], ["build", "--kb", "a-file"],
    ["build", "--out", "a-file"], ["build", "--sarif", "a-folder"], ["build", "--unknown"], ["build", "extra"],
    ["build", "--check=yes"], ["build", "--help"], ["build", "-h"], ["build", "--out"], ["build", "--kb", "--check"],
    ["build", "--"], ["build", "--kb", ""], ["build", "--no-cach"],
]


@pytest.mark.parametrize("args", BAD, ids=[" ".join(a) for a in BAD])
def test_unusual_command_lines_go_to_click(project, args):
    """Bad option values, unknown options, --help, odd spellings: click's to read and report."""
    code, out, err, path = both([*args, "--check"] if args[-1] != "--out" else args, project)
    assert path == "click", args


def test_streams_the_build_path_leaves_to_click(project):
    """An ASCII stdout (click re-wraps it), shell completion: click's path, same output."""
    for env in ({"PYTHONIOENCODING": "ascii"}, {"_DIPLOKB_COMPLETE": "bash_source"}):
        assert both(["build", "--check"], project, env)[3] == "click", env


def test_the_option_table_makes_the_click_options():
    from diplokb.cli import main

    params = {p.name: p for p in main.commands["build"].params if p.name != "help"}
    assert list(params) == [dest for _, dest, _, _ in buildcmd.BUILD_OPTIONS]
    for flags, dest, kind, settings in buildcmd.BUILD_OPTIONS:
        assert sorted(params[dest].opts + params[dest].secondary_opts) == sorted(flags)
        assert params[dest].is_flag == (kind == "flag")
    assert (params["jobs"].type.min, params["jobs"].type.max) == (min(buildcmd.JOBS), max(buildcmd.JOBS))
    assert list(params["engine"].type.choices) == list(buildcmd.ENGINE_OPTION[3]["choices"])


def test_parse_build_args(project, monkeypatch):
    monkeypatch.chdir(project)
    parse = lambda args: buildcmd.parse_build_args(args, launch.Fallback)  # noqa: E731
    assert parse([]) == {"kb": None, "out": None, "check": False, "engine": "fast", "no_cache": False, "jobs": None,
                         "sarif_file": None}
    got = parse(["--kb=kb", "--out", "new", "--check", "-j2", "--engine", "pyshacl", "--no-cache",
                 "--sarif", "x.sarif"])
    assert got == {"kb": "kb", "out": "new", "check": True, "engine": "pyshacl", "no_cache": True, "jobs": 2,
                   "sarif_file": "x.sarif"}
    for args in BAD:
        with pytest.raises(launch.Fallback):
            parse(args[1:])


def test_the_build_path_imports_no_click(project, tmp_path):
    """The point of the click-free path: a build imports neither click nor the click CLI."""
    out = tmp_path / "o"
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c",
                           "import sys; sys.argv[0] = 'diplokb'; from diplokb.launch import main; sys.exit(main())",
                           "build", "--no-cache", "-j1", "--out", str(out)], cwd=project, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if "|" in line}
    assert "diplokb.buildcmd" in imported and "diplokb.pipeline" in imported
    assert not {"click", "diplokb.cli", "diplokb.cli_curation"} & imported


GOOD = [[], ["--no-cache", "--jobs", "1"], ["--check", "-j2"], ["--engine", "pyshacl"], ["--kb=kb", "--out=out"],
        ["--sarif", "report.sarif", "--kb", "broken"], ["-j1", "-j2", "--check", "--check"], ["--out", "a-folder"]]


def test_the_same_build_runs(project, monkeypatch):
    """Both paths call buildcmd.run with the same arguments (so the same build writes the same
    cache), for every plain command line the click-free path reads."""
    import inspect

    from click.testing import CliRunner

    from diplokb import cli

    monkeypatch.chdir(project)
    calls = []
    signature = inspect.signature(buildcmd.run)
    monkeypatch.setattr(buildcmd, "run", lambda *a, **k: calls.append(signature.bind(*a, **k).arguments) or 0)
    for args in GOOD:
        result = CliRunner().invoke(cli.main, ["build", *args])
        assert result.exit_code == 0, result.output
        opts = buildcmd.parse_build_args(args, launch.Fallback)
        buildcmd.run(**opts, echo=None)
        clicks, ours = (dict(c, echo=None) for c in calls[-2:])
        assert clicks == ours, args


def _imports(args: list[str], cwd: Path) -> set:
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c",
                           "import sys; sys.argv[0] = 'diplokb'; from diplokb.launch import main; sys.exit(main())",
                           *args], cwd=cwd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if "|" in line}


def test_a_build_imports_only_what_it_runs(tmp_path):
    """A build where nothing changed imports no YAML loader, model reader or compiler; a rebuild
    after a one-file edit imports those, and neither imports click nor what only a second
    process uses (pickle)."""
    for part in ("ontology", "shapes", "kb"):
        shutil.copytree(ROOT / part, tmp_path / part)
    for path in (tmp_path / "kb").rglob("*"):
        os.utime(path, (OLD, OLD))
    never = {"click", "diplokb.cli", "diplokb.cli_curation", "pickle"}
    assert "diplokb.loader" in _imports(["build", "-j1"], tmp_path)  # the first build with the cache
    nothing_changed = _imports(["build"], tmp_path)
    assert "diplokb.incremental" in nothing_changed
    assert not (never | {"yaml", "diplokb.loader", "diplokb.reader", "diplokb.compile"}) & nothing_changed
    _edit_title(tmp_path)
    rebuild = _imports(["build"], tmp_path)
    assert {"yaml", "diplokb.loader", "diplokb.compile"} <= rebuild and not never & rebuild


def test_a_broken_pipe_ends_the_build_as_click_does(project, tmp_path):
    """stdout a pipe nobody reads: the summary's write fails (EPIPE); exit code 1 and stderr as
    click's (which makes the streams quiet); the exports are written either way."""
    results = []
    for module in ("launch", "cli"):
        read, write = os.pipe()
        os.close(read)
        report = tmp_path / f"report-{module}"
        out = tmp_path / f"out-{module}"
        proc = subprocess.run([sys.executable, "-c", RUN.format(module=module), "build", "--no-cache", "-j1",
                               "--out", str(out)], cwd=project, env={**os.environ, "LAUNCH_REPORT": str(report)},
                              stdout=write, stderr=subprocess.PIPE, timeout=300)
        os.close(write)
        results.append((proc.returncode, proc.stderr, report.read_text(), sorted(p.name for p in out.iterdir())))
    assert results[0][2] == "fast" and results[1][2] == "click"
    assert results[0][0] == 1 and results[0][:2] == results[1][:2] and results[0][3] == results[1][3]
