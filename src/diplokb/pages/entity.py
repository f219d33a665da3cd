"""Entity profiles: a person's posts, events, statements and counterparts; an organization's
parts and members; a thing's statements; an event's participants. Written against the
ontology's properties, so new kinds of facts show up under "Also linked from"."""
from __future__ import annotations

from .context import FACT_CLASSES, PageContext
from .facts import all_events, events_info, meetings, when_html, when_key, quotes_for, quotes_html, status_tag, values
from .html import (DKB, RDF_TYPE, RDFS, SCHEMA, SKOS, PageError, esc, fmt_when, link, local, page,
                   path_of, short, table, sort_date)

NAMES = (SKOS + "altLabel", SCHEMA + "honorificPrefix", DKB + "abbreviation", SCHEMA + "givenName",
         SCHEMA + "familyName")
HIDDEN_OUT = {RDFS + "label", SKOS + "prefLabel", DKB + "evidence", DKB + "participation", RDF_TYPE,
              DKB + "participant"}
DATES = {DKB + "date", DKB + "startDate", DKB + "endDate", DKB + "heldFrom", DKB + "heldUntil"}


def entity_page(ctx: PageContext, iri: str, params: dict | None = None) -> str:
    if iri not in ctx.types and not bool(ctx.q(f"ASK {{ {{ <{iri}> ?p ?o }} UNION {{ ?s ?p <{iri}> }} }}")):
        raise PageError(404, f"nothing is known about <{iri}>")
    if ctx.is_a(iri, "SourceDocument"):
        from .source import source_page
        return source_page(ctx, iri)
    if ctx.is_a(iri, "Evidence"):
        return evidence_page(ctx, iri)
    if SKOS + "ConceptScheme" in ctx.types.get(iri, ()):
        from .vocab import scheme_page
        return scheme_page(ctx, iri)
    return profile(ctx, iri)


def profile(ctx: PageContext, iri: str) -> str:
    label = ctx.label(iri)
    out = list(ctx.q(f"SELECT ?p ?o WHERE {{ <{iri}> ?p ?o }} ORDER BY ?p ?o"))
    incoming = list(ctx.q(f"SELECT ?s ?p WHERE {{ ?s ?p <{iri}> }} ORDER BY ?p ?s"))
    cls = ctx.main_class(iri)
    head = [f"<p class=muted>{link(ctx, cls, ctx.class_label(cls)) if cls else 'Resource'} · "
            f"<a href='{esc(path_of(iri))}?format=ttl'>Turtle</a> · <a href='{esc(path_of(iri))}?format=jsonld'>JSON-LD</a>"
            f" · <a href='{esc(path_of(iri))}?format=nt'>N-Triples</a> · <a href='#raw'>raw triples</a></p>"]
    handled: set[str] = set()  # subjects of incoming links already shown in a section
    body = head + [_about(ctx, iri, out)]
    own = quotes_for(ctx, [iri]).get(iri, [])
    if own:
        body.append("<h2>Evidence</h2>" + quotes_html(ctx, own))
    if ctx.is_a(iri, "Event"):
        body.append(_participants(ctx, iri))
    body.append(_posts(ctx, iri, handled))
    body.append(_organization(ctx, iri, handled))
    body.append(_events(ctx, iri, incoming, handled))
    body.append(_statements(ctx, iri, incoming, handled))
    if ctx.is_a(iri, "Person"):
        body.append(counterparts_html(ctx, iri))
    body.append(_others(ctx, iri, incoming, handled))
    body.append(_raw(ctx, iri, out, incoming))
    return page(ctx, label, "".join(body))


def _value(ctx, p: str, o) -> str:
    import pyoxigraph as ox

    if isinstance(o, ox.NamedNode):
        return link(ctx, o.value)
    if p in DATES:
        return fmt_when(o.value)
    return esc(o.value)


def _about(ctx, iri: str, out) -> str:
    names: dict[str, list[str]] = {}
    facts: dict[str, list[str]] = {}
    title = ctx.label(iri)
    for sol in out:
        p, o = sol["p"].value, sol["o"]
        if p in HIDDEN_OUT or (p in (RDFS + "label", SKOS + "prefLabel") and o.value == title):
            continue
        target = names if p in NAMES else facts
        target.setdefault(p, []).append(_value(ctx, p, o))
    rows = []
    for p in NAMES:
        if p in names:
            rows.append(f"<dt>{esc(ctx.prop_label(p))}</dt><dd>{'; '.join(names[p])}</dd>")
    for p in sorted(facts, key=lambda p: (p == SKOS + "editorialNote", ctx.prop_label(p))):
        rows.append(f"<dt>{esc(ctx.prop_label(p).capitalize())}</dt><dd>{'; '.join(facts[p])}</dd>")
    return f"<dl class=meta>{''.join(rows)}</dl>" if rows else ""


