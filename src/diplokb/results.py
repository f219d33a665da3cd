"""SPARQL results as bytes in the standard formats, with a cap on rows.

Shared by the CLI and the server. Solutions: SPARQL JSON, XML, CSV, TSV; graphs: Turtle,
N-Triples, JSON-LD.
"""
from __future__ import annotations

import csv
import io
import json
from xml.sax.saxutils import escape as xml_escape, quoteattr

SOLUTION_FORMATS = {
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "csv": "text/csv; charset=utf-8",
    "tsv": "text/tab-separated-values; charset=utf-8",
}
GRAPH_FORMATS = {
    "ttl": "text/turtle; charset=utf-8",
    "nt": "application/n-triples",
    "jsonld": "application/ld+json",
    "rdfxml": "application/rdf+xml",
    "nq": "application/n-quads",  # the triples in the default graph (N-Triples is N-Quads)
    "trig": "application/trig",  # likewise: Turtle is TriG's default graph
}
MEDIA_TYPES = {  # Accept header media type -> format name
    "application/sparql-results+json": "json", "application/json": "json",
    "application/sparql-results+xml": "xml", "application/xml": "xml", "text/xml": "xml",
    "text/csv": "csv", "text/tab-separated-values": "tsv",
    "text/turtle": "ttl", "application/x-turtle": "ttl", "application/n-triples": "nt",
    "text/plain": "nt", "application/ld+json": "jsonld", "application/rdf+xml": "rdfxml",
    "application/n-quads": "nq", "application/trig": "trig",
}
ALIASES = {  # format= values clients send -> format name
    "turtle": "ttl", "ntriples": "nt", "n-triples": "nt", "json-ld": "jsonld",
    "rdf+xml": "rdfxml", "rdf/xml": "rdfxml", "n-quads": "nq", "nquads": "nq",
    "srj": "json", "srx": "xml",
}
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"


def _json_term(t) -> dict:
    import pyoxigraph as ox

    if isinstance(t, ox.NamedNode):
        return {"type": "uri", "value": t.value}
    if isinstance(t, ox.BlankNode):
        return {"type": "bnode", "value": t.value}
    out = {"type": "literal", "value": t.value}
    if t.language:
        out["xml:lang"] = t.language
    elif t.datatype.value != XSD_STRING:
        out["datatype"] = t.datatype.value
    return out


def _xml_term(t) -> str:
    import pyoxigraph as ox

    if isinstance(t, ox.NamedNode):
        return f"<uri>{xml_escape(t.value)}</uri>"
    if isinstance(t, ox.BlankNode):
        return f"<bnode>{xml_escape(t.value)}</bnode>"
    if t.language:
        return f"<literal xml:lang={quoteattr(t.language)}>{xml_escape(t.value)}</literal>"
    if t.datatype.value != XSD_STRING:
        return f"<literal datatype={quoteattr(t.datatype.value)}>{xml_escape(t.value)}</literal>"
    return f"<literal>{xml_escape(t.value)}</literal>"


def serialize(result, fmt: str | None, max_rows: int,
              max_bytes: int | None = None) -> tuple[bytes, str, bool]:
    """(body, content type, truncated) for a pyoxigraph result. `fmt` may be None or a
    format of the other kind of result, in which case the kind's default is used. At most
    `max_rows` rows (triples) are kept, and fewer if the body would pass `max_bytes`."""
    import pyoxigraph as ox

    if isinstance(result, ox.QueryBoolean):
        fmt = fmt if fmt in SOLUTION_FORMATS else "json"
        return _boolean(bool(result), fmt).encode(), SOLUTION_FORMATS[fmt], False
    graph = isinstance(result, ox.QueryTriples)
    if graph:
        fmt = fmt if fmt in GRAPH_FORMATS else "ttl"
        names = None
    else:
        fmt = fmt if fmt in SOLUTION_FORMATS else "json"
        names = [v.value for v in result.variables]
    items, truncated = [], False
    for item in result:
        if len(items) >= max_rows:
            truncated = True
            break
        items.append(item if graph else [item[n] for n in names])
    render = (lambda xs: _graph(xs, fmt)) if graph else (lambda xs: _solutions(names, xs, fmt))
    body = render(items)
    if max_bytes is not None and len(body) > max_bytes:
        lo, hi = 0, len(items)  # the most items that fit: render(items[:lo]) fits
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if len(render(items[:mid])) <= max_bytes:
                lo = mid
            else:
                hi = mid - 1
        body, truncated = render(items[:lo]), True
    return body, (GRAPH_FORMATS if graph else SOLUTION_FORMATS)[fmt], truncated


