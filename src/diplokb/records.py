"""Named tuples for the modules `diplokb query` imports at start-up, without `collections`.

`collections` (with itertools, keyword, operator, reprlib) and `functools` cost `diplokb
query`'s start-up ~2.5 ms (~5 ms on a loaded machine) for `namedtuple` alone; a `Row` is the
same thing written out: a tuple whose items are also attributes, compared, hashed and pickled
as a tuple, shown as `Name(field=value, ...)` (docs/cli-startup.md).
"""
from __future__ import annotations

from _operator import itemgetter  # (what namedtuple's fields use; `operator` imports it)


class Row(tuple):
    """Base of a named tuple: a subclass sets `_fields` and a `__new__` with its defaults, and
    makes each field with `field(index)`."""

    __slots__ = ()
    _fields: tuple = ()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(" + ", ".join(f"{n}={v!r}" for n, v in zip(self._fields, self)) + ")"

    def __getnewargs__(self) -> tuple:
        return tuple(self)

    def _asdict(self) -> dict:
        return dict(zip(self._fields, self))


def field(index: int, doc: str | None = None) -> property:
    return property(itemgetter(index), doc=doc)
