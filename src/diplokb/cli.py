"""The `diplokb` command: thin click commands over the library API.

Exit codes: 0 success, 1 the KB has problems (or a check failed), 2 bad usage.

The console script is launch.main, which answers `diplokb --help` and the plain shapes of
`diplokb query` without importing click, and hands everything else to `main` here. After
changing this file, run `python -m diplokb.launch --write-help` (the fast `--help` is rendered
from it ahead of time, and used only while it matches; tests/test_launch.py checks).
"""
from __future__ import annotations

import sys

import click

from .buildcmd import BUILD_OPTIONS, ENGINE_OPTION, JOBS, KB_OPTION, Failed, report_failure
from .errors import BuildError, DiplokbError
from .launch import OUT_OPTION, QUERY_OPTIONS, terminal_columns as _terminal_columns


def _project(kb, out, cache=True):
    from .pipeline import Project

    try:
        return Project.find(kb=kb, out=out, cache=cache)
    except DiplokbError as exc:
        raise click.ClickException(str(exc)) from None


def _fail(exc: BuildError) -> None:
    sys.exit(report_failure(exc, click.echo))


def _option(flags, dest, kind, settings, fast=True):
    """A click option from a row of launch.py's tables (which its fast path parses too)."""
    settings = dict(settings)
    if kind == "flag":
        settings["is_flag"] = True
    elif kind == "multiple":
        settings["multiple"] = True
    elif kind == "choice":
        settings["type"] = click.Choice(list(settings.pop("choices")))
    elif kind == "dir":
        settings["type"] = click.Path(file_okay=False)
    elif kind == "file":
        settings["type"] = click.File("r")
    elif kind == "path":
        settings["type"] = click.Path(dir_okay=False)
    elif kind == "jobs":
        settings["type"] = click.IntRange(min(JOBS), max(JOBS))
    return click.option(*flags, dest, **settings)


out_option = _option(*OUT_OPTION)
kb_option = _option(*KB_OPTION)
engine_option = _option(*ENGINE_OPTION)


class _Context(click.Context):
    def make_formatter(self) -> click.HelpFormatter:
        from click import formatting

        width = self.terminal_width
        if width is None and formatting.FORCED_WIDTH is None:  # as click.HelpFormatter does
            width = max(min(_terminal_columns(), self.max_content_width or 80) - 2, 50)
        return self.formatter_class(width=width, max_width=self.max_content_width)


class _Command(click.Command):
    context_class = _Context


class _Group(click.Group):
    context_class = _Context
    command_class = _Command  # what @main.command() makes


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="diplokb")
def main():
    """diplokb: curated YAML facts -> validated RDF, SPARQL and downloads."""


def _build_options(func):
    for row in reversed(BUILD_OPTIONS):
        func = _option(*row)(func)
    return func


@main.command()
@_build_options
def build(kb, out, check, engine, no_cache, jobs, sarif_file):
    """Build, validate and export the KB.

    Files unchanged since the last successful build are taken from the build cache, and
    only what an edit can affect is validated again; the exports are the same either way.
    """
    from .buildcmd import run  # (launch.py's click-free path runs the same function)

    try:
        code = run(kb, out, check, engine, no_cache, jobs, sarif_file, echo=click.echo)
    except Failed as exc:
        raise click.ClickException(exc.message) from None
    if code:
        sys.exit(code)


@main.command()
@kb_option
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif"]), default="text", show_default=True,
              help="sarif: SARIF 2.1.0 on stdout, YAML problems included, for code scanning.")
@engine_option
def validate(kb, fmt, engine):
    """Validate the KB with SHACL; report results against the YAML."""
    from . import sarif

    project = _project(kb, None)
    try:
        report = project.validate(engine=engine)
    except BuildError as exc:
        if fmt != "sarif":
            _fail(exc)
        click.echo(sarif.dumps(sarif.log(problems=exc.problems, root=project.root, version=sarif.package_version())),
                   nl=False)
        sys.exit(1)
    if fmt == "sarif":
        click.echo(sarif.dumps(sarif.log(results=report.results, root=project.root, version=sarif.package_version())),
                   nl=False)
    elif fmt == "json":
        import json

        click.echo(json.dumps({"conforms": report.conforms, "no_violations": report.no_violations,
                               "results": [r.as_json() for r in report.results]}, indent=1))
    else:
        by_file: dict = {}
        for r in report.results:
            by_file.setdefault(r.location.file, []).append(r)
        for file in sorted(by_file):
            click.echo(f"{file}:")
            for r in by_file[file]:
                click.echo("  " + r.render())
        click.echo(report.summary())
    sys.exit(0 if report.no_violations else 1)


def _query_options(func):
    for row in reversed(QUERY_OPTIONS):
        func = _option(*row)(func)
    return func


