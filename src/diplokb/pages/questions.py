"""Named questions: a form for each `# param:` (a select of valid entities for an id, a date
field for a date), the answer as a table linking entities and sources, CSV/JSON downloads.
An unknown or invalid parameter is an error (400), never dropped."""
from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass
from datetime import date

from ..errors import QueryError
from ..query import bind
from ..rdf import ID
from .html import PageError, esc, html_table, link, page

DATE_RE = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?")
RESERVED = ("format",)


@dataclass(frozen=True)
class Param:
    name: str
    default: str  # as the query's header gives it: 'id:hun-sen' or '"2022-11"'
    kind: str  # 'entity', 'date' or 'text'
    classes: tuple = ()

    @property
    def default_value(self) -> str:
        if self.kind == "entity":
            return _slug(self.default)
        return self.default.strip().strip('"')


def _slug(term: str) -> str:
    term = term.strip()
    if term.startswith("id:"):
        return term[3:]
    if term.startswith("<" + ID):
        return term[len(ID) + 1:-1]
    return term


def params_of(ctx, q) -> list[Param]:
    out = []
    for spec in q.params:
        name, _, default = (x.strip() for x in spec.partition("="))
        if default.startswith('"'):
            kind = "date" if DATE_RE.fullmatch(default.strip('"')) else "text"
            out.append(Param(name, default, kind))
        else:
            iri = ID + _slug(default)
            out.append(Param(name, default, "entity", ctx.types.get(iri, ())))
    return out


def options(ctx, p: Param) -> list[str]:
    """The entities a parameter may name: those of the class(es) of its default."""
    return sorted((s for s, ts in ctx.types.items() if any(c in p.classes for c in ts)),
                  key=lambda s: ctx.label(s).casefold())


def check(ctx, name: str, params: dict) -> tuple[object, dict[str, str]]:
    """(the named query, its parameter values), or PageError: 404 for an unknown question,
    400 for an unknown parameter or a value that is not one the parameter takes."""
    q = ctx.named.get(name)
    if q is None:
        raise PageError(404, f"no named query '{name}'")
    ps = {p.name: p for p in params_of(ctx, q)}
    unknown = sorted(k for k in params if k not in ps and k not in RESERVED)
    if unknown:
        allowed = ", ".join(ps) or "none"
        raise PageError(400, f"unknown parameter(s) {', '.join(unknown)} for '{name}'; its parameters: {allowed}")
    values = {}
    for k, p in ps.items():
        given = params.get(k)
        if not given or given[0] == "":
            continue
        if len(given) > 1:
            raise PageError(400, f"parameter '{k}' given {len(given)} times")
        v = given[0].strip()
        if p.kind == "entity":
            slug = _slug(v)
            if not any(c in p.classes for c in ctx.types.get(ID + slug, ())):
                kinds = ", ".join(ctx.class_label(c) for c in p.classes) or "entity"
                raise PageError(400, f"'{v}' is not a {kinds} in the KB (parameter '{k}')")
            v = slug
        elif p.kind == "date":
            if not DATE_RE.fullmatch(v) or not _valid_date(v):
                raise PageError(400, f"'{v}' is not a date as YYYY, YYYY-MM or YYYY-MM-DD (parameter '{k}')")
        values[k] = v
    return q, values


def _valid_date(v: str) -> bool:
    parts = [int(x) for x in v.split("-")]
    try:
        date(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1)
    except ValueError:
        return False
    return True


def bound_query(ctx, name: str, params: dict) -> str:
    q, values = check(ctx, name, params)
    try:
        return bind(q.sparql, values)
    except QueryError as exc:
        raise PageError(400, str(exc)) from None


