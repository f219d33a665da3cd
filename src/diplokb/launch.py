"""The `diplokb` console script's entry point, with a click-free fast path (issue 18).

`diplokb --help` and `diplokb query NAME` are whole processes a user waits for, and importing
click costs more than the rest of `diplokb query` together (docs/cli-startup.md). So `main`
first looks at the command line: the few plain shapes it can handle exactly are answered here
without importing click (nor rdflib, dataclasses, pathlib, typing, re or collections, for a
table); everything else, and every case that would print an error, goes to the click CLI
(`diplokb.cli`), which then does the whole command itself, so that its messages and exit
codes stay click's.

- `diplokb --help` / `-h`: the text click prints, rendered ahead of time for every width
  click can choose (`_helptext.py`, written by `python -m diplokb.launch --write-help`) and
  used only while the CLI modules and click are the ones it was rendered from (a checksum of
  cli.py and cli_curation.py, and click's version); otherwise click renders it.
- `diplokb query NAME_OR_SPARQL` with `--format`, `-p/--param`, `--out`, `--default-graph`,
  `--named-graph`: parsed from `QUERY_OPTIONS`, the same table cli.py makes the click options
  from. The answer is worked out by `local_answer`, which the click command calls too; only if
  it succeeds is anything printed. Any exception (an unknown query, a refused or malformed
  query, a wrong parameter, no exports) sends the command line to click, which does it all
  again and reports the error as it always has.

- `diplokb build` with its options in the plain shapes: read and run by buildcmd.py (the
  body the click command runs too); anything unusual goes to click. Either way the cyclic
  garbage collector is off (the process ends with the build) and the process ends with
  `os._exit` once the atexit handlers have run (`buildcmd.end_build`): freeing the build's
  heap is ~0.1 s at 100k.

The output is written as `click.echo` writes it (escape sequences stripped unless the stream
is a terminal); tests/test_launch.py runs both paths over a matrix of arguments and compares
stdout, stderr and the exit code byte for byte.
"""
from __future__ import annotations

import os
import sys

# The `query` command's options, in the order click lists them: (flags, dest, kind, settings,
# fast). kind: "value", "multiple" (repeatable), "flag", "choice" (settings["choices"]),
# "dir" (click.Path(file_okay=False)) or "file" (click.File("r")). `fast`: the fast path
# accepts the option (the others always go to click).
QUERY_FORMATS = ("table", "csv", "tsv", "json", "xml", "ttl", "nt", "jsonld")
OUT_OPTION = (("--out",), "out", "dir", {"help": "Exports folder (default: ./exports)."}, True)
QUERY_OPTIONS = (
    (("-f", "--file"), "file", "file", {"help": "Read the query from a file."}, False),
    (("--list",), "list_", "flag", {"help": "List the named queries."}, False),
    (("--format",), "fmt", "choice", {"choices": QUERY_FORMATS, "default": "table", "show_default": True}, True),
    (("-p", "--param"), "params", "multiple",
     {"metavar": "NAME=VALUE", "help": "Set a parameter of a named query, e.g. -p person=hun-sen."}, True),
    OUT_OPTION,
    (("--fresh",), "fresh", "flag", {"help": "Build the KB in memory instead of reading exports/."}, False),
    (("--endpoint",), "endpoint", "value", {"metavar": "URL", "help": "Run the query on this SPARQL endpoint instead."},
     False),
    (("--default-graph",), "default_graphs", "multiple",
     {"metavar": "IRI", "help": "A graph of the default graph (like the protocol's default-graph-uri; replaces FROM)."},
     True),
    (("--named-graph",), "named_graphs", "multiple",
     {"metavar": "IRI", "help": "A named graph (like the protocol's named-graph-uri; replaces FROM NAMED)."}, True),
)
QUERY_KEYWORDS = ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")  # text with one of these is SPARQL, not a name
# What `diplokb query` loads (as Project.store does): the KB's graphs, then the ontology
EXPORT_FILES = ("diplokb.trig", "ontology.ttl", "vocabularies.ttl")
ONTOLOGY_FILE = os.path.join("ontology", "diplokb.ttl")  # what marks a project's root folder
_ANSI = r"\033\[[0-?]*[ -/]*[@-~]"  # click._compat._ansi_re: what click.echo strips off a non-terminal


class Fallback(Exception):
    """The fast path does not handle this command line: click does."""