def _participants(ctx, iri: str) -> str:
    rows = []
    for sol in ctx.q(f"SELECT ?a ?side ?role WHERE {{ <{iri}> dkb:participation ?x . ?x dkb:agent ?a "
                     "OPTIONAL { ?x dkb:onSideOf ?side } OPTIONAL { ?x dkb:role ?role } } ORDER BY ?a"):
        rows.append([link(ctx, sol["a"].value), link(ctx, sol["side"].value) if sol["side"] else "",
                     esc(sol["role"].value) if sol["role"] else ""])
    hosts = [link(ctx, s["h"].value) for s in ctx.q(f"SELECT ?h WHERE {{ <{iri}> dkb:host ?h }} ORDER BY ?h")]
    out = "<h2>Who took part</h2>" + (table(["who", "on the side of", "role"], rows) if rows else "<p>No participants recorded.</p>")
    if hosts:
        out += f"<p>Host: {', '.join(hosts)}</p>"
    return out


def _posts(ctx, iri: str, handled: set) -> str:
    """Post attestations where the entity is the holder or the post, as each source names it."""
    rows = {"holder": [], "post": []}
    q = (f"SELECT ?a ?role ?other ?named ?d ?s ?e WHERE {{ VALUES ?role {{ dkb:holder dkb:post }} "
         f"?a a dkb:PostAttestation ; ?role <{iri}> . "
         "?a ?otherRole ?other . FILTER (?otherRole IN (dkb:holder, dkb:post) && ?otherRole != ?role) "
         "OPTIONAL { ?a dkb:asNamed ?named } OPTIONAL { ?a dkb:date ?d } OPTIONAL { ?a dkb:startDate ?s } "
         "OPTIONAL { ?a dkb:endDate ?e } }")
    found = list(ctx.q(q))
    quotes = quotes_for(ctx, [s["a"].value for s in found])
    for sol in found:
        v = lambda n: sol[n].value if sol[n] is not None else None  # noqa: E731
        handled.add(v("a"))
        qs = quotes.get(v("a"), [])
        src = "; ".join(f"{link(ctx, x.source)} (<a href='{esc(path_of(x.source))}#q-{esc(x.evidence.rsplit('/', 1)[-1])}'>quote</a>)"
                        for x in qs)
        rows[local(v("role"))].append((sort_date(v("d"), v("s")), v("other"), [
            fmt_when(v("d"), v("s"), v("e")), link(ctx, v("other")), f"“{esc(v('named'))}”" if v("named") else "", src]))
    out = ""
    if rows["holder"]:
        out += "<h2>Posts, as each source names them</h2>" + table(
            ["attested", "post", "as named in the source", "source"], [r for *_, r in sorted(rows["holder"])])
    if rows["post"]:
        out += "<h2>Holders, as each source names them</h2>" + table(
            ["attested", "holder", "as named in the source", "source"], [r for *_, r in sorted(rows["post"])])
    return out


def _organization(ctx, iri: str, handled: set) -> str:
    if not ctx.instance_of(iri, "Organization"):
        return ""
    parts = [s["x"].value for s in ctx.q(f"SELECT ?x WHERE {{ ?x org:subOrganizationOf <{iri}> }}")]
    posts = [s["x"].value for s in ctx.q(f"SELECT ?x WHERE {{ ?x org:postIn <{iri}> }}")]
    handled.update(parts, posts)
    out = ""
    if parts:
        out += "<h2>Parts</h2><ul>" + "".join(f"<li>{link(ctx, x)}</li>" for x in sorted(parts, key=ctx.label)) + "</ul>"
    members = list(ctx.q(f"SELECT DISTINCT ?who ?post WHERE {{ ?post org:postIn ?o . ?o org:subOrganizationOf* <{iri}> . "
                         "?a dkb:post ?post ; dkb:holder ?who }"))
    if posts or members:
        holders: dict[str, list[str]] = {}
        for s in members:
            holders.setdefault(s["post"].value, []).append(s["who"].value)
        allposts = sorted(set(posts) | set(holders), key=ctx.label)
        out += "<h2>Posts and members</h2>" + table(["post", "held by (as attested)"], [
            [link(ctx, p), ", ".join(link(ctx, w) for w in sorted(set(holders.get(p, [])), key=ctx.label)) or
             "<span class=muted>no holder attested</span>"] for p in allposts])
    return out


