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
}
MEDIA_TYPES = {  # Accept header media type -> format name
    "application/sparql-results+json": "json", "application/json": "json",
    "application/sparql-results+xml": "xml", "application/xml": "xml", "text/xml": "xml",
    "text/csv": "csv", "text/tab-separated-values": "tsv",
    "text/turtle": "ttl", "application/x-turtle": "ttl", "application/n-triples": "nt",
    "text/plain": "nt", "application/ld+json": "jsonld",
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


def serialize(result, fmt: str | None, max_rows: int) -> tuple[bytes, str, bool]:
    """(body, content type, truncated) for a pyoxigraph result. `fmt` may be None or a
    format of the other kind of result, in which case the kind's default is used."""
    import pyoxigraph as ox

    if isinstance(result, ox.QueryBoolean):
        fmt = fmt if fmt in SOLUTION_FORMATS else "json"
        value = bool(result)
        if fmt == "xml":
            body = ('<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">'
                    f"<head/><boolean>{'true' if value else 'false'}</boolean></sparql>\n")
        elif fmt in ("csv", "tsv"):
            body = f"{'_askResult' if fmt == 'csv' else '?_askResult'}\n{'true' if value else 'false'}\n"
        else:
            body = json.dumps({"head": {}, "boolean": value}) + "\n"
        return body.encode(), SOLUTION_FORMATS[fmt], False
    if isinstance(result, ox.QueryTriples):
        from .export import to_jsonld, to_ntriples, to_turtle
        from .query import _from_ox

        fmt = fmt if fmt in GRAPH_FORMATS else "ttl"
        triples, truncated = [], False
        for t in result:
            if len(triples) >= max_rows:
                truncated = True
                break
            triples.append(_from_ox(t))
        body = {"ttl": to_turtle, "nt": to_ntriples}.get(fmt, lambda t: to_jsonld(t, set()))(triples)
        return body.encode("utf-8"), GRAPH_FORMATS[fmt], truncated
    fmt = fmt if fmt in SOLUTION_FORMATS else "json"
    names = [v.value for v in result.variables]
    rows, truncated = [], False
    for sol in result:
        if len(rows) >= max_rows:
            truncated = True
            break
        rows.append([sol[n] for n in names])
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
    return body.encode("utf-8"), SOLUTION_FORMATS[fmt], truncated


def negotiate(accept: str | None, explicit: str | None) -> list[str]:
    """Format names in order of preference, from `format=` (a name or media type) or Accept."""
    if explicit:
        name = MEDIA_TYPES.get(explicit.split(";")[0].strip().lower(), explicit.lower())
        return [name]
    prefs = []
    for i, part in enumerate((accept or "").split(",")):
        media, *params = [x.strip() for x in part.split(";")]
        q = 1.0
        for prm in params:
            if prm.startswith("q="):
                try:
                    q = float(prm[2:])
                except ValueError:
                    q = 0.0
        if media.lower() in MEDIA_TYPES and q > 0:
            prefs.append((-q, i, MEDIA_TYPES[media.lower()]))
    return [name for _, _, name in sorted(prefs)]
