"""The `diplokb` command: thin click commands over the library API.

Exit codes: 0 success, 1 the KB has problems (or a check failed), 2 bad usage.
"""
from __future__ import annotations

import json
import sys
import time

import click

from .errors import BuildError, DiplokbError


def _project(kb, out, cache=True):
    from .pipeline import Project

    try:
        return Project.find(kb=kb, out=out, cache=cache)
    except DiplokbError as exc:
        raise click.ClickException(str(exc)) from None


def _fail(exc: BuildError) -> None:
    click.echo(exc.render(), err=True)
    click.echo(f"Error: {len(exc.problems)} problem(s); nothing was written.", err=True)
    sys.exit(1)


engine_option = click.option("--engine", type=click.Choice(["fast", "pyshacl"]), default="fast", show_default=True,
                             help="SHACL engine: diplokb's fast one, or pySHACL (the reference).")
kb_option = click.option("--kb", type=click.Path(file_okay=False), help="KB folder (default: ./kb).")
out_option = click.option("--out", type=click.Path(file_okay=False), help="Exports folder (default: ./exports).")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="diplokb")
def main():
    """diplokb: curated YAML facts -> validated RDF, SPARQL and downloads."""


@main.command()
@kb_option
@out_option
@click.option("--check", is_flag=True, help="Write nothing; fail if the exports differ from a fresh build.")
@engine_option
@click.option("--no-cache", is_flag=True,
              help="A clean build: ignore and do not update the build cache (.diplokb-cache/).")
@click.option("--jobs", "-j", type=click.IntRange(1, 2), default=None,
              help="Processes to use: 2 validates while the exports are written (default where "
                   "two cores are free), 1 does everything in this process. Same results either way.")
def build(kb, out, check, engine, no_cache, jobs):
    """Build, validate and export the KB.

    Files unchanged since the last successful build are taken from the build cache, and
    only what an edit can affect is validated again; the exports are the same either way.
    """
    project = _project(kb, out, cache=not no_cache)
    t0 = time.perf_counter()
    try:
        result = project.build(check=check, engine=engine, jobs=jobs)
    except BuildError as exc:
        _fail(exc)
    for w in result.report.warnings:
        click.echo(w.render(), err=True)
    if check:
        if result.stale:
            click.echo(f"Error: exports are stale: {', '.join(result.stale)} "
                       f"differ from a fresh build. Run 'diplokb build'.", err=True)
            sys.exit(1)
        click.echo(f"exports in {project.out} are up to date")
        return
    s = result.summary()
    click.echo(f"built {s['triples']} triples from {s['sources']} sources in "
               f"{time.perf_counter() - t0:.2f}s -> {project.out}")
    click.echo("  " + ", ".join(f"{n} {k}" for k, n in s.items() if k not in ("triples", "sources")))


@main.command()
@kb_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@engine_option
def validate(kb, fmt, engine):
    """Validate the KB with SHACL; report results against the YAML."""
    project = _project(kb, None)
    try:
        report = project.validate(engine=engine)
    except BuildError as exc:
        _fail(exc)
    if fmt == "json":
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


@main.command()
@click.argument("query_or_name", required=False)
@click.option("-f", "--file", "file", type=click.File("r"), help="Read the query from a file.")
@click.option("--list", "list_", is_flag=True, help="List the named queries.")
@click.option("--format", "fmt", default="table", show_default=True,
              type=click.Choice(["table", "csv", "tsv", "json", "xml", "ttl", "nt", "jsonld"]))
@click.option("-p", "--param", "params", multiple=True, metavar="NAME=VALUE",
              help="Set a parameter of a named query, e.g. -p person=hun-sen.")