@main.command()
@click.argument("query_or_name", required=False)
@_query_options
def query(query_or_name, file, list_, fmt, params, out, fresh, endpoint, default_graphs=(), named_graphs=()):
    """Run SPARQL: a query string, a file (-f) or a named query from queries/.

    \b
    Examples:
      diplokb query --list
      diplokb query 01-timeline
      diplokb query 03-posts-of-person -p person=hun-sen --format csv
      diplokb query 'SELECT ?p WHERE { ?p a dkb:Person }'
    """
    from .launch import choose_sparql, local_answer, param_pairs
    from .query import bind, format_result, named_queries

    project = _project(None, out)
    named = named_queries(project.queries_dir)
    if list_:
        for q in named.values():
            click.echo(f"{q.name}\n    {q.title}: {q.description}")
            for p in q.params:
                click.echo(f"    -p {p}")
        return
    if file is not None:
        sparql = file.read()
    elif (sparql := choose_sparql(query_or_name, named)) is not None:
        pass
    elif query_or_name:
        from .errors import did_you_mean
        hint = did_you_mean(query_or_name, named)
        raise click.UsageError(f"no named query '{query_or_name}'" + (f"; {hint}" if hint else "")
                               + " (see 'diplokb query --list')")
    else:
        raise click.UsageError("give a SPARQL query, a named query or -f FILE")
    try:
        try:
            pairs = param_pairs(params)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
        if not endpoint:  # (launch.py's fast path runs the same function, and only this case)
            click.echo(local_answer(sparql, pairs, fmt, default_graphs, named_graphs, kb=project.kb,
                                    trig=None if fresh else project.out / "diplokb.trig",
                                    load=lambda: project.store(fresh=fresh),
                                    warn=lambda warning: click.echo(warning, err=True)), nl=False)
            return
        sparql = bind(sparql, pairs)
        if default_graphs or named_graphs:
            raise click.UsageError("--default-graph / --named-graph apply to the local KB, not --endpoint")
        from .publish import remote_query
        result = remote_query(endpoint, sparql)
        if isinstance(result, list):  # CONSTRUCT/DESCRIBE triples
            from .export import to_jsonld, to_ntriples, to_turtle
            writer = {"nt": to_ntriples, "jsonld": lambda t: to_jsonld(t, set())}.get(fmt, to_turtle)
            click.echo(writer(result), nl=False)
            return
        click.echo(format_result(result, fmt), nl=False)
    except BuildError as exc:
        _fail(exc)
    except DiplokbError as exc:
        raise click.ClickException(str(exc)) from None


@main.command()
@click.option("--store", "store_url", required=True, metavar="URL",
              help="Graph Store Protocol URL, e.g. http://localhost:7878/store (Oxigraph), "
                   "http://localhost:3030/ds/data (Fuseki).")
@click.option("--endpoint", metavar="URL", default=None,
              help="The store's SPARQL query URL: also remove graphs under diplokb's namespace that no "
                   "publish recorded, and check the list of graphs there.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=120.0, show_default=True,
              help="Time limit in seconds for the whole publish.")
@out_option
def publish(store_url, endpoint, timeout, out):
    """Load the built KB into a triple store: one named graph per source, plus the ontology,
    under names keyed by the build's digest; then switch a pointer graph to them, remove the
    graphs of earlier publishes and read everything back (see docs/publish.md)."""
    from .publish import publish as do_publish

    project = _project(None, out)
    try:
        report = do_publish(project.out, store_url, timeout=timeout, endpoint=endpoint)
    except DiplokbError as exc:
        raise click.ClickException(str(exc)) from None
    total = sum(n for _, n in report.graphs)
    digest = report.build.rsplit("/", 1)[1]
    if not report.written:
        click.echo(f"{report.store} already holds build {digest} ({total} triples in {len(report.graphs)} graphs, "
                   "verified); nothing written")
        return
    click.echo(f"published build {digest}: {total} triples in {len(report.graphs)} graphs to {report.store}, "
               "verified" + (" (graph list too)" if report.listed else "") + (f"; removed {len(report.removed)} graph(s) of earlier publishes" if report.removed else ""))


@main.command()
@click.option("--triples", type=int, default=100_000, show_default=True, help="About how many triples.")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--broken", type=float, default=0.0, show_default=True,
              help="Share of records made invalid in ways only SHACL catches.")
@click.argument("directory", type=click.Path(file_okay=False))
def synth(triples, seed, broken, directory):
    """Write a synthetic KB (entities/ and sources/) in DIRECTORY, for benchmarks."""
    from .synth import generate

    counts = generate(triples, directory, seed=seed, broken=broken)
    click.echo(", ".join(f"{n} {k}" for k, n in counts.items()) + f" -> {directory}")


def _setting_options(func):
    from .settings import OPTIONS  # a plain table: no dataclass is made at start-up

    for name, (default, text) in reversed(OPTIONS.items()):
        func = click.option("--" + name.replace("_", "-"), type=type(default), default=default,
                            show_default=True, help=text)(func)
    return func


@main.command()
@click.argument("directory", type=click.Path(file_okay=False))
@out_option
def site(directory, out):
    """Write the pages as a static site into DIRECTORY (relative links: any host, any sub-path)."""
    from .pages import PageContext
    from .query import named_queries
    from .site import write_site

    project = _project(None, out)
    try:
        downloads = tuple(sorted(f.name for f in project.out.iterdir() if f.is_file() and not f.name.startswith(".")))
        ctx = PageContext(project.store(), named_queries(project.queries_dir), downloads, project.kb, static=True)
        report = write_site(ctx, project.out, directory)
    except DiplokbError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"wrote {report.pages} pages ({report.files} files) to {report.out}")


@main.command()
@out_option
@_setting_options
def serve(out, **settings):
    """Serve the built KB: SPARQL endpoint at /sparql, pages at /id/..., home at /."""
    from .httpd import url_host
    from .server import Settings, serve as run_server

    project = _project(None, out)
    try:
        run_server(project.out, project.queries_dir, Settings(**settings), kb=project.kb,
                   ready=lambda srv: click.echo(f"serving {project.out} at http://{url_host(srv.server_address[0])}:"
                                                f"{srv.server_address[1]}/ (Ctrl-C to stop)"))
    except DiplokbError as exc:
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:
        pass


# The commands for curating and reading the KB (new, coverage, review, stats, vocab, entities,
# show, diff) are in cli_curation.py; importing it registers them with `main`.
from . import cli_curation  # noqa: E402,F401

if __name__ == "__main__":  # pragma: no cover - `python -m diplokb.cli`
    # This module runs as __main__, a second copy of diplokb.cli: cli_curation registered its
    # commands with that copy's `main`, so that is the group to run.
    from diplokb.cli import main as registered

    registered()
