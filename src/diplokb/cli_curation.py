"""The `diplokb` commands for curating and reading the KB: new, coverage, review, stats,
vocab, entities, show and diff. cli.py imports this module, which registers them with its
`main` group (the same thin click commands over the library API as cli.py's; after changing
this file, too, run `python -m diplokb.launch --write-help`)."""
from __future__ import annotations

import sys

import click

from .cli import _fail, _project, kb_option, main, out_option
from .errors import BuildError, DiplokbError


@main.command()
@click.argument("text_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--id", "source_id", metavar="SRC-NNN", help="The new source's id (default: the next src-NNN).")
@kb_option
def new(text_file, source_id, kb):
    """Archive TEXT_FILE in kb/sources/ and write the skeleton of its source YAML.

    The text is copied byte for byte (its SHA-256 goes in the YAML); the skeleton lists the
    fields to fill (# TODO), the known entities named in the text and every sentence, and
    builds at once, with a Warning for each thing still to do.
    """
    from .scaffold import new_source

    project = _project(kb, None)
    try:
        made = new_source(text_file, project.kb, project.ontology_files[1], source_id=source_id)
    except DiplokbError as exc:
        raise click.ClickException(str(exc)) from None
    import os

    click.echo(f"archived {os.path.relpath(made.text_path)} (SHA-256 {made.sha256})")
    click.echo(f"wrote {os.path.relpath(made.yaml_path)}: source {made.source_id}, {made.sentences} sentences, "
               f"{len(made.mentions)} known entities named in the text")
    click.echo("next: fill in the lines marked TODO, add records with quotes, run 'diplokb build' "
               f"and 'diplokb coverage {made.source_id}'")


@main.command()
@click.argument("source", required=False)
@kb_option
def coverage(source, kb):
    """The sentences no quote covers yet (of SOURCE: an id or file name), with their lines."""
    from .coverage import gaps

    project = _project(kb, None)
    try:
        found = gaps(project.compile(), source)
    except BuildError as exc:
        _fail(exc)
    except DiplokbError as exc:
        raise click.ClickException(str(exc)) from None
    for g in found:
        click.echo(f"{g.source} ({g.text_file}): {len(g.uncovered)} of {g.sentences} sentences not covered by a quote")
        for u in g.uncovered:
            click.echo(f"  {u.text_file}:{u.line}:{u.column}: {u.sentence}")


@main.command()
@click.argument("scheme", required=False)
def vocab(scheme):
    """The allowed values of each kind (of SCHEME only), with their definitions."""
    from .catalog import concepts

    project = _project(None, None)
    try:
        found = concepts(project.ontology_files[1], scheme)
    except DiplokbError as exc:
        raise click.ClickException(str(exc)) from None
    current = None
    for c in found:
        if c.scheme != current:
            current = c.scheme
            click.echo(f"{c.scheme}:")
        click.echo(f"  {c.id:<30} {c.definition}" + (f" (also: {', '.join(c.synonyms)})" if c.synonyms else ""))


@main.command()
@click.option("--class", "kind", type=click.Choice(["person", "organization", "place", "post", "thing", "side"]),
              help="Only entities of this class.")
@kb_option
def entities(kind, kb):
    """The ids and names of the known entities (kb/entities), to refer to them."""
    from .catalog import entities as list_entities

    project = _project(kb, None)
    found, problems = list_entities(project.kb, project.ontology_files[1], kind)
    for p in problems:
        click.echo(p.render(), err=True)
    for e in found:
        click.echo(f"{e.kind:<13} {e.id:<44} {e.name}" + (f" (also: {'; '.join(e.variants)})" if e.variants else ""))
    if problems:
        click.echo(f"Error: {len(problems)} problem(s) in kb/entities; the records with problems are not listed.",
                   err=True)
        sys.exit(1)



@main.command()
@click.argument("old", required=False, metavar="[REV1]")
@click.argument("new", required=False, metavar="[REV2]")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def diff(old, new, fmt):
    """What changed in the KB's facts from REV1 (default: the last commit) to REV2 (default:
    the working tree): entities, events, statements, posts and quotes, per source."""
    from .diff import diff as kb_diff, render

    project = _project(None, None)
    try:
        found = kb_diff(project.root, old, new)
    except BuildError as exc:
        _fail(exc)
    except DiplokbError as exc:
        raise click.ClickException(str(exc)) from None
    import json

    click.echo(json.dumps(found.as_json(), indent=1, ensure_ascii=False) if fmt == "json" else render(found), nl=False)
    if fmt == "json":
        click.echo()


@main.command()
@click.argument("name")
@out_option
def show(name, out):
    """Everything the KB says about one entity, found by id or any name variant."""
    from .show import describe, find_entities

    from .querycheck import stale_exports

    project = _project(None, out)
    if warning := stale_exports(project.kb, project.out / "diplokb.trig"):
        click.echo(warning, err=True)
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
    from .review import structured_coverage, vocabulary_labels

    click.echo("sentences with a structured fact beyond the quote (see `diplokb review SOURCE`):")
    per, findings = structured_coverage(compiled, vocabulary_labels(project))
    for source, (structured, counted) in per.items():
        click.echo(f"  {source:<18} {structured:>4} of {counted:>4} ({structured / counted if counted else 1:.0%})")
    n, d = sum(s for s, _ in per.values()), sum(c for _, c in per.values())
    click.echo(f"  {'all':<18} {n:>4} of {d:>4} ({n / d if d else 1:.0%})")
    for f in findings:
        click.echo(f"warning: {f.check}: {f.message}")


@main.command()
@click.argument("source")
@kb_option
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=".", show_default=True,
              help="Folder to write SOURCE-review.md and SOURCE-review.html in.")
def review(source, kb, out_dir):
    """A review page of one source: its sentences, each with the facts that cite it."""
    from pathlib import Path

    from .review import vocabulary_labels, write_review

    project = _project(kb, None)
    try:
        compiled = project.compile()
    except BuildError as exc:
        _fail(exc)
    try:
        paths, rv, findings = write_review(compiled, source, vocabulary_labels(project), Path(out_dir))
    except KeyError as exc:
        raise click.ClickException(exc.args[0]) from None
    counted = rv.counted
    click.echo(f"{rv.source}: {len(counted)} sentences, {sum(s.cited for s in counted)} covered by a quote, "
               f"{rv.structured} with a structured fact beyond the quote; "
               f"{sum(1 for s in counted if s.cited and not s.structured)} text only")
    for f in findings:
        click.echo(f"warning: {f.check}: {f.message}", err=True)
    for path in paths:
        click.echo(f"wrote {path}")
