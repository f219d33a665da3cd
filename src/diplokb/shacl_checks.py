"""The constraints of a shape as Python checks, for the engine in shacl.py: built once per
shape and run for each focus node."""
from __future__ import annotations

from collections import defaultdict

from .rdf import XSD
from .shacl_values import (compare, datatype_of, is_blank, is_literal, lang_matches, node_kind_ok, text_of,
                           well_formed)

_EMPTY: dict = {}
_NONE: frozenset = frozenset()
_STRING = XSD + "string"


def compile_checks(run, shape):
    """The constraints of a shape as (component, value -> bool, value -> message) checks of
    each value node, and (focus, values) -> [Finding] checks of the value nodes together."""
    data, prm, vc, fc = run.data, shape.params, [], []
    from .shacl import _name, _short as short

    for c in prm.get("class", ()):
        vc.append(("Class", lambda v, c=c: c in data.classes.get(v, _NONE), lambda v, c=c: f"not a {short(c)}"))
    for dt in prm.get("datatype", ()):
        if dt == _STRING:
            ok = (lambda v: isinstance(v, tuple) and not v[2] and (v[1] is None or v[1] == _STRING))
        else:
            ok = (lambda v, dt=dt: datatype_of(v) == dt and well_formed(v))
        vc.append(("Datatype", ok, lambda v, dt=dt: f"{short(v)} is not a well-formed {short(dt)}"))
    for k in prm.get("nodeKind", ()):
        vc.append(("NodeKind", lambda v, k=k: node_kind_ok(k, v), lambda v, k=k: f"not a {short(k)}"))
    for key, test in (("minExclusive", lambda c: c > 0), ("minInclusive", lambda c: c >= 0),
                      ("maxExclusive", lambda c: c < 0), ("maxInclusive", lambda c: c <= 0)):
        for b in prm.get(key, ()):
            vc.append((key[0].upper() + key[1:], lambda v, b=b, test=test: (c := compare(v, b)) is not None and test(c),
                       lambda v, b=b, key=key: f"{short(v)} fails sh:{key} {short(b)}"))
    for n in prm.get("minLength", ()):
        vc.append(("MinLength", lambda v, n=n: not is_blank(v) and len(text_of(v)) >= n,
                   lambda v, n=n: f"shorter than {n}"))
    for n in prm.get("maxLength", ()):
        vc.append(("MaxLength", lambda v, n=n: not is_blank(v) and len(text_of(v)) <= n,
                   lambda v, n=n: f"longer than {n}"))
    for r in shape.pattern:
        vc.append(("Pattern", lambda v, r=r: not is_blank(v) and r.search(text_of(v)) is not None,
                   lambda v, r=r: f"does not match {r.pattern!r}"))
    for ranges in prm.get("languageIn", ()):
        langs = [x[0] for x in ranges]
        vc.append(("LanguageIn", lambda v, langs=langs: is_literal(v) and bool(v[2]) and any(
            lang_matches(v[2], r) for r in langs), lambda v: "language not allowed"))
    for allowed in prm.get("in", ()):  # a plain string in either spelling (no datatype, or xsd:string)
        allowed = set(allowed) | {(x[0], _STRING, None) for x in allowed
                                  if isinstance(x, tuple) and not x[1] and not x[2]}
        vc.append(("In", lambda v, allowed=allowed: v in allowed, lambda v: f"{short(v)} is not one of the allowed values"))
    for s in prm.get("node", ()):
        vc.append(("Node", lambda v, s=s: run.conforms(s, v), lambda v, s=s: f"does not conform to {_name(s.node)}"))
    for s in prm.get("not", ()):
        vc.append(("Not", lambda v, s=s: not run.conforms(s, v), lambda v, s=s: f"conforms to {_name(s.node)}"))
    for members in prm.get("and", ()):
        vc.append(("And", lambda v, m=members: all(run.conforms(s, v) for s in m), lambda v: "fails sh:and"))
    for members in prm.get("or", ()):
        vc.append(("Or", lambda v, m=members: any(run.conforms(s, v) for s in m), lambda v: "fails every sh:or"))
    for members in prm.get("xone", ()):
        vc.append(("Xone", lambda v, m=members: sum(run.conforms(s, v) for s in m) == 1,
                   lambda v: "conforms to not exactly one sh:xone shape"))

    def f(component, what, values=None):
        return lambda focus, vals: [run.finding(shape, focus, None, component, what)] if (
            values(vals) if values else True) else []

    for n in prm.get("minCount", ()):
        fc.append(f("MinCount", f"fewer than {n} value(s)", lambda vals, n=n: len(vals) < n))
    for n in prm.get("maxCount", ()):
        fc.append(f("MaxCount", f"more than {n} value(s)", lambda vals, n=n: len(vals) > n))
    for x in prm.get("hasValue", ()):
        fc.append(f("HasValue", f"no value {short(x)}", lambda vals, x=x: x not in vals))
    for p in prm.get("equals", ()):
        fc.append(lambda focus, vals, p=p: [run.finding(shape, focus, v, "Equals", f"differs from {short(p)}")
                                            for v in set(vals) ^ set(data.values(focus, ("p", p)))])
    for p in prm.get("disjoint", ()):
        fc.append(lambda focus, vals, p=p: [run.finding(shape, focus, v, "Disjoint", f"also a value of {short(p)}")
                                            for v in set(vals) & set(data.values(focus, ("p", p)))])
    for key, test in (("lessThan", lambda c: c < 0), ("lessThanOrEquals", lambda c: c <= 0)):
        for p in prm.get(key, ()):
            fc.append(lambda focus, vals, p=p, key=key, test=test: [
                run.finding(shape, focus, v, key[0].upper() + key[1:], f"not sh:{key} {short(o)}")
                for v in vals for o in data.values(focus, ("p", p))
                if (c := compare(v, o)) is None or not test(c)])
    if prm.get("uniqueLang"):
        def unique(focus, vals):
            seen: dict = defaultdict(int)
            for v in vals:
                if is_literal(v) and v[2]:
                    seen[v[2].lower()] += 1
            return [run.finding(shape, focus, None, "UniqueLang", f"more than one value in language {lang!r}")
                    for lang, n in sorted(seen.items()) if n > 1]
        fc.append(unique)
    if shape.qualified is not None:
        q = shape.qualified

        def qualified(focus, vals):
            n = sum(1 for v in vals if run.conforms(q["shape"], v)
                    and not any(run.conforms(s, v) for s in q["siblings"]))
            out = []
            if q["min"] is not None and n < q["min"]:
                out.append(run.finding(shape, focus, None, "QualifiedMinCount", f"fewer than {q['min']} qualified values"))
            if q["max"] is not None and n > q["max"]:
                out.append(run.finding(shape, focus, None, "QualifiedMaxCount", f"more than {q['max']} qualified values"))
            return out
        fc.append(qualified)
    if shape.closed is not None:
        allowed = shape.closed
        fc.append(lambda focus, vals: [
            run.finding(shape, focus, o, "Closed", f"{short(p)} is not allowed (closed shape)", path=("p", p))
            for v in vals for p, objs in data.spo.get(v, _EMPTY).items() if p not in allowed for o in objs])
    simple = shape.path is None and not fc and not shape.properties and not shape.sparql and not shape.deactivated
    return vc, fc, simple


