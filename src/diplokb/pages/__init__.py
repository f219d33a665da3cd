"""The KB's pages, for the people who read it. Each page is a function of a PageContext (the
store and indexes built once) and the request's parameters, returning HTML; the server
(server.py) and the static site (site.py) call `render`.
"""
from __future__ import annotations

from .context import PageContext
from .differences import differences_page
from .entity import entity_page
from .home import home_page
from .html import BASE, PageError, html_table, link, page
from .network import network_page
from .questions import bound_query, question_page
from .search import index_page, letter_page, search_page
from .source import source_page
from .timeline import timeline_page, timeline_svg
from .vocab import ontology_page, vocab_index

__all__ = ["PageContext", "PageError", "render", "warm", "is_page", "bound_query", "entity_page", "home_page",
           "ontology_page", "timeline_svg", "source_page", "html_table", "link", "page"]

_FIXED = {"/": home_page, "/id/": index_page, "/timeline": timeline_page, "/network": network_page,
          "/differences": differences_page, "/vocab/": vocab_index, "/ontology": ontology_page,
          "/search": search_page, "/search/": search_page}
_WHOLE_KB = {"/", "/id/", "/timeline", "/network", "/differences", "/vocab/", "/ontology"}
_NO_PARAMS = {"/", "/id/", "/timeline", "/differences", "/vocab/", "/ontology", "/search/"}


def is_page(path: str) -> bool:
    return path in _FIXED or path.startswith(("/id/", "/vocab/", "/query/", "/search/"))


def render(ctx: PageContext, path: str, params: dict | None = None) -> str:
    """The HTML page at `path` (e.g. '/id/hun-sen', '/query/04-post-holder-on-date'), or
    PageError (404 no such page, 400 a parameter the page does not take)."""
    params = params or {}
    if path in _NO_PARAMS or path.startswith(("/id/", "/vocab/")) and path not in _FIXED:
        extra = sorted(k for k in params if k != "format")
        if extra:
            raise PageError(400, f"unknown parameter(s) {', '.join(extra)} for {path}")
    if path in _WHOLE_KB:  # depends on the (read-only) KB alone: made once, then kept
        key = ("page", path, tuple(sorted((k, tuple(v)) for k, v in params.items())))
        if key not in ctx._cache:
            html = _FIXED[path](ctx, params)  # raises before caching on a bad parameter
            ctx._cache[key] = html
        return ctx._cache[key]
    if path in _FIXED:
        return _FIXED[path](ctx, params)
    if path.startswith("/query/"):
        return question_page(ctx, path[len("/query/"):], params)
    if path.startswith("/search/"):
        return letter_page(ctx, path[len("/search/"):])
    if path.startswith(("/id/", "/vocab/")):
        return entity_page(ctx, BASE + path.lstrip("/"), params)
    raise PageError(404, f"no page at {path}")


def warm(ctx: PageContext) -> None:
    """Builds the shared indexes and the whole-KB pages ahead of the first request (the
    server runs this in a background thread at start-up)."""
    from .facts import meetings
    from .search import names

    names(ctx)
    meetings(ctx)
    for path in sorted(_WHOLE_KB):
        render(ctx, path)