def _events(ctx, iri: str, incoming, handled: set) -> str:
    rels: dict[str, set[str]] = {}
    for sol in incoming:
        rels.setdefault(sol["s"].value, set()).add(sol["p"].value)
    for sol in ctx.q(f"SELECT ?e WHERE {{ ?e dkb:participation/dkb:agent <{iri}> }}"):
        rels.setdefault(sol["e"].value, set()).add(DKB + "participant")
    events = [e for e in rels if ctx.is_a(e, "Event")]
    if not events:
        return ""
    info = events_info(ctx, events)
    roles: dict[str, list[str]] = {}
    for sol in ctx.q(f"SELECT ?e ?role ?side WHERE {{ VALUES ?e {{ {values(events)} }} ?e dkb:participation ?x . "
                     f"?x dkb:agent <{iri}> OPTIONAL {{ ?x dkb:role ?role }} OPTIONAL {{ ?x dkb:onSideOf ?side }} }}"):
        bits = [esc(sol["role"].value)] if sol["role"] else []
        if sol["side"]:
            bits.append(f"for {link(ctx, sol['side'].value)}")
        if bits:
            roles.setdefault(sol["e"].value, []).append(" ".join(bits))
    rows = []
    for e in sorted(events, key=lambda e: when_key(ctx, e)):
        handled.add(e)
        i = info.get(e)
        how = ", ".join(sorted(ctx.prop_label(p) for p in rels[e]))
        rows.append([when_html(ctx, e), link(ctx, e) + (f" <span class=kind>{esc(ctx.label(i.kind))}</span>" if i and i.kind else ""),
                     link(ctx, i.place) if i and i.place else "", status_tag(ctx, i) if i else "",
                     "; ".join(roles.get(e, [])) or esc(how)])
    return "<h2>Events</h2>" + table(["date", "event", "place", "status", "role or link"], rows)


def _statements(ctx, iri: str, incoming, handled: set) -> str:
    made: set[str] = set()
    about: dict[str, set[str]] = {}
    for sol in incoming:
        s, p = sol["s"].value, sol["p"].value
        if not ctx.is_a(s, "Statement"):
            continue
        if p == DKB + "speaker":
            made.add(s)
        else:
            about.setdefault(s, set()).add(p)
    if not made and not about:
        return ""
    stmts = made | set(about)
    handled.update(stmts)
    detail: dict[str, dict] = {}
    for sol in ctx.q(f"SELECT ?s ?kind ?sum ?speaker ?at WHERE {{ VALUES ?s {{ {values(stmts)} }} "
                     "OPTIONAL { ?s dkb:statementKind ?kind } OPTIONAL { ?s dkb:summary ?sum } "
                     "OPTIONAL { ?s dkb:speaker ?speaker } OPTIONAL { ?s dkb:madeAt ?at } }"):
        detail.setdefault(sol["s"].value, {"kind": sol["kind"] and sol["kind"].value,
                                           "sum": sol["sum"] and sol["sum"].value, "speakers": set(),
                                           "at": sol["at"] and sol["at"].value})
        if sol["speaker"]:
            detail[sol["s"].value]["speakers"].add(sol["speaker"].value)
    quotes = quotes_for(ctx, stmts)

    def group(title: str, items, show_speaker: bool) -> str:
        if not items:
            return ""
        kinds: dict[str, list[str]] = {}
        for s in sorted(items, key=lambda s: (ctx.label(detail[s]["kind"]) if detail[s]["kind"] else "", s)):
            d = detail[s]
            who = (", ".join(link(ctx, w) for w in sorted(d["speakers"])) + ": ") if show_speaker and d["speakers"] else ""
            rel = sorted(ctx.prop_label(p) for p in about.get(s, ()) if p != DKB + "madeAt")
            how = f" <span class=muted>({esc(', '.join(rel))})</span>" if show_speaker and rel else ""
            at = f" <span class=muted>at {link(ctx, d['at'])}</span>" if d["at"] and d["at"] != iri else ""
            kinds.setdefault(ctx.label(d["kind"]) if d["kind"] else "other", []).append(
                f"<li>{who}<a href='{esc(path_of(s))}'>{esc(d['sum'] or ctx.label(s))}</a>{how}{at}"
                f"{quotes_html(ctx, quotes.get(s, []))}</li>")
        return f"<h2>{esc(title)}</h2>" + "".join(
            f"<h3>{esc(k.capitalize())} <span class=muted>({len(v)})</span></h3><ul class=facts>{''.join(v)}</ul>"
            for k, v in kinds.items())

    made_at = {s for s, ps in about.items() if ps == {DKB + "madeAt"}} - made
    return (group("Statements made", made, False) + group("Statements made at this event", made_at, True)
            + group("Statements addressed to or naming it", set(about) - made - made_at, True))


