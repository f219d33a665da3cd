"""`diplokb build`: its options and its body, shared by the click command (cli.py) and the
console script's click-free path (launch.py), so that there is one copy of its messages.

`BUILD_OPTIONS` is the table both make the options from: cli.py turns each row into a click
option; `parse_build_args` reads the plain shapes of a command line from it (`--opt VALUE`,
`--opt=VALUE`, `-jN`) and raises `launch.Fallback` for anything else (an unknown option,
`--help`, a value click would refuse or report), so that click handles it as it always has.

`run` is the command itself: it writes through `echo(text, err=False)` (click.echo, or
launch's copy of what click.echo writes), returns the exit code, and raises `Failed` for what
click reports as a `ClickException` ("Error: MESSAGE" on stderr, exit code 1). This module
imports nothing at start-up: the pipeline is imported by `run`.
"""
from __future__ import annotations

import os
import sys
import time

from .launch import (OUT_OPTION, Fallback, alone, check_streams, echo as write, flushed, piped, program_name,
                     split_option)

# (flags, dest, kind, settings), in the order click lists them. kind: "dir"
# (click.Path(file_okay=False)), "flag", "choice" (settings["choices"]), "jobs"
# (click.IntRange over JOBS), "path" (click.Path(dir_okay=False)).
KB_OPTION = (("--kb",), "kb", "dir", {"help": "KB folder (default: ./kb)."})
ENGINE_OPTION = (("--engine",), "engine", "choice",
                 {"choices": ("fast", "pyshacl"), "default": "fast", "show_default": True,
                  "help": "SHACL engine: diplokb's fast one, or pySHACL (the reference)."})
JOBS = (1, 2)  # what --jobs accepts
BUILD_OPTIONS = (
    KB_OPTION,
    OUT_OPTION[:4],
    (("--check",), "check", "flag", {"help": "Write nothing; fail if the exports differ from a fresh build."}),
    ENGINE_OPTION,
    (("--no-cache",), "no_cache", "flag",
     {"help": "A clean build: ignore and do not update the build cache (.diplokb-cache/)."}),
    (("--jobs", "-j"), "jobs", "jobs",
     {"default": None, "help": "Processes to use: 2 validates while the exports are written (default where "
                               "two cores are free), 1 does everything in this process. Same results either way."}),
    (("--sarif",), "sarif_file", "path",
     {"metavar": "FILE", "help": "Also write every problem and warning as SARIF 2.1.0 to FILE (for code scanning)."}),
)


class Failed(Exception):
    """What click reports as a ClickException: 'Error: MESSAGE' on stderr, exit code 1."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def run(kb, out, check, engine, no_cache, jobs, sarif_file, *, echo) -> int:
    """`diplokb build`: builds, validates and exports the KB (`Project.build`), writes the
    SARIF file if asked, and prints the warnings and the summary (or, with `check`, whether
    the exports are up to date). Returns the exit code; raises Failed."""
    from .errors import BuildError, DiplokbError
    from .pipeline import Project

    try:
        project = Project.find(kb=kb, out=out, cache=not no_cache)
    except DiplokbError as exc:
        raise Failed(str(exc)) from None
    t0 = time.perf_counter()
    try:
        result = project.build(check=check, engine=engine, jobs=jobs)
    except BuildError as exc:
        write_sarif(sarif_file, project, problems=exc.problems)
        return report_failure(exc, echo)
    except DiplokbError as exc:  # e.g. the exports could not be written (they were left as they were)
        raise Failed(str(exc)) from None
    write_sarif(sarif_file, project, results=result.report.results)
    for w in (*result.notices, *result.report.warnings):
        echo(w.render(), err=True)
    if check:
        if result.stale:
            echo(f"Error: exports are stale: {', '.join(result.stale)} "
                 f"differ from a fresh build. Run 'diplokb build'.", err=True)
            return 1
        echo(f"exports in {project.out} are up to date")
        return 0
    s = result.summary()
    echo(f"built {s['triples']} triples from {s['sources']} sources in "
         f"{time.perf_counter() - t0:.2f}s -> {project.out}")
    echo("  " + ", ".join(f"{n} {k}" for k, n in s.items() if k not in ("triples", "sources")))
    return 0


def report_failure(exc, echo) -> int:
    """Prints a BuildError's problems and that nothing was written; the exit code (1)."""
    echo(exc.render(), err=True)
    echo(f"Error: {len(exc.problems)} problem(s); nothing was written.", err=True)
    return 1