def main():
    """The console script: fast paths for `--help`, `query` and `build`, else the click CLI."""
    argv = sys.argv[1:]
    if argv and (argv[0] == "query" or argv in (["--help"], ["-h"])):
        try:
            code = _fast(argv)
        except Fallback:
            pass
        except KeyboardInterrupt:
            return _aborted()
        else:
            exit_now(code)
            return code
    ending = argv[:1] == ["build"] and sys._getframe(1).f_globals.get("__name__") == "__main__"
    if ending:
        import gc

        # The process ends with the build: the cyclic collector has nothing to find in the
        # imports or the build, and with it off Project.build leaves it off (no _promote_all).
        gc.disable()
    if argv[:1] == ["build"]:  # click-free too, for the plain shapes (buildcmd.py)
        from .buildcmd import end_build, fast_build

        try:
            code = fast_build(argv[1:])
        except Fallback:
            code = None
        except KeyboardInterrupt:
            code = _aborted()
        if code is not None:
            if ending:
                end_build(SystemExit(code))
            return code
    from .cli import main as click_main

    try:
        return click_main()
    except SystemExit as exc:
        if ending:  # (a build: end_build is imported above)
            end_build(exc)
        raise


def _aborted() -> int:  # Ctrl-C, as click's main reports it
    sys.stderr.write("\nAborted!\n")
    sys.stderr.flush()
    return 1


def _fast(argv: list[str]) -> int:
    prog = program_name()
    check_streams(prog)
    if argv[0] != "query":
        text = help_text(prog, _help_width())
        if text is None:
            raise Fallback
        return _emit(None, text)
    opts = parse_query_args(argv[1:])
    warnings: list[str] = []
    try:
        root = find_root()
        out = opts["out"] or os.path.join(root, "exports")
        from .query import named_queries

        sparql = choose_sparql(opts["query_or_name"], named_queries(os.path.join(root, "queries")))
        if sparql is None:
            raise Fallback  # click's usage error: no such named query
        trig = os.path.join(out, EXPORT_FILES[0])
        if not os.path.isfile(trig):
            raise Fallback  # click says: no exports, run 'diplokb build'

        def load():
            from .query import Store

            return Store([os.path.join(out, n) for n in EXPORT_FILES])

        text = local_answer(sparql, param_pairs(opts["params"]), opts["fmt"], opts["default_graphs"],
                            opts["named_graphs"], kb=os.path.join(root, "kb"), trig=trig, load=load,
                            warn=warnings.append)
    except Exception:  # noqa: BLE001 - every error is click's to report, as it always has
        raise Fallback from None
    return _emit(warnings[0] if warnings else None, text)


def piped(write):
    """write()'s result; on a broken pipe 1, the streams made quiet (as click's main does)."""
    try:
        return write()
    except OSError as exc:
        import errno

        if exc.errno != errno.EPIPE:
            raise
        from click.utils import _PacifyFlushWrapper

        sys.stdout = _PacifyFlushWrapper(sys.stdout)
        sys.stderr = _PacifyFlushWrapper(sys.stderr)
        return 1


def exit_now(code: int) -> None:
    """Ends the process with `code` at once, without the interpreter's finalization (module
    teardown, freeing the store: ~3 ms of `--help`, ~5-7 ms of `query`), once everything is
    written and flushed, and only if nothing else is to run at exit: no atexit handler (e.g.
    coverage's, or a test's) and no other thread. Otherwise returns, for the usual exit."""
    import atexit

    count = getattr(atexit, "_ncallbacks", None)
    if count is None or count():
        return
    if alone() and flushed():
        os._exit(code)


def alone() -> bool:
    """No other thread (the usual exit would wait for it)."""
    threading = sys.modules.get("threading")
    return threading is None or threading.active_count() <= 1


def flushed() -> bool:
    """stdout and stderr flushed; False where they cannot be (e.g. a closed pipe), which the
    usual exit then reports as it always has."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:  # noqa: BLE001
        return False
    return True


# -- what both paths share ----------------------------------------------------------------

def choose_sparql(query_or_name: str | None, named: dict) -> str | None:
    """The SPARQL of a named query (`named`: named_queries()), or the argument itself if it is
    SPARQL; None if it is neither."""
    if query_or_name in named:
        return named[query_or_name].sparql
    if query_or_name and any(k in query_or_name.upper() for k in QUERY_KEYWORDS):
        return query_or_name
    return None


def param_pairs(params) -> dict:
    """NAME=VALUE pairs of `-p`; ValueError if one has no '='."""
    pairs = dict(p.split("=", 1) for p in params if "=" in p)
    if len(pairs) != len(params):
        raise ValueError("--param takes NAME=VALUE")
    return pairs


def local_answer(sparql: str, pairs: dict, fmt: str, default_graphs, named_graphs, *, kb, trig, load, warn) -> str:
    """The text `diplokb query` prints for a query over the local KB: the stale-exports check
    (`trig`: the exports file read, None: none), the store (`load()`), the parameters'
    checks, then the query (refused if an update or SERVICE, its dataset checked) and its
    formatting. Raises the library's errors (DiplokbError)."""
    from .query import bind, format_result

    if trig is not None:
        from .querycheck import stale_exports

        if warning := stale_exports(kb, trig):
            warn(warning)
    store = load()
    if pairs:
        from .querycheck import resolve_params

        pairs = resolve_params(store, sparql, pairs)
    sparql = bind(sparql, pairs)
    result = store.query(sparql, default_graphs=tuple(default_graphs), named_graphs=tuple(named_graphs))
    return format_result(result, fmt)


