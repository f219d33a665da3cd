"""The timeline: every dated event, sub-events under their visit, each date drawn at its
precision (a day as a dot, days as a bar, a month or a year as a diamond labelled with its
precision), announced events hollow; undated events listed below."""
from __future__ import annotations

from datetime import date

from .facts import EventInfo, events_info
from .html import bounds, esc, fmt_date, link, page, path_of, precision, table

WIDTH, LABEL_W, AXIS0, AXIS1, LINE = 1100, 560, 590, 1080, 17
TOOK, PLANNED = "#2457a6", "#b35900"


def _wrap(text: str, n: int) -> list[str]:
    words, lines, cur = text.split(), [], ""
    for w in words:
        if cur and len(cur) + 1 + len(w) > n:
            lines.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}".strip()
    return lines + [cur] if cur else lines


def _dated(i: EventInfo) -> bool:
    """Placed on the axis: a date of its own, or bounds the text gives (drawn as such)."""
    return bool(i.date or i.start or i.end) or i.bounded


def ordered(ctx) -> tuple[list[tuple[EventInfo, int]], list[EventInfo]]:
    """([(event, depth)] in date order, each event's sub-events after it (those without a
    date of their own too); events with no date, under no dated event)."""
    info = events_info(ctx)
    children: dict[str | None, list[EventInfo]] = {}
    for i in info.values():
        children.setdefault(i.parent if i.parent in info else None, []).append(i)
    out: list[tuple[EventInfo, int]] = []
    placed: set[str] = set()

    def walk(parent, depth):
        for i in sorted(children.get(parent, []), key=lambda i: i.key):
            if i.iri in placed or (depth == 0 and not _dated(i)):
                continue
            placed.add(i.iri)
            out.append((i, depth))
            walk(i.iri, depth + 1)

    walk(None, 0)
    undated = sorted((i for e, i in info.items() if e not in placed), key=lambda i: ctx.label(i.iri))
    return out, undated


def timeline_svg(ctx) -> str:
    rows, _ = ordered(ctx)
    if not rows:
        return "<p>No dated events.</p>"
    spans = []
    for i, _ in rows:  # an event without a date of its own is drawn across its parent's span
        if i.bounded:
            first, last = bounds(i.not_before)[0], bounds(i.not_after)[1]
        elif _dated(i):
            first = bounds(i.date or i.start or i.end)[0]
            last = bounds(i.date or i.end or i.start)[1]
        else:
            first, last = spans[-1] if spans else (None, None)
            k = len(spans) - 1
            while k >= 0 and rows[k][0].iri != i.parent:
                k -= 1
            if k >= 0:
                first, last = spans[k]
        spans.append((first, last))
    lo = min(s for s, _ in spans if s).replace(day=1)
    hi_day = max(e for _, e in spans if e)
    hi = bounds(f"{hi_day.year}-{hi_day.month:02d}")[1]
    span = max(hi.toordinal() - lo.toordinal(), 1)
    x = lambda d: AXIS0 + (d.toordinal() - lo.toordinal()) * (AXIS1 - AXIS0) / span  # noqa: E731
    top = 104
    nested = any(d > 0 for _, d in rows)
    items, y = [], top
    for (i, depth), (first, last) in zip(rows, spans):
        indent = depth * 16
        label = ctx.label(i.iri)
        when = _when_text(i)
        status = f" ({ctx.label(i.status)})" if i.announced else ""
        lines = _wrap((f"{when} — {label}" if _dated(i) else f"{label} · no date of its own") + status,
                      int((LABEL_W - indent) / 6.3))
        h = max(1, len(lines)) * LINE + 6
        mid = y + 11
        color = PLANNED if i.announced else TOOK
        fill = "#fff" if i.announced else color
        if _dated(i):
            shape = _marker(i, first, last, x, mid, color, fill)
        else:
            shape = (f"<line x1='{x(first):.1f}' x2='{max(x(last), x(first) + 4):.1f}' y1='{mid}' y2='{mid}' "
                     f"stroke='{color}' stroke-width='2' stroke-dasharray='3 3'/>")
        text = "".join(f"<tspan x='{8 + indent}' dy='{0 if k == 0 else LINE}'>{esc(t)}</tspan>" for k, t in enumerate(lines))
        weight = " font-weight='600'" if depth == 0 and nested else ""
        items.append(f"<a href='{esc(path_of(i.iri))}'><text y='{y + 14}' font-size='12.5'{weight} fill='#1d1d1d'>{text}</text>"
                     f"{shape}<title>{esc(label)}: {esc(when)}</title></a>")
        items.append(f"<line x1='{8 + indent}' x2='{AXIS1}' y1='{y + h - 2}' y2='{y + h - 2}' stroke='#eee'/>")
        y += h
    height = y + 10
    axis = [f"<line x1='{AXIS0}' x2='{AXIS1}' y1='{top - 6}' y2='{top - 6}' stroke='#999'/>"]
    months = []
    d = lo
    while d <= hi:
        months.append(d)
        d = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    step = 1 if len(months) <= 14 else 3 if len(months) <= 40 else 12
    for m in months:
        xx = x(m)
        if m.month == 1 or m == lo:
            axis.append(f"<line x1='{xx:.1f}' x2='{xx:.1f}' y1='{top - 14}' y2='{height}' stroke='#c8c8c8'/>"
                        f"<text x='{xx + 2:.1f}' y='{top - 24}' font-size='12' fill='#333'>{m.year}</text>")
        elif (m.month - 1) % step == 0:
            axis.append(f"<line x1='{xx:.1f}' x2='{xx:.1f}' y1='{top - 10}' y2='{height}' stroke='#f0f0f0'/>")
        if (m.month - 1) % step == 0 and x(m) + 20 < AXIS1:
            axis.append(f"<text x='{xx + 2:.1f}' y='{top - 10}' font-size='10' fill='#555'>{m.strftime('%b')}</text>")
    legend = (f"<g font-size='12' fill='#333'><circle cx='14' cy='16' r='5' fill='{TOOK}'/><text x='24' y='20'>a day</text>"
              f"<rect x='80' y='11' width='26' height='10' fill='{TOOK}'/><text x='112' y='20'>days (from – to)</text>"
              f"<path d='M226 10 l6 6 l-6 6 l-6 -6 z' fill='{TOOK}'/><text x='238' y='20'>a month or a year only "
              f"(placed mid-period, precision written)</text>"
              f"<circle cx='14' cy='40' r='5' fill='#fff' stroke='{PLANNED}' stroke-width='2'/>"
              f"<text x='24' y='44'>announced or planned, not reported as held</text>"
              f"<circle cx='330' cy='40' r='5' fill='{TOOK}'/><text x='340' y='44'>took place</text>"
              f"<line x1='430' x2='456' y1='40' y2='40' stroke='{TOOK}' stroke-width='2' stroke-dasharray='3 3'/>"
              f"<text x='462' y='44'>part of the event above, no date of its own</text>"
              f"<rect x='4' y='59' width='26' height='10' fill='none' stroke='{TOOK}' stroke-width='2' "
              f"stroke-dasharray='2 2'/><text x='36' y='68'>not dated: somewhere between the bounds the text gives</text></g>")
    return (f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {WIDTH} {height}' width='100%' "
            f"aria-label='Timeline of events from {esc(fmt_date(lo.isoformat()[:7]))} to {esc(fmt_date(hi.isoformat()[:7]))}'>"
            f"{legend}{''.join(axis)}{''.join(items)}</svg>")


