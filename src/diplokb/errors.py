"""One error type for the whole pipeline: a problem found in the input, with its location.

The library never prints and never exits; it collects `Problem` values and raises a single
`BuildError` carrying all of them. Only `cli.py` renders them (see `Problem.render`).
"""
from __future__ import annotations

from collections import namedtuple


def _location_str(self) -> str:
    if self.line:
        return f"{self.file}:{self.line}:{self.column}"
    return self.file


# A place in an input file; line and column are 1-based, as editors show them. A named tuple:
# the loader makes one for every record and reference, and a tuple is made fastest. (Made as
# typing.NamedTuple makes it, without importing typing: `diplokb query` and `--help` do not
# import it otherwise, and it costs them a few milliseconds.)
SourceLocation = namedtuple("SourceLocation", ("file", "line", "column"), defaults=(0, 0))
SourceLocation.__doc__ = ("A place in an input file; line and column are 1-based, as editors show them. "
                          "(A named tuple: the loader makes one for every record and reference, and a "
                          "tuple is made fastest.)")
SourceLocation.__str__ = _location_str
del _location_str


class Problem:
    """One thing wrong with the input. `severity` is 'error' or 'warning'.

    Immutable, compared and ordered by (location, message, severity), and hashed alike; `hint`
    is not compared. (Written out rather than a frozen dataclass: every command imports this
    module at start-up, and `dataclasses` with the decorator's code generation cost
    `diplokb --help` a few milliseconds.)"""

    __match_args__ = ("location", "message", "severity", "hint")

    def __init__(self, location: SourceLocation, message: str, severity: str = "error",
                 hint: str | None = None):
        set_ = object.__setattr__
        set_(self, "location", location)
        set_(self, "message", message)
        set_(self, "severity", severity)
        set_(self, "hint", hint)

    def __setattr__(self, name, value):
        raise AttributeError(f"cannot assign to field '{name}': a Problem is immutable")

    def __delattr__(self, name):
        raise AttributeError(f"cannot delete field '{name}': a Problem is immutable")

    def _key(self) -> tuple:
        return (self.location, self.message, self.severity)

    def __eq__(self, other):
        return self._key() == other._key() if other.__class__ is self.__class__ else NotImplemented

    def __lt__(self, other):
        return self._key() < other._key() if other.__class__ is self.__class__ else NotImplemented

    def __le__(self, other):
        return self._key() <= other._key() if other.__class__ is self.__class__ else NotImplemented

    def __gt__(self, other):
        return self._key() > other._key() if other.__class__ is self.__class__ else NotImplemented

    def __ge__(self, other):
        return self._key() >= other._key() if other.__class__ is self.__class__ else NotImplemented

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (f"Problem(location={self.location!r}, message={self.message!r}, "
                f"severity={self.severity!r}, hint={self.hint!r})")

    def render(self) -> str:
        text = f"{self.location}: {self.severity}: {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return text


class DiplokbError(Exception):
    """Base class of every error the library raises."""


class BuildError(DiplokbError):
    """The KB could not be built; `problems` lists every problem found, sorted by location."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems)
        super().__init__(f"{len(self.problems)} problem(s) in the knowledge base")

    def render(self) -> str:
        return "\n".join(p.render() for p in self.problems)


class QueryError(DiplokbError):
    """A SPARQL query was malformed, unknown or refused."""


def did_you_mean(word: str, choices) -> str | None:
    """'did you mean 'x'?' for the closest of `choices`, or None."""
    import difflib

    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None