def _form(ctx, q, values: dict[str, str]) -> str:
    fields = []
    for p in params_of(ctx, q):
        current = values.get(p.name, p.default_value)
        fid = f"param-{p.name}"
        if p.kind == "entity":
            opts = "".join(f"<option value='{esc(s[len(ID):])}'{' selected' if s == ID + current else ''}>"
                           f"{esc(ctx.label(s))}</option>" for s in options(ctx, p) if s.startswith(ID))
            control = f"<select id='{fid}' name='{esc(p.name)}'>{opts}</select>"
        elif p.kind == "date":
            control = (f"<input id='{fid}' name='{esc(p.name)}' value='{esc(current)}' inputmode=numeric "
                       "pattern='\\d{4}(-\\d{2}(-\\d{2})?)?' title='YYYY, YYYY-MM or YYYY-MM-DD' size=12> "
                       "<span class=muted>YYYY, YYYY-MM or YYYY-MM-DD</span>")
        else:
            control = f"<input id='{fid}' name='{esc(p.name)}' value='{esc(current)}'>"
        fields.append(f"<label for='{fid}'><span>{esc(p.name)}</span> {control}</label>")
    if not fields:
        return ""
    if ctx.static:
        return ("<p class=muted>Shown with its default parameters. To ask it with others, run "
                f"<code>diplokb query {esc(q.name)} -p NAME=VALUE</code> or <code>diplokb serve</code>.</p>")
    return (f"<form class=params method=get action='/query/{esc(q.name)}'>{''.join(fields)}"
            "<p><button type=submit>Ask</button></p></form>")


def question_page(ctx, name: str, params: dict) -> str:
    q, values = check(ctx, name, params)
    sparql = bound_query(ctx, name, params)
    doc, total = _answer(ctx.q(sparql))
    qs = urllib.parse.urlencode(sorted(values.items()))
    amp = f"&{qs}" if qs else ""
    downloads = (f"<p>Download: <a href='{esc(f'/query/{q.name}?format=csv{amp}')}'>CSV</a> · "
                 f"<a href='{esc(f'/query/{q.name}?format=json{amp}')}'>JSON</a></p>")
    desc = f"<p>{esc(q.description)}</p>" if q.description else ""
    asked = ""
    if values:
        asked = "<p class=muted>Asked with " + ", ".join(
            f"{esc(k)} = {link(ctx, ID + v) if ID + v in ctx.types else esc(v)}" for k, v in values.items()) + "</p>"
    editor = "" if ctx.static else (f"<p><a href='/sparql?query={esc(urllib.parse.quote(sparql))}'>Open in the SPARQL editor</a></p>")
    more = (f"<p class=warn>The first {len(doc['results']['bindings'])} of {total} rows are shown; the downloads "
            "hold them all.</p>") if doc.get("results") and total > len(doc["results"]["bindings"]) else ""
    return page(ctx, q.title, desc + _form(ctx, q, values) + asked + "<h2>Answer</h2>" + more + html_table(ctx, doc)
                + downloads + f"<details><summary>The SPARQL query</summary><pre>{esc(sparql)}</pre></details>" + editor)


SHOWN_ROWS = 500  # rows of an answer shown on its page; the downloads have every row


def _answer(result) -> tuple[dict, int]:
    """(the answer as SPARQL JSON results, its first SHOWN_ROWS rows; how many rows in all)."""
    import pyoxigraph as ox

    if isinstance(result, ox.QueryBoolean):
        return {"boolean": bool(result)}, 1
    if not isinstance(result, ox.QuerySolutions):
        raise PageError(500, "a named question must be a SELECT or ASK query")
    names = [v.value for v in result.variables]
    rows, total = [], 0
    for sol in result:
        total += 1
        if total > SHOWN_ROWS:
            continue
        row = {}
        for n in names:
            t = sol[n]
            if t is not None:
                row[n] = {"type": "uri" if isinstance(t, ox.NamedNode) else "literal", "value": t.value}
        rows.append(row)
    return {"head": {"vars": names}, "results": {"bindings": rows}}, total


def questions_list(ctx) -> str:
    return "<ol>" + "".join(f"<li><a href='/query/{esc(q.name)}'>{esc(q.title)}</a> <span class=muted>{esc(q.description)}</span></li>"
                            for q in ctx.named.values()) + "</ol>"

