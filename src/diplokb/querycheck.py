"""Checks before a query is answered from the exports: `-p` values that name nothing (or the
wrong kind of thing), malformed dates, and exports older than the YAML they were built from.
A query with a wrong parameter would answer with no rows, which reads as "the KB says
nothing": a silent wrong answer, so it is refused with what was meant instead."""
from __future__ import annotations

import os

from .namespaces import ID

# (patterns, compiled on first use: `diplokb query` imports this module for stale_exports, and
# `re` costs its start-up ~5 ms)
_DATE = r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$"
_SLUG = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
DKB = "https://w3id.org/diplokb/ontology#"
FACTS = frozenset({"Event", "Statement", "PostAttestation", "Figure"})


def _query_error(message: str):
    from .errors import QueryError  # (only for an error: `diplokb query` does not import it otherwise)

    return QueryError(message)


def _default(sparql: str, name: str) -> str | None:
    import re

    m = re.search(r"VALUES\s+\?" + re.escape(name) + r"\s*\{([^}]*)\}", sparql)
    return m.group(1).strip() if m else None


def _iri_of(term: str) -> str | None:
    if term.startswith("<") and term.endswith(">"):
        return term[1:-1]
    if term.startswith("id:"):
        return ID + term[3:]
    return None


def _classes(store, iri: str) -> set:
    return {sol["c"].value.removeprefix(DKB) for sol in store.query(f"SELECT ?c WHERE {{ <{iri}> a ?c }}")}


def check_date(name: str, value: str) -> None:
    import re

    m = re.match(_DATE, value)
    if not m:
        raise _query_error(f"parameter '{name}': '{value}' is not a date; write YYYY, YYYY-MM or YYYY-MM-DD "
                         "(e.g. 2024-12 for a month)")
    year, month, day = m.groups()
    import datetime as dt

    try:
        dt.date(int(year), int(month or 1), int(day or 1))
    except ValueError as exc:
        raise _query_error(f"parameter '{name}': '{value}' is an impossible date ({exc})") from None


def resolve_params(store, sparql: str, params: dict) -> dict:
    """`params` with each entity value checked against the store (an id that exists, or a name
    `diplokb show` would find, which becomes its id) and each date value checked for form.
    Raises QueryError saying what is wrong and what was probably meant."""
    if not params:
        return {}
    import re

    from .show import find_entities

    out = {}
    for name, value in params.items():
        default = _default(sparql, name)
        if default is None:  # bind() reports the unknown parameter
            out[name] = value
            continue
        if default.startswith('"'):
            if re.match(_DATE, default.strip('"')):
                check_date(name, value)
            out[name] = value
            continue
        want = _iri_of(default)
        if want is None or not want.startswith(ID):
            out[name] = value
            continue
        expected = _classes(store, want) - {"Country"} or _classes(store, want)
        if expected & FACTS:  # a fact: any kind of fact will do
            expected = set(FACTS)
        iri = None
        if value.startswith(("http://", "https://")):
            iri = value
        elif value.startswith("id:"):
            iri = ID + value[3:]
        elif re.match(_SLUG, value):
            iri = ID + value
        if iri is not None and not bool(store.query(f"ASK {{ <{iri}> ?p ?o }}")):
            iri = None
        if iri is None:  # a name, as `show` accepts it
            matches = [m for m in find_entities(store, value) if not expected or _classes(store, m) & expected]
            if len(matches) > 1:
                raise _query_error(f"parameter '{name}': '{value}' names {len(matches)} entities: "
                                 + ", ".join(m.removeprefix(ID) for m in matches) + "; give one id")
            if not matches:
                ids = [sol["s"].value.removeprefix(ID) for sol in store.query(
                    "SELECT DISTINCT ?s WHERE { ?s a ?c VALUES ?c { "
                    + " ".join(f"<{DKB}{c}>" for c in sorted(expected or {"Person"})) + " } }")]
                from .errors import did_you_mean

                hint = did_you_mean(value, ids)
                raise _query_error(f"parameter '{name}': no {' or '.join(sorted(expected)) or 'entity'} "
                                 f"'{value}' in the KB" + (f"; {hint}" if hint else "")
                                 + " (see 'diplokb entities')")
            iri = matches[0]
        found = _classes(store, iri)
        if expected and not found & expected:
            raise _query_error(f"parameter '{name}': '{iri.removeprefix(ID)}' is a {' or '.join(sorted(found)) or 'node'}"
                             f", but the query expects a {' or '.join(sorted(expected))} "
                             f"(like its default '{want.removeprefix(ID)}')")
        out[name] = iri.removeprefix(ID) if iri.startswith(ID) else iri
    return out


def stale_exports(kb_dir, exports_file, slack: float = 2.0) -> str | None:
    """A warning when a KB file was changed after `exports_file` was written (more than
    `slack` seconds after, so that a fresh checkout's write order does not count), else None."""
    try:
        built = os.stat(exports_file).st_mtime
    except OSError:
        return None
    newest = max(((os.stat(p).st_mtime, p.split(os.sep), p) for p in _kb_files(os.fspath(kb_dir))), default=None)
    if newest is None or newest[0] <= built + slack:
        return None
    return (f"Warning: {os.path.relpath(newest[2])} changed after {os.path.relpath(exports_file)} was built: the answers may be out of date "
            "(run 'diplokb build', or query with --fresh)")


def _kb_files(top: str):
    """The paths under `top` with a suffix .yaml or .txt, as Path(top).rglob("*") would give them
    (folders too; symbolic links to folders not followed; unreadable folders skipped), without
    importing pathlib (`diplokb query` would import it for this only)."""
    for folder, dirs, files in os.walk(top or "."):
        for name in (*dirs, *files):
            dot = name.rfind(".")
            if 0 < dot < len(name) - 1 and name[dot:] in (".yaml", ".txt"):
                yield os.path.join(folder, name)