def _boolean(value: bool, fmt: str) -> str:
    if fmt == "xml":
        return ('<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">'
                f"<head/><boolean>{'true' if value else 'false'}</boolean></sparql>\n")
    if fmt in ("csv", "tsv"):
        return f"{'_askResult' if fmt == 'csv' else '?_askResult'}\n{'true' if value else 'false'}\n"
    return json.dumps({"head": {}, "boolean": value}) + "\n"


def _graph(triples: list, fmt: str) -> bytes:
    if fmt == "rdfxml":
        import pyoxigraph as ox

        try:
            return ox.serialize(triples, format=ox.RdfFormat.RDF_XML)
        except (ValueError, OSError) as exc:
            from .errors import QueryError
            raise QueryError(f"this result cannot be written as RDF/XML ({exc}); ask for Turtle") from None
    from .export import to_jsonld, to_ntriples, to_turtle
    from .query import _from_ox

    terms = [_from_ox(t) for t in triples]
    writer = {"ttl": to_turtle, "trig": to_turtle, "nt": to_ntriples, "nq": to_ntriples}.get(
        fmt, lambda t: to_jsonld(t, set()))
    return writer(terms).encode("utf-8")


def _solutions(names: list[str], rows: list, fmt: str) -> bytes:
    if fmt == "json":
        bindings = [{n: _json_term(t) for n, t in zip(names, r) if t is not None} for r in rows]
        body = json.dumps({"head": {"vars": names}, "results": {"bindings": bindings}},
                          ensure_ascii=False) + "\n"
    elif fmt == "xml":
        parts = ['<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">',
                 "<head>" + "".join(f"<variable name={quoteattr(n)}/>" for n in names) + "</head><results>"]
        for r in rows:
            parts.append("<result>" + "".join(f"<binding name={quoteattr(n)}>{_xml_term(t)}</binding>"
                                              for n, t in zip(names, r) if t is not None) + "</result>")
        parts.append("</results></sparql>\n")
        body = "".join(parts)
    elif fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\r\n")
        w.writerow(names)
        w.writerows([["" if t is None else t.value for t in r] for r in rows])
        body = buf.getvalue()
    else:
        lines = ["\t".join("?" + n for n in names)]
        lines += ["\t".join("" if t is None else str(t) for t in r) for r in rows]
        body = "\n".join(lines) + "\n"
    return body.encode("utf-8")


def negotiate(accept: str | None, explicit: str | None) -> list[str]:
    """Format names in order of preference, from `format=` (a name or media type) or Accept."""
    return preferences(accept, explicit)[0]


def preferences(accept: str | None, explicit: str | None) -> tuple[list[str], bool]:
    """(format names in order of preference, whether any format will do), from `format=`
    (a name, an alias or a media type) or else the Accept header. An unknown `format=`
    gives its name, which fits no result (406)."""
    if explicit:
        key = explicit.split(";")[0].strip().lower()
        return [MEDIA_TYPES.get(key) or ALIASES.get(key, key)], False
    if not (accept or "").strip():
        return [], True
    prefs, anything = [], False
    for i, part in enumerate(accept.split(",")):
        media, *params = [x.strip() for x in part.split(";")]
        media = media.lower()
        q = 1.0
        for prm in params:
            if prm.startswith("q="):
                try:
                    q = float(prm[2:])
                except ValueError:
                    q = 0.0
        if q <= 0:
            continue
        if media == "*/*":
            anything = True
        elif media.endswith("/*"):
            prefs += [(-q, i, name) for m, name in MEDIA_TYPES.items() if m.startswith(media[:-1])]
        elif media in MEDIA_TYPES:
            prefs.append((-q, i, MEDIA_TYPES[media]))
    return [name for _, _, name in sorted(prefs)], anything
