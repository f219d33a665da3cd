"""HTML building blocks shared by every page: the frame, links, dates, tables.

Every internal link is written root-relative and single-quoted (`href='/id/hun-sen'`), so
the static site (site.py) can rewrite each one to a relative file path; every text that
comes from the KB goes through `esc`.
"""
from __future__ import annotations

import html
from datetime import date

from ..rdf import ID, VOCAB, curie

BASE = "https://w3id.org/diplokb/"
DKB = BASE + "ontology#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
SCHEMA = "https://schema.org/"
DCT = "http://purl.org/dc/terms/"
ORG = "http://www.w3.org/ns/org#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"


class PageError(Exception):
    """A page that cannot be given: `status` is the HTTP status (400 bad parameter, 404...)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def esc(text) -> str:
    return html.escape(str(text), quote=True)


STYLE = """body{font:15px/1.55 system-ui,sans-serif;max-width:72rem;margin:0 auto;padding:0 1rem 2rem;color:#1d1d1d}
a{color:#0645ad}a:visited{color:#5a3696}table{border-collapse:collapse;width:100%;font-size:14px;margin:.4rem 0}
td,th{border:1px solid #ccc;padding:3px 6px;vertical-align:top;text-align:left}th{background:#f2f2f2}
blockquote{margin:.3rem 0 .3rem 1rem;padding-left:.6rem;border-left:3px solid #b5b5b5;color:#2b2b2b}
.error{color:#a00000}.warn{color:#8a4b00}textarea{width:100%;font-family:monospace}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dl.meta dt{font-weight:600}dl.meta dd{margin:0}
header.top{display:flex;flex-wrap:wrap;gap:.3rem 1rem;align-items:center;border-bottom:1px solid #ddd;padding:.5rem 0;margin-bottom:.5rem}
header.top nav a{margin-right:.8rem}header.top form{margin-left:auto}
.muted{color:#595959;font-size:13px}.kind{color:#595959;font-size:13px;margin-left:.3rem}
.tag{display:inline-block;font-size:12px;padding:0 .4rem;border-radius:.6rem;background:#eee;color:#333;margin-left:.3rem}
.tag.announced{background:#fde7c9;color:#6b3a00}
article.doc{background:#fffdf7;border:1px solid #e5dfcc;padding:.5rem 1.5rem;max-width:48rem}
article.doc h3{font-size:16px;margin:.9rem 0 .3rem}
a.q{color:inherit;text-decoration:none}a.q mark{background:#fff0a8;border-bottom:2px solid #d9b600}
a.q.q2 mark{background:#ffe066}a.q:focus mark{outline:2px solid #0645ad}
a.qn{font-size:10px;vertical-align:super;line-height:0;padding:0 2px;margin-right:1px;color:#fff;background:#6b5900;border-radius:3px;text-decoration:none}
a.qn:target{outline:3px solid #0645ad;background:#0645ad}
.markup{color:#6b6b6b;font-family:monospace;font-size:12px}
li:target,:target>blockquote{background:#e8f0ff}
.claims{display:grid;grid-template-columns:repeat(auto-fit,minmax(15rem,1fr));gap:.6rem}
.claims section{border:1px solid #ccc;padding:.4rem .7rem;border-radius:4px}
details{margin:.8rem 0}summary{cursor:pointer;color:#0645ad}
ul.facts li{margin-bottom:.4rem}.cols{columns:18rem}
form.params label{display:block;margin:.4rem 0}form.params label span{display:inline-block;min-width:8rem;font-weight:600}
svg text{font-family:system-ui,sans-serif}"""


def page(ctx, title: str, body: str, *, heading: str | None = None) -> str:
    """A whole HTML page: header with navigation and search, then the body."""
    if ctx.static:
        search = "<a href='/search/'>Search by name</a>"
        sparql = ""
    else:
        search = ("<form method=get action='/search' role=search><input type=search name=q "
                  "aria-label='Search names' placeholder='Search names'> <button type=submit>Search</button></form>")
        sparql = "<a href='/sparql'>SPARQL</a>"
    nav = ("<nav aria-label='Site'><a href='/'>diplokb</a><a href='/id/'>Index</a><a href='/timeline'>Timeline</a>"
           "<a href='/network'>Who met whom</a><a href='/differences'>Differences</a>"
           f"<a href='/vocab/'>Vocabularies</a><a href='/ontology'>Ontology</a>{sparql}</nav>")
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{esc(title)} · diplokb</title>"
            f"<meta name=viewport content='width=device-width, initial-scale=1'><style>{STYLE}</style></head><body>"
            f"<header class=top>{nav}{search}</header><main><h1>{heading if heading is not None else esc(title)}</h1>"
            f"{body}</main></body></html>")


def path_of(iri: str) -> str | None:
    """The page path of a KB IRI ('/id/hun-sen'), None for an outside IRI."""
    if iri.startswith(BASE):
        return "/" + iri[len(BASE):]
    return None


def link(ctx, iri: str, label: str | None = None, fragment: str = "") -> str:
    text = esc(label if label is not None else ctx.label(iri))
    path = path_of(iri)
    if path is not None and "#" not in path:
        return f"<a href='{esc(path + fragment)}'>{text}</a>"
    if path is not None:  # an ontology term: its anchor on the ontology page
        return f"<a href='/ontology#{esc(path.split('#', 1)[1])}'>{text}</a>"
    if not iri.lower().startswith(("http://", "https://")):  # javascript:, data:, urn: ... never a link
        return f"<span title='{esc(iri)}'>{text}</span>"
    return f"<a href='{esc(iri)}' rel=nofollow>{text}</a>"


def quote_href(ev_iri: str, source_iri: str) -> str:
    """Where a quote sits in its source's reader page."""
    return f"{path_of(source_iri)}#{anchor(ev_iri)}"


def anchor(ev_iri: str) -> str:
    return "q-" + ev_iri.rsplit("/", 1)[-1]


def fact_anchor(ev_iri: str) -> str:
    return "f-" + ev_iri.rsplit("/", 1)[-1]


MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")


def fmt_date(text: str | None) -> str:
    """'2023-07-24' -> '24 July 2023'; '2022-11' -> 'November 2022'; '2024' -> '2024'."""
    if not text:
        return ""
    parts = text.split("-")
    try:
        if len(parts) == 1:
            return parts[0]
        if len(parts) == 2:
            return f"{MONTHS[int(parts[1]) - 1]} {parts[0]}"
        return f"{int(parts[2])} {MONTHS[int(parts[1]) - 1]} {parts[0]}"
    except (ValueError, IndexError):
        return text  # not a date we know how to spell: shown as it is


def precision(text: str) -> str:
    return {1: "year", 2: "month", 3: "day"}.get(len(text.split("-")), "")


def fmt_when(d: str | None, start: str | None = None, end: str | None = None, *, marked: bool = True) -> str:
    """A date or range at the source's precision, with the precision said where it is not a day."""
    def one(t):
        p = precision(t)
        return f"{fmt_date(t)}" + (f" <span class=muted>({p})</span>" if marked and p != "day" else "")
    if d:
        return one(d)
    if start and end:
        return f"{one(start)} – {one(end)}" if start != end else one(start)
    if start:
        return f"from {one(start)}"
    if end:
        return f"until {one(end)}"
    return "<span class=muted>date not given</span>"


def sort_date(d: str | None, start: str | None = None) -> str:
    return d or start or "9999"


def bounds(text: str) -> tuple[date, date]:
    """First and last day a date of any precision covers."""
    parts = [int(x) for x in text.split("-")]
    if len(parts) == 1:
        return date(parts[0], 1, 1), date(parts[0], 12, 31)
    if len(parts) == 2:
        y, m = parts
        nxt = date(y + (m == 12), m % 12 + 1, 1)
        return date(y, m, 1), date.fromordinal(nxt.toordinal() - 1)
    return date(*parts), date(*parts)


def table(head: list[str], rows: list[list[str]], caption: str | None = None) -> str:
    """A table of cells that are already HTML."""
    cap = f"<caption class=muted>{esc(caption)}</caption>" if caption else ""
    return (f"<table>{cap}<thead><tr>" + "".join(f"<th scope=col>{esc(h)}</th>" for h in head) + "</tr></thead><tbody>"
            + "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows) + "</tbody></table>")


def term_html(ctx, term) -> str:
    """A pyoxigraph term: a link for an IRI, escaped text for a literal."""
    import pyoxigraph as ox

    if isinstance(term, ox.NamedNode):
        return link(ctx, term.value)
    if term is None:
        return ""
    return esc(term.value)


def html_table(ctx, doc: dict) -> str:
    """SPARQL JSON results as a table, IRIs linked by their labels."""
    if "boolean" in doc:
        return f"<p>{'true' if doc['boolean'] else 'false'}</p>"
    names = doc["head"]["vars"]
    rows = doc["results"]["bindings"]
    body = []
    for r in rows:
        cells = []
        for n in names:
            t = r.get(n)
            if t is None:
                cells.append("")
            elif t["type"] == "uri":
                cells.append(link(ctx, t["value"]))
            elif ID + t["value"] in ctx.types and ctx.is_a(ID + t["value"], "SourceDocument"):
                cells.append(link(ctx, ID + t["value"]))  # a source named by its id: shown by its title
            else:
                cells.append(esc(t["value"]))
        body.append(cells)
    return table(names, body) + f"<p class=muted>{len(rows)} row(s)</p>"


def short(iri: str) -> str:
    return curie(iri) or iri


def local(iri: str) -> str:
    for ns in (DKB, ID, VOCAB):
        if iri.startswith(ns):
            return iri[len(ns):]
    return iri.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def editor_form(query: str) -> str:
    return ("<h2>Query</h2><form method=get action='/sparql'>"
            f"<textarea name=query rows=12 aria-label='SPARQL query'>{esc(query)}</textarea>"
            "<input type=hidden name=format value=html><p><button type=submit>Run query</button></p></form>")