def write_sarif(path, project, problems=(), results=()) -> None:
    if path:
        from . import sarif

        with open(path, "w", encoding="utf-8") as f:
            f.write(sarif.dumps(sarif.log(problems=problems, results=results, root=project.root,
                                          version=sarif.package_version())))


def parse_build_args(args: list[str], fallback: type[Exception]) -> dict:
    """`diplokb build`'s options as click reads them, for the plain shapes only (each option
    `--opt VALUE`, `--opt=VALUE`, `-jVALUE` or `-j VALUE`, a flag alone; the last of a
    repeated option wins, as in click). Raises `fallback` for anything else: an argument that
    is not an option, `--`, an unknown option (`--help` too), a flag given a value, an empty
    value or one that looks like an option, a value click would refuse (a --jobs other than
    1 or 2 as written, an --engine not in its choices, a --kb/--out that is a file or not
    readable, a --sarif that is a folder or not readable)."""
    by_flag = {}
    values: dict = {}
    for flags, dest, kind, settings in BUILD_OPTIONS:
        values[dest] = False if kind == "flag" else settings.get("default")
        by_flag.update((f, (dest, kind, settings)) for f in flags)
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if not arg.startswith("-") or arg == "--":
            raise fallback
        flag, value = split_option(arg)
        if flag not in by_flag:
            raise fallback
        dest, kind, settings = by_flag[flag]
        if kind == "flag":
            if value is not None:
                raise fallback
            values[dest] = True
            continue
        if value is None:
            if i >= len(args):
                raise fallback
            value = args[i]
            i += 1
        if not value or value.startswith("-"):
            raise fallback
        if kind == "choice" and value not in settings["choices"]:
            raise fallback
        if kind == "jobs":
            if value not in {str(n) for n in JOBS}:
                raise fallback
            value = int(value)
        if kind in ("dir", "path") and os.path.lexists(value):
            is_dir = os.path.isdir(value)
            if (is_dir if kind == "path" else not is_dir) or not os.access(value, os.R_OK):
                raise fallback  # click.Path's checks: click reports it
        values[dest] = value
    return values


def fast_build(args: list[str]) -> int:
    """`diplokb build` without click (the console script's path, launch.main): once the command
    line is read (raises launch.Fallback for anything unusual: click handles it), the build
    runs here and reports everything itself, writing as click.echo writes."""
    check_streams(program_name())
    opts = parse_build_args(args, Fallback)

    def echo(text: str, err: bool = False) -> None:
        write(sys.stderr if err else sys.stdout, text + "\n")

    try:
        return piped(lambda: run(**opts, echo=echo))
    except Failed as exc:  # as click shows a ClickException
        return piped(lambda: echo(f"Error: {exc.message}", err=True) or 1)


def end_build(exc: SystemExit) -> None:
    """Ends a `diplokb build` process with the command's exit code once it is done (on either
    path: `exc` is click's SystemExit, or one made of fast_build's code), without the
    interpreter's finalization: freeing a build's heap (hundreds of MiB at 100k triples) costs
    ~0.1 s that the user waits for and nothing else needs (docs/build-speed.md). Only for
    `main` called by the program's `__main__` (the console script, `python -m diplokb`), never
    in a process that goes on (a test calling `main`). What the usual exit does first is done
    here in the same order: other threads (none expected) would be waited for, so with one
    the usual exit is taken; the atexit handlers run (e.g. multiprocessing's, coverage's);
    stdout and stderr are flushed. A code that is not an int, or a stream that cannot be
    flushed, returns for the usual exit, which reports it as it always has."""
    code = 0 if exc.code is None else exc.code
    if type(code) is not int or not (alone() and flushed()):
        return
    import atexit

    atexit._run_exitfuncs()  # they are removed once run, so the usual exit cannot run them again
    if flushed():
        os._exit(code)