def _when_text(i: EventInfo) -> str:
    def one(t):
        p = precision(t)
        return fmt_date(t) + ("" if p == "day" else f" ({p})")
    if i.bounded:
        return f"not dated; between {one(i.not_before)} and {one(i.not_after)}"
    if i.date:
        return one(i.date)
    if i.start and i.end:
        return f"{one(i.start)} – {one(i.end)}"
    if i.start or i.end:
        return ("from " + one(i.start)) if i.start else ("until " + one(i.end))
    return "no date of its own"


def _marker(i: EventInfo, first, last, x, mid, color, fill) -> str:
    stroke = f" stroke='{color}' stroke-width='2'"
    if i.bounded:  # somewhere in the range: an outline, not a filled bar
        x1, x2 = x(first), max(x(last), x(first) + 6)
        return (f"<rect x='{x1:.1f}' y='{mid - 5}' width='{x2 - x1:.1f}' height='10' fill='none'{stroke} "
                f"stroke-dasharray='2 2'/>")
    def diamond(t):
        a, b = bounds(t)
        cx = (x(a) + x(b)) / 2
        side = "start" if cx + 44 < WIDTH else "end"  # the precision's word never leaves the drawing
        tx = cx + 10 if side == "start" else cx - 10
        return (f"<path d='M{cx:.1f} {mid - 7} l7 7 l-7 7 l-7 -7 z' fill='{fill}'{stroke}/>"
                f"<text x='{tx:.1f}' y='{mid + 4}' font-size='10' text-anchor='{side}' fill='#555'>{precision(t)}</text>")
    if i.date:
        if precision(i.date) == "day":
            return f"<circle cx='{x(first):.1f}' cy='{mid}' r='5' fill='{fill}'{stroke}/>"
        return diamond(i.date)
    ends = [t for t in (i.start, i.end) if t]
    if all(precision(t) == "day" for t in ends) and len(ends) == 2:
        x1, x2 = x(first), max(x(last), x(first) + 4)
        return f"<rect x='{x1:.1f}' y='{mid - 5}' width='{x2 - x1:.1f}' height='10' fill='{fill}'{stroke}/>"
    return "".join(diamond(t) if precision(t) != "day" else
                   f"<circle cx='{x(bounds(t)[0]):.1f}' cy='{mid}' r='5' fill='{fill}'{stroke}/>" for t in ends)


def timeline_page(ctx, params: dict | None = None) -> str:
    rows, undated = ordered(ctx)
    top = sum(1 for _, depth in rows if depth == 0)
    bounded = sum(1 for i, _ in rows if i.bounded)
    body = [f"<p>{top} events and {len(rows) - top} of their parts ({bounded} of all these not dated but bounded by the "
            f"text, drawn as outlines); sub-events are indented under the "
            "visit they belong to. "
            "Dates are drawn at the precision the sources give.</p>", timeline_svg(ctx)]
    body.append("<details><summary>The same as a table</summary>" + table(
        ["date", "event", "status"],
        [[esc(_when_text(i)), ("&nbsp;" * 4 * d) + link(ctx, i.iri), esc(ctx.label(i.status)) if i.status else ""]
         for i, d in rows]) + "</details>")
    if undated:
        body.append(f"<h2>Events without a date <span class=muted>({len(undated)})</span></h2><ul>" + "".join(
            f"<li>{link(ctx, i.iri)}" + (f" <span class=muted>part of {link(ctx, i.parent)}</span>" if i.parent else "")
            + "</li>" for i in undated) + "</ul>")
    return page(ctx, "Timeline", "".join(body))