@out_option
@click.option("--fresh", is_flag=True, help="Build the KB in memory instead of reading exports/.")
@click.option("--endpoint", metavar="URL", help="Run the query on this SPARQL endpoint instead.")
def query(query_or_name, file, list_, fmt, params, out, fresh, endpoint):
    """Run SPARQL: a query string, a file (-f) or a named query from queries/.

    \b
    Examples:
      diplokb query --list
      diplokb query 01-timeline
      diplokb query 03-posts-of-person -p person=hun-sen --format csv
      diplokb query 'SELECT ?p WHERE { ?p a dkb:Person }'
    """
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
    elif query_or_name in named:
        sparql = named[query_or_name].sparql
    elif query_or_name and any(k in query_or_name.upper() for k in ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")):
        sparql = query_or_name
    elif query_or_name:
        from .errors import did_you_mean
        hint = did_you_mean(query_or_name, named)
        raise click.UsageError(f"no named query '{query_or_name}'" + (f"; {hint}" if hint else "")
                               + " (see 'diplokb query --list')")
    else:
        raise click.UsageError("give a SPARQL query, a named query or -f FILE")
    try:
        pairs = dict(p.split("=", 1) for p in params if "=" in p)
        if len(pairs) != len(params):
            raise click.UsageError("--param takes NAME=VALUE")
        sparql = bind(sparql, pairs)
        if endpoint:
            from .publish import remote_query
            result = remote_query(endpoint, sparql)
            if isinstance(result, list):  # CONSTRUCT/DESCRIBE triples
                from .export import to_jsonld, to_ntriples, to_turtle
                writer = {"nt": to_ntriples, "jsonld": lambda t: to_jsonld(t, set())}.get(fmt, to_turtle)
                click.echo(writer(result), nl=False)
                return
        else:
            result = project.store(fresh=fresh).query(sparql)
        click.echo(format_result(result, fmt), nl=False)
    except BuildError as exc:
        _fail(exc)
    except DiplokbError as exc:
        raise click.ClickException(str(exc)) from None


@main.command()
@click.argument("name")
@out_option
def show(name, out):
    """Everything the KB says about one entity, found by id or any name variant."""
    from .show import describe, find_entities

    project = _project(None, out)
    try:
        store = project.store()
        matches = find_entities(store, name)
        if not matches:
            raise click.ClickException(f"no entity named '{name}'")
        if len(matches) > 1:
            click.echo(f"{len(matches)} entities match '{name}':", err=True)
        for iri in matches:
            click.echo(describe(store, iri))
    except DiplokbError as exc:
        raise click.ClickException(str(exc)) from None


@main.command()
@kb_option
def stats(kb):
    """Counts per class and per source, and how much of each source the quotes cover."""
    from .stats import coverage

    project = _project(kb, None)
    try:
        compiled = project.compile()
    except BuildError as exc:
        _fail(exc)
    click.echo("instances per class:")
    for cls, n in sorted(compiled.counts.items()):
        click.echo(f"  {cls:<22} {n:>6}")
    click.echo("per source:         triples  records  headings  sentences  covered by quotes")
    rows = coverage(compiled)
    for row in rows:
        click.echo(f"  {row.source:<18} {row.triples:>7}  {row.records:>7}  {row.headings:>8}  "
                   f"{row.sentences:>9}  {row.covered:>4} ({row.share:.0%})")
    total, covered = sum(r.sentences for r in rows), sum(r.covered for r in rows)
    click.echo(f"  {'all':<18} {'':>7}  {'':>7}  {'':>8}  {total:>9}  {covered:>4} "
               f"({covered / total if total else 1:.0%})")


@main.command()
@click.option("--store", "store_url", required=True, metavar="URL",
              help="Graph Store Protocol URL, e.g. http://localhost:7878/store (Oxigraph), "
                   "http://localhost:3030/ds/data (Fuseki).")
@out_option
def publish(store_url, out):
    """Load the built KB into a triple store: one named graph per source, plus the ontology."""
    from .publish import publish as do_publish

    project = _project(None, out)
    try:
        report = do_publish(project.out, store_url)
    except DiplokbError as exc:
        raise click.ClickException(str(exc)) from None
    total = sum(n for _, n in report.graphs)
    click.echo(f"published {total} triples in {len(report.graphs)} graphs to {store_url}"
               + (f"; removed {len(report.removed)} graph(s) of an earlier publish" if report.removed else ""))


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
    from dataclasses import fields as dc_fields

    from .server import Settings

    for f in reversed(dc_fields(Settings)):
        opt = "--" + f.name.replace("_", "-")
        func = click.option(opt, type=type(f.default), default=f.default, show_default=True,
                            help=f.metadata["help"])(func)
    return func


@main.command()
@out_option
@_setting_options
def serve(out, **settings):
    """Serve the built KB: SPARQL endpoint at /sparql, pages at /id/..., home at /."""
    from .server import Settings, serve as run_server

    project = _project(None, out)
    try:
        run_server(project.out, project.queries_dir, Settings(**settings),
                   ready=lambda srv: click.echo(f"serving {project.out} at "
                                                f"http://{srv.server_address[0]}:{srv.server_address[1]}/ "
                                                "(Ctrl-C to stop)"))
    except DiplokbError as exc:
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":  # pragma: no cover
    main()
