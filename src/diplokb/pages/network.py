"""Who met whom: people as nodes, meetings as edges (server-rendered SVG), by year."""
from __future__ import annotations

import math

from .facts import meetings, when_html, when_key
from .html import PageError, esc, link, page, path_of, table

MAX_NODES = 60
PALETTE = ("#2457a6", "#b3261e", "#2e7d32", "#6a1b9a", "#8a4b00", "#00695c", "#ad1457", "#455a64")


def years(ctx) -> list[str]:
    return sorted({m.year for m in meetings(ctx) if m.year})


def edges(ctx, year: str | None) -> dict[tuple[str, str], list[str]]:
    out: dict[tuple[str, str], list[str]] = {}
    for m in meetings(ctx):
        if year and m.year != year:
            continue
        for i, a in enumerate(m.people):
            for b in m.people[i + 1:]:
                out.setdefault((a, b), []).append(m.event)
    return out


def shown(ctx, year: str | None) -> tuple[dict[tuple[str, str], list[str]], str]:
    """(the pairs to show, a note saying what was left out): with more than MAX_NODES people,
    a drawing says nothing, so the busiest are shown (each person's page lists all theirs)."""
    es = edges(ctx, year)
    people = {p for pair in es for p in pair}
    if len(people) <= MAX_NODES:
        return es, ""
    degree: dict[str, int] = {}
    for (a, b), evs in es.items():
        degree[a] = degree.get(a, 0) + len(evs)
        degree[b] = degree.get(b, 0) + len(evs)
    keep = set(sorted(people, key=lambda p: (-degree[p], p))[:MAX_NODES])
    note = (f"<p class=warn>Shown: the {MAX_NODES} people with the most meetings, of {len(people)}, and the "
            "meetings among them; each person's page lists all their counterparts.</p>")
    return {pair: evs for pair, evs in es.items() if pair[0] in keep and pair[1] in keep}, note


def network_svg(ctx, year: str | None = None) -> str:
    es, _ = shown(ctx, year)
    people = sorted({p for pair in es for p in pair})
    if not people:
        return "<p>No meetings recorded" + (f" in {esc(year)}" if year else "") + ".</p>"
    nat = {s["p"].value: s["n"].value for s in ctx.q(
        f"SELECT ?p ?n WHERE {{ VALUES ?p {{ {' '.join(f'<{p}>' for p in people)} }} ?p dkb:nationality ?n }}")}
    groups = sorted({nat.get(p, "") for p in people})
    people.sort(key=lambda p: (groups.index(nat.get(p, "")), ctx.label(p)))
    w, h, r = 960, 660, 240
    cx, cy = w / 2, h / 2 + 10
    pos = {}
    n = len(people)
    for k, p in enumerate(people):
        a = -math.pi / 2 + 2 * math.pi * k / n
        pos[p] = (cx + r * math.cos(a), cy + r * math.sin(a), a)
    out = [f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {w} {h}' width='100%' "
           f"aria-label='Network of who met whom{(' in ' + esc(year)) if year else ''}'>"]
    for (a, b), evs in sorted(es.items()):
        x1, y1, _ = pos[a]
        x2, y2, _ = pos[b]
        out.append(f"<line x1='{x1:.1f}' y1='{y1:.1f}' x2='{x2:.1f}' y2='{y2:.1f}' stroke='#7a8ca8' "
                   f"stroke-opacity='.7' stroke-width='{1 + 1.5 * (len(evs) - 1):.1f}'><title>{esc(ctx.label(a))} – "
                   f"{esc(ctx.label(b))}: {len(evs)} meeting(s)</title></line>")
    for p in people:
        x, y, a = pos[p]
        color = PALETTE[groups.index(nat.get(p, "")) % len(PALETTE)]
        anchor = "start" if math.cos(a) > 0.2 else "end" if math.cos(a) < -0.2 else "middle"
        tx, ty = x + 14 * math.cos(a), y + 14 * math.sin(a) + 4 + (8 * math.sin(a) if anchor == "middle" else 0)
        out.append(f"<a href='{esc(path_of(p))}'><circle cx='{x:.1f}' cy='{y:.1f}' r='8' fill='{color}'/>"
                   f"<text x='{tx:.1f}' y='{ty:.1f}' font-size='13' text-anchor='{anchor}' fill='#1d1d1d'>{esc(ctx.label(p))}</text></a>")
    ly = 18
    for k, g in enumerate(groups):
        out.append(f"<circle cx='14' cy='{ly + 20 * k}' r='6' fill='{PALETTE[k % len(PALETTE)]}'/>"
                   f"<text x='26' y='{ly + 20 * k + 4}' font-size='12' fill='#333'>{esc(ctx.label(g) if g else 'nationality not recorded')}</text>")
    out.append("</svg>")
    return "".join(out)


def network_page(ctx, params: dict) -> str:
    year = (params.get("year") or [None])[0] or None
    ys = years(ctx)
    unknown = sorted(k for k in params if k != "year")
    if unknown:
        raise PageError(400, f"unknown parameter(s) {', '.join(unknown)}; this page takes 'year'")
    if year is not None and year not in ys:
        raise PageError(400, f"no meetings in '{year}'; years with meetings: {', '.join(ys) or 'none'}")
    nav = ["<a href='/network'>all years</a>" if year else "<b>all years</b>"]
    nav += [f"<b>{y}</b>" if y == year else f"<a href='/network?year={esc(y)}'>{esc(y)}</a>" for y in ys]
    es, note = shown(ctx, year)
    rows = []
    for (a, b), evs in sorted(es.items(), key=lambda x: (ctx.label(x[0][0]), ctx.label(x[0][1]))):
        rows.append([link(ctx, a), link(ctx, b), "<br>".join(
            f"{link(ctx, e)} <span class=muted>{when_html(ctx, e)}</span>" for e in sorted(evs, key=lambda e: when_key(ctx, e)))])
    body = (f"<p>People are linked when both took part in the same meeting (an event with two or more people "
            f"that is not only a group of sub-events). Show: {' · '.join(nav)}</p>{note}{network_svg(ctx, year)}"
            f"<h2>Meetings by pair <span class=muted>({len(rows)})</span></h2>" + table(["person", "person", "meetings"], rows))
    return page(ctx, "Who met whom" + (f" in {year}" if year else ""), body)