def counterparts_html(ctx, iri: str) -> str:
    met: dict[str, list[str]] = {}
    for m in meetings(ctx):
        if iri in m.people:
            for other in m.people:
                if other != iri:
                    met.setdefault(other, []).append(m.event)
    if not met:
        return ""
    info = all_events(ctx)
    rows = []
    for other in sorted(met, key=ctx.label):
        evs = sorted(met[other], key=lambda e: when_key(ctx, e))
        rows.append([link(ctx, other), "<br>".join(
            f"{link(ctx, e)} <span class=muted>{when_html(ctx, e)}</span> {status_tag(ctx, info[e]) if e in info else ''}"
            for e in evs)])
    return ("<h2>Counterparts met</h2><p class=muted>People with whom this person took part in a meeting "
            "(see also <a href='/network'>who met whom</a>).</p>" + table(["counterpart", "meetings"], rows))


def _others(ctx, iri: str, incoming, handled: set) -> str:
    groups: dict[str, list[str]] = {}
    seen = set()
    for sol in incoming:
        s, p = sol["s"].value, sol["p"].value
        if s in handled or (s, p) in seen or p in (DKB + "agent", RDF_TYPE):
            continue
        seen.add((s, p))
        if any(t in FACT_CLASSES for t in ctx.types.get(s, ())) and not ctx.is_a(s, "Figure") and not ctx.is_a(s, "Claim"):
            if p == DKB + "evidence":
                continue
        groups.setdefault(ctx.prop_label(p), []).append(s)
    if not groups:
        return ""
    quotes = quotes_for(ctx, {s for v in groups.values() for s in v})
    out = ["<h2>Also linked from</h2>"]
    for title, subjects in sorted(groups.items()):
        items = "".join(f"<li>{link(ctx, s)}{quotes_html(ctx, quotes.get(s, [])[:2])}</li>"
                        for s in sorted(subjects, key=ctx.label)[:500])
        more = f"<li class=muted>… and {len(subjects) - 500} more</li>" if len(subjects) > 500 else ""
        out.append(f"<h3>as “{esc(title)}” <span class=muted>({len(subjects)})</span></h3><ul>{items}{more}</ul>")
    return "".join(out)


def _raw(ctx, iri: str, out, incoming) -> str:
    import pyoxigraph as ox

    def cell(term) -> str:
        if isinstance(term, ox.NamedNode):
            path = path_of(term.value)
            if path and "#" in path:
                return f"<a href='/ontology#{esc(local(term.value))}'>{esc(short(term.value))}</a>"
            if path:
                return f"<a href='{esc(path)}'>{esc(short(term.value))}</a>"
            return esc(short(term.value))
        dt = term.datatype.value if isinstance(term, ox.Literal) else ""
        suffix = f" <span class=muted>^^{esc(short(dt))}</span>" if dt and not dt.endswith("#string") else ""
        return esc(term.value) + suffix

    rows = [[cell(sol["p"]), cell(sol["o"])] for sol in out]
    return (f"<details id=raw><summary>Raw triples ({len(rows)} with this subject, {len(incoming)} pointing to it)</summary>"
            f"<p class=muted>&lt;{esc(iri)}&gt;</p>" + table(["property", "value"], rows) + "</details>")


def evidence_page(ctx, iri: str) -> str:
    sol = next(iter(ctx.q(f"SELECT ?quote ?src WHERE {{ <{iri}> dkb:quote ?quote ; dkb:source ?src }}")), None)
    if sol is None:
        raise PageError(404, f"nothing is known about <{iri}>")
    facts = [s["s"].value for s in ctx.q(f"SELECT ?s WHERE {{ ?s dkb:evidence <{iri}> }} ORDER BY ?s")]
    src = sol["src"].value
    body = (f"<blockquote>“{esc(' '.join(sol['quote'].value.split()))}”</blockquote>"
            f"<p>From {link(ctx, src)} · <a href='{esc(path_of(src))}#q-{esc(iri.rsplit('/', 1)[-1])}'>see it in the text</a></p>"
            "<h2>Facts it supports</h2><ul>" + "".join(f"<li>{link(ctx, f)}</li>" for f in facts) + "</ul>")
    return page(ctx, "Quote", body)