# -- the fast path's own parts ------------------------------------------------------------

def program_name() -> str:
    """The program's name as click's `_detect_program_name` gives it ('diplokb', or 'python
    -m diplokb')."""
    main_module = sys.modules["__main__"]
    path = sys.argv[0]
    package = getattr(main_module, "__package__", None)
    if package in {None, ""}:
        return os.path.basename(path)
    name = os.path.splitext(os.path.basename(path))[0]
    if name != "__main__":
        package = f"{package}.{name}"
    return f"python -m {package.lstrip('.')}"


def check_streams(prog: str) -> None:
    """Fallback unless click.echo would write to sys.stdout / sys.stderr themselves (POSIX,
    real text streams, not ASCII) and no shell completion is asked for."""
    import codecs
    import io

    if os.name != "posix":
        raise Fallback
    for stream in (sys.stdout, sys.stderr):
        if type(stream) is not io.TextIOWrapper or stream.errors is None:
            raise Fallback
        try:
            if codecs.lookup(stream.encoding).name == "ascii":
                raise Fallback
        except LookupError:
            raise Fallback from None
    if os.environ.get(f"_{prog.replace('-', '_').replace('.', '_')}_COMPLETE".upper()):
        raise Fallback


def parse_query_args(args: list[str]) -> dict:
    """The `query` command's arguments as click would read them, for the plain shapes only:
    one QUERY_OR_NAME and the `fast` options of QUERY_OPTIONS, each `--opt VALUE`,
    `--opt=VALUE` or `-oVALUE`. Anything else (another option, `--`, a value that looks like
    an option, a second argument, a value click would refuse) raises Fallback."""
    by_flag = {}
    values: dict = {}
    for flags, dest, kind, settings, fast in QUERY_OPTIONS:
        values[dest] = [] if kind == "multiple" else settings.get("default")
        if fast:
            by_flag.update((f, (dest, kind, settings)) for f in flags)
    positional = []
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if not arg.startswith("-"):
            positional.append(arg)
            continue
        flag, value = split_option(arg)
        if flag not in by_flag:
            raise Fallback
        dest, kind, settings = by_flag[flag]
        if value is None:
            if i >= len(args):
                raise Fallback
            value = args[i]
            i += 1
        if not value or value.startswith("-"):
            raise Fallback
        if kind == "choice" and value not in settings["choices"]:
            raise Fallback
        if kind == "dir" and not (os.path.isdir(value) and os.access(value, os.R_OK)):
            raise Fallback  # click.Path's checks, or no exports there: click reports it
        if kind == "multiple":
            values[dest].append(value)
        else:
            values[dest] = value
    if len(positional) != 1 or not positional[0]:
        raise Fallback
    values["query_or_name"] = positional[0]
    return values


def split_option(arg: str) -> tuple[str, str | None]:
    """(flag, value or None) of `--opt`, `--opt=VALUE` (VALUE may be empty), `-o` or `-oVALUE`."""
    if arg.startswith("--"):
        flag, eq, value = arg.partition("=")
        return flag, (value if eq else None)
    return arg[:2], (arg[2:] or None)


def find_root(start: str | None = None) -> str:
    """The project's folder, as Project.find finds it: the nearest folder at or above `start`
    (default: cwd) holding ontology/diplokb.ttl, else the folder this package was installed
    from. Fallback if there is none (click reports it)."""
    here = os.path.realpath(start or os.getcwd())
    while True:
        if os.path.isfile(os.path.join(here, ONTOLOGY_FILE)):
            return here
        parent = os.path.dirname(here)
        if parent == here:
            break
        here = parent
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
    if os.path.isfile(os.path.join(root, ONTOLOGY_FILE)):
        return root
    raise Fallback


def _emit(warning: str | None, text: str) -> int:
    """Writes as click.echo(warning, err=True) then click.echo(text, nl=False) would."""
    def write():
        if warning is not None:
            echo(sys.stderr, warning + "\n")
        echo(sys.stdout, text)
        return 0

    return piped(write)