def quick_check(run, shape):
    if shape.deactivated or shape.path[0] != "p" or shape.properties or shape.sparql or shape.closed is not None \
            or shape.qualified is not None or set(shape.params) - {
                "minCount", "maxCount", "hasValue", "class", "datatype", "nodeKind", "minInclusive", "maxInclusive",
                "minExclusive", "maxExclusive", "minLength", "maxLength", "in", "node", "not", "and", "or", "xone",
                "languageIn"}:
        return None
    oks = [ok for _, ok, _ in compile_checks(run, shape)[0]]
    prm = shape.params
    lo = max(prm.get("minCount", [0]))
    hi = min(prm.get("maxCount", [None]), key=lambda n: float("inf") if n is None else n)
    has = prm.get("hasValue", [])

    if not has and not oks:  # only counts (the usual property shape with nothing else to check)
        if hi is None:
            return lambda values: len(values) >= lo
        return lambda values: lo <= len(values) <= hi
    if not has and len(oks) == 1:
        (ok,) = oks

        def quick_one(values) -> bool:
            n = len(values)
            if n < lo or (hi is not None and n > hi):
                return False
            for v in values:
                if not ok(v):
                    return False
            return True
        return quick_one

    def quick(values) -> bool:
        n = len(values)
        if n < lo or (hi is not None and n > hi):
            return False
        for x in has:
            if x not in values:
                return False
        for v in values:
            for ok in oks:
                if not ok(v):
                    return False
        return True
    return quick
