"""`diplokb site OUT`: the same pages as static HTML, for any static host, with no server.

Pages are rendered by src/diplokb/pages/ (root-relative links), then every internal link is
rewritten to a relative file path ('/id/hun-sen' -> '../id/hun-sen.html'), so the site works
from any sub-path and from the file system. Raw triples and query answers are written beside
the pages (`.ttl`, `.jsonld`, `.nt`, `.csv`, `.json`), the exports are copied, and search
is a page of names per first letter (no script). A link the site cannot serve is an error.
"""
from __future__ import annotations

import html
import posixpath
import re
import shutil
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from .errors import DiplokbError

MARKER = ".diplokb-site"
GRAPH_EXT = {"ttl": "ttl", "nt": "nt", "jsonld": "jsonld"}
_LINK = re.compile(r"""(href|action|src)='(/[^'/][^']*|/)'""")


class SiteError(DiplokbError):
    """The site could not be written (an unmappable link, an output folder that is not ours)."""


@dataclass(frozen=True)
class SiteReport:
    out: Path
    pages: int
    files: int


def target(url: str) -> str:
    """The file (relative to the site's root) that serves a root-relative URL, with its
    #fragment kept; SiteError for a URL the static site cannot serve."""
    parts = urllib.parse.urlsplit(url)
    path, fragment = urllib.parse.unquote(parts.path), parts.fragment
    query = urllib.parse.parse_qs(parts.query, keep_blank_values=True)
    frag = f"#{fragment}" if fragment else ""
    if path.startswith("/exports/") and not query:
        return path[1:] + frag
    fmt = query.pop("format", [None])[0]
    year = query.pop("year", [None])[0] if path == "/network" else None
    if query or ".." in path.split("/"):
        raise SiteError(f"the static site cannot serve '{url}' (parameters {', '.join(query)})")
    base = "index" if path == "/" else path[1:] + "index" if path.endswith("/") else path[1:]
    if year:
        return f"network/{year}.html{frag}"
    if fmt in ("ttl", "nt", "jsonld", "csv", "json"):
        return f"{base}.{fmt}{frag}"
    if fmt is not None:
        raise SiteError(f"the static site has no '{fmt}' form of '{path}'")
    return f"{base}.html{frag}"


def relative(html_text: str, at: str) -> str:
    """The page written at `at` with every root-relative link made relative to it."""
    here = posixpath.dirname(at) or "."

    def sub(m: re.Match) -> str:
        dest = target(html.unescape(m.group(2)))
        file, _, frag = dest.partition("#")
        rel = posixpath.relpath(file, here)
        return f"{m.group(1)}='{html.escape(rel + ('#' + frag if frag else ''), quote=True)}'"

    return _LINK.sub(sub, html_text)


def page_paths(ctx) -> list[str]:
    """Every page of the site, as the server's paths."""
    from .pages.network import years
    from .pages.search import letter_of, names
    from .pages.html import BASE

    fixed = ["/", "/id/", "/timeline", "/network", "/differences", "/vocab/", "/ontology", "/search/"]
    fixed += [f"/network?year={y}" for y in years(ctx)]
    fixed += sorted({f"/search/{letter_of(f)}" for f, _, _ in names(ctx)})
    fixed += [f"/query/{n}" for n in ctx.named]
    iris = set()
    for sol in ctx.q(f"SELECT DISTINCT ?x WHERE {{ {{ ?x ?p ?o }} UNION {{ ?s ?p ?x }} FILTER (isIRI(?x) && "
                     f"(STRSTARTS(STR(?x), '{BASE}id/') || STRSTARTS(STR(?x), '{BASE}vocab/'))) }}"):
        x = sol["x"].value
        if "#" not in x and "?" not in x and not x.startswith(BASE + "id/graph/"):
            iris.add("/" + x[len(BASE):])
    return fixed + sorted(iris)


def write_site(ctx, exports: Path, out: Path) -> SiteReport:
    """Writes the site into `out` (replacing a site written there before; refusing any
    other non-empty folder). Built in a temporary folder beside it, then moved in place."""
    from .pages import render
    from .pages.questions import bound_query
    from .results import serialize

    out = Path(out)
    if out.exists() and any(out.iterdir()) and not (out / MARKER).exists():
        raise SiteError(f"{out} is not empty and was not written by 'diplokb site'; choose another folder")
    tmp = out.with_name(out.name + ".tmp-site")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    pages = files = 0
    try:
        def write(rel: str, data: bytes) -> None:
            nonlocal files
            p = tmp / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
            files += 1

        for path in page_paths(ctx):
            parsed = urllib.parse.urlsplit(path)
            params = urllib.parse.parse_qs(parsed.query)
            at = target(path)
            write(at, relative(render(ctx, parsed.path, params), at).encode("utf-8"))
            pages += 1
            if parsed.path.startswith("/query/"):
                sparql = bound_query(ctx, parsed.path[len("/query/"):], {})
                for fmt in ("csv", "json"):
                    body, _, _ = serialize(ctx.q(sparql), fmt, max_rows=10**9)
                    write(target(f"{parsed.path}?format={fmt}"), body)
            elif parsed.path.startswith(("/id/", "/vocab/")) and not parsed.path.endswith("/"):
                iri = "https://w3id.org/diplokb" + parsed.path
                for fmt in GRAPH_EXT:
                    body, _, _ = serialize(ctx.q(f"CONSTRUCT {{ <{iri}> ?p ?o }} WHERE {{ <{iri}> ?p ?o }}"), fmt, 10**9)
                    write(target(f"{parsed.path}?format={fmt}"), body)
        graph = "https://w3id.org/diplokb/id/graph/ontology"
        for fmt in GRAPH_EXT:
            body, _, _ = serialize(ctx.q(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"), fmt, 10**9)
            write(target(f"/ontology?format={fmt}"), body)
        for name in ctx.downloads:
            write(f"exports/{name}", (Path(exports) / name).read_bytes())
        write(MARKER, b"written by diplokb site\n")
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return SiteReport(out, pages, files)