def echo(stream, text: str) -> None:
    """Writes `text` to `stream` as click.echo does (escape sequences stripped off a non-terminal)."""
    if not text:
        stream.flush()
        return
    if "\033" in text:
        try:
            terminal = stream.isatty()
        except Exception:  # noqa: BLE001 - as click's isatty
            terminal = False
        if not terminal:
            import re

            text = re.sub(_ANSI, "", text)
    stream.write(text)
    stream.flush()


# -- `diplokb --help` ---------------------------------------------------------------------

def terminal_columns() -> int:
    """shutil.get_terminal_size().columns, without importing shutil (with bz2, lzma and fnmatch
    it costs `diplokb --help` ~3.5 ms, for this one call): $COLUMNS, else the terminal's, else 80."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns if columns > 0 else 80


def _help_width() -> int:
    """The width cli._Context.make_formatter gives click's HelpFormatter: the columns, at most
    80, less 2, at least 50."""
    return max(min(terminal_columns(), 80) - 2, 50)


def help_text(prog: str, width: int) -> str | None:
    """`diplokb --help` as click prints it, from _helptext.py, or None if that table was not
    rendered from these CLI modules and this click (or not for this program name or width)."""
    try:
        from . import _helptext as table
    except ImportError:
        return None
    if table.FINGERPRINT != _fingerprint() or None in table.FINGERPRINT:
        return None
    index = table.WIDTHS.get((prog, width))
    return None if index is None else table.TEXTS[index]


CLI_FILES = ("cli.py", "cli_curation.py")  # the modules that define the commands


def _fingerprint() -> tuple:
    """(crc32 of the CLI_FILES, click's version): what the help text is made from."""
    import zlib

    here = os.path.dirname(os.path.realpath(__file__))
    crc = 0
    try:
        for name in CLI_FILES:
            with open(os.path.join(here, name), "rb") as f:
                crc = zlib.crc32(f.read(), crc)
    except OSError:
        return ()
    return crc, _click_version()


def _click_version() -> str | None:
    """click's version, from the dist-info folder beside the click package Python would import
    (importlib.metadata costs more than the whole fast path)."""
    for entry in sys.path:
        entry = entry or "."
        if os.path.isfile(os.path.join(entry, "click", "__init__.py")):
            try:
                names = os.listdir(entry)
            except OSError:
                return None
            found = [n[6:-10] for n in names if n.startswith("click-") and n.endswith(".dist-info")]
            return found[0] if len(found) == 1 else None
    return None


def click_help(prog: str, columns: int) -> str:
    """`diplokb --help` as the click CLI prints it with $COLUMNS = `columns`, in this process."""
    import io

    from . import cli

    buffer = io.BytesIO()
    stream = io.TextIOWrapper(buffer, encoding="utf-8", errors="strict", newline="\n", write_through=True)
    saved = sys.stdout, os.environ.get("COLUMNS")
    sys.stdout, os.environ["COLUMNS"] = stream, str(columns)
    try:
        code = cli.main.main(["--help"], prog_name=prog, standalone_mode=False)
    finally:
        sys.stdout = saved[0]
        if saved[1] is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved[1]
    assert code == 0, code
    return buffer.getvalue().decode("utf-8")


def render_help_table() -> str:
    """_helptext.py's text: `diplokb --help` rendered by click for every width and both
    program names."""
    texts: list[str] = []
    widths = {}
    for prog in ("diplokb", "python -m diplokb"):
        for width in range(50, 79):
            text = click_help(prog, width + 2)
            if text not in texts:
                texts.append(text)
            widths[(prog, width)] = texts.index(text)
    fingerprint = _fingerprint()
    assert fingerprint and None not in fingerprint, fingerprint
    return ('"""`diplokb --help` as click renders it, for launch.py\'s fast path. Generated by\n'
            '`python -m diplokb.launch --write-help`: do not edit."""\n'
            f"FINGERPRINT = {fingerprint!r}\n"
            f"WIDTHS = {widths!r}\n"
            f"TEXTS = {tuple(texts)!r}\n")


HELP_TABLE = os.path.join(os.path.dirname(os.path.realpath(__file__)), "_helptext.py")


def write_help_table() -> str:
    """Writes _helptext.py (run `python -m diplokb.launch --write-help` after changing cli.py
    or cli_curation.py)."""
    with open(HELP_TABLE, "w", encoding="utf-8") as f:
        f.write(render_help_table())
    return HELP_TABLE


if __name__ == "__main__":  # pragma: no cover
    if sys.argv[1:] == ["--write-help"]:
        print(write_help_table())
    else:
        sys.exit(main())
